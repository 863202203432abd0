"""What the data lake keeps of a stream record: the event with its customer id (and the anonymous
id a login names) replaced by the pid.

The archive is the events stream written to S3 by Firehose, through a transformation (the
archive function) that calls `lake_records` on each batch. Raw customer ids stay on the
stream (its retention) and never reach the lake; training, scoring and the erasure rewrite
read pids only. A record ingest would refuse (bad JSON, an invalid field, a time out of
range, judged at the record's arrival) is dropped here: ingest keeps it as a dead letter. So
is an event from before its customer's erasure (the profile's tombstone), however late it comes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime

import orjson

from microtarget.clock import to_ms
from microtarget.errors import PermanentError
from microtarget.event_parser import parse_event
from microtarget.identity import Pseudonymizer


def lake_records(
    records: Sequence[tuple[bytes, datetime]],
    pseudonymizer: Pseudonymizer,
    erased_before: Callable[[Collection[str]], Mapping[str, int]],
) -> list[bytes | None]:
    """Each (record, arrival) as its archived line, or None; one tombstone lookup for the batch."""
    parsed: list[tuple[bytes, str, int, str | None] | None] = []
    for data, arrived in records:
        try:
            event = parse_event(data, arrived)
        except PermanentError:
            parsed.append(None)
            continue
        parsed.append((data, pseudonymizer.pid(event.customer_id), to_ms(event.occurred_at), event.anonymous_id))
    stones = erased_before({item[1] for item in parsed if item is not None})
    lines: list[bytes | None] = []
    for item in parsed:
        if item is None or item[2] < stones.get(item[1], 0):
            lines.append(None)
            continue
        document = orjson.loads(item[0])
        document["customer_id"] = item[1]
        if item[3] is not None:  # the visitor's id before a login is personal data as much as theirs
            document["anonymous_id"] = pseudonymizer.pid(item[3])
        lines.append(orjson.dumps(document))
    return lines
