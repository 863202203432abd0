"""Server-side events (POST /v1/events): validate each like ingest will, put the valid ones on
the stream in as many PutRecords calls as its limits need (500 records and 5 MB a call)."""

from __future__ import annotations

import json
from typing import Any

from microtarget.aws.calls import call_aws
from microtarget.batching import bounded_batches
from microtarget.clock import Clock, utc_now
from microtarget.errors import PermanentError, RetryableError

PUT_RECORDS_COUNT = 500
PUT_RECORDS_BYTES = 5 * 1024 * 1024


class EventIntake:
    def __init__(self, kinesis: Any, stream: str, clock: Clock = utc_now) -> None:
        self._kinesis, self._stream, self._clock = kinesis, stream, clock

    def publish(self, events: list[dict[str, Any]]) -> tuple[int, list[tuple[int, PermanentError]]]:
        """How many were put on the stream, and the rejected ones by index with their reason."""
        from microtarget.event_parser import parse_event  # the event contract loads for this route only

        records, rejected, now = [], [], self._clock()
        for index, raw in enumerate(events):
            data = json.dumps(raw).encode()
            try:
                event = parse_event(data, now)
            except PermanentError as reason:
                rejected.append((index, reason))
                continue
            records.append({"Data": data, "PartitionKey": event.customer_id})
        for chunk in bounded_batches(records, PUT_RECORDS_COUNT, PUT_RECORDS_BYTES, _size):
            reply = call_aws("events stream", self._kinesis.put_records, StreamName=self._stream, Records=chunk)
            if reply.get("FailedRecordCount"):  # ingest de-duplicates by event_id: resending all is safe
                raise RetryableError(f"{reply['FailedRecordCount']} events were throttled by the stream; retry them")
        return len(records), rejected


def _size(record: dict[str, Any]) -> int:
    return len(record["Data"]) + len(record["PartitionKey"].encode())
