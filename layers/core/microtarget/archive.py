"""What the data lake keeps of a stream record: the event with its customer id replaced by the pid.

The archive is the events stream written to S3 by Firehose, through a transformation (the
archive function) that calls `lake_record` on each record. Raw customer ids stay on the
stream (its retention) and never reach the lake; training, scoring and the erasure rewrite
read pids only. A record ingest would refuse (bad JSON, an invalid field, a time out of
range, judged at the record's arrival) is dropped here: ingest keeps it as a dead letter.
"""

from __future__ import annotations

import re
from datetime import datetime

import orjson

from microtarget.errors import PermanentError
from microtarget.event_parser import parse_event
from microtarget.identity import PID_PREFIX, Pseudonymizer

PID_PATTERN = re.compile(rf"^{PID_PREFIX}[0-9a-f]{{32}}$")


def lake_record(data: bytes, pseudonymizer: Pseudonymizer, arrived: datetime) -> bytes | None:
    """The archived line (no delimiter) for one stream record, or None when ingest refuses it."""
    try:
        event = parse_event(data, arrived)
    except PermanentError:
        return None
    document = orjson.loads(data)
    document["customer_id"] = pseudonymizer.pid(event.customer_id)
    return orjson.dumps(document)


def is_pid(customer_id: str) -> bool:
    """Whether an id read from the lake is a pid already (every id the archive writes is)."""
    return PID_PATTERN.match(customer_id) is not None
