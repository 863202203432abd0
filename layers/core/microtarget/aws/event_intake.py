"""Server-side events (POST /v1/events): validate each like ingest will, put the valid ones on
the stream in as many PutRecords calls as its limits need (500 records and 5 MB a call)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from microtarget.aws.calls import call_aws
from microtarget.batching import bounded_batches
from microtarget.errors import PermanentError, RetryableError
from microtarget.event_parser import parse_event

PUT_RECORDS_COUNT = 500
PUT_RECORDS_BYTES = 5 * 1024 * 1024


def publish_events(
    events: list[dict[str, Any]], now: datetime, kinesis: Any, stream: str
) -> tuple[int, list[tuple[int, PermanentError]]]:
    """How many were put on the stream, and the rejected ones by index with their reason."""
    records, rejected = [], []
    for index, raw in enumerate(events):
        data = json.dumps(raw).encode()
        try:
            event = parse_event(data, now)
        except PermanentError as reason:
            rejected.append((index, reason))
            continue
        records.append({"Data": data, "PartitionKey": event.customer_id})
    sizes = lambda record: len(record["Data"]) + len(record["PartitionKey"].encode())  # noqa: E731
    for chunk in bounded_batches(records, PUT_RECORDS_COUNT, PUT_RECORDS_BYTES, sizes):
        reply = call_aws("events stream", kinesis.put_records, StreamName=stream, Records=chunk)
        if reply.get("FailedRecordCount"):  # ingest de-duplicates by event_id: resending all is safe
            raise RetryableError(f"{reply['FailedRecordCount']} events were throttled by the stream; retry them")
    return len(records), rejected
