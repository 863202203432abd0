"""A Kinesis batch as Lambda delivers it → the ingest service → the partial-batch response.

Ingest must see the whole batch to write each customer's profile once, so it does not go
through Powertools' per-record processor: one loop decodes every record (a bad one becomes a
rejection, never a failure, so it cannot block the shard), one commit writes the batch, and
the records whose customer could not be written come back as `batchItemFailures` (Lambda
retries from the lowest one). Same contract as Powertools' BatchProcessor, a quarter of the
time per record (make bench).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from microtarget.edge.event_source import check_source
from microtarget.ingest import BatchReport, IngestService, RawRecord


def raw_record(record: dict[str, Any]) -> RawRecord:
    payload = record["kinesis"]
    sequence = payload["sequenceNumber"]
    try:
        data = base64.b64decode(payload["data"], validate=True)
    except (binascii.Error, ValueError):
        data = str(payload["data"]).encode()  # not base64: kept as it came, and rejected as invalid JSON
    return RawRecord(
        data=data,
        sequence_number=sequence,
        source={
            "sequence_number": sequence,
            "event_id": record.get("eventID", ""),
            "event_source_arn": record.get("eventSourceARN", ""),
            "approximate_arrival": str(payload.get("approximateArrivalTimestamp", "")),
        },
    )


def process(event: Any, service: IngestService, report: Callable[[BatchReport], None]) -> dict[str, Any]:
    records = check_source(event, "aws:kinesis", "the ingest function")
    decoded = service.decode(raw_record(record) for record in records)
    result = service.commit(decoded)
    report(result)
    failed = result.failed_sequence_numbers
    return {
        "batchItemFailures": [
            {"itemIdentifier": item.record.sequence_number} for item in decoded if item.record.sequence_number in failed
        ]
    }
