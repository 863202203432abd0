"""The Lambda event for records read from a Kinesis shard, in the shape the event source mapping
builds: used by `ops replay` against a deployed stack and by the local event source."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any


def kinesis_event(stream_arn: str, shard_id: str, records: list[dict[str, Any]], region: str) -> dict[str, Any]:
    """`records`: GetRecords records (SequenceNumber, PartitionKey, Data bytes, ApproximateArrivalTimestamp)."""
    return {"Records": [_record(stream_arn, shard_id, record, region) for record in records]}


def _record(stream_arn: str, shard_id: str, record: dict[str, Any], region: str) -> dict[str, Any]:
    arrival = record["ApproximateArrivalTimestamp"]
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": record["SequenceNumber"],
            "data": base64.b64encode(record["Data"]).decode(),
            "approximateArrivalTimestamp": arrival.timestamp() if isinstance(arrival, datetime) else arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{record['SequenceNumber']}",
        "eventName": "aws:kinesis:record",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
    }
