"""Deliberately bad records, one kind per rejection reason ingest must report."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

# reason code -> how to spoil a good event (returns the bytes to send)
SPOILERS: dict[str, Any] = {
    "invalid_json": lambda e, now: json.dumps(e).encode()[:-7],
    "unknown_event_type": lambda e, now: json.dumps({**e, "event_type": "wishlist_add"}).encode(),
    "missing_field": lambda e, now: json.dumps({k: v for k, v in e.items() if k != "customer_id"}).encode(),
    "invalid_field": lambda e, now: json.dumps({**e, "occurred_at": "yesterday"}).encode(),
    "oversized": lambda e, now: json.dumps({**e, "properties": {"title": "x" * 40_000}}).encode(),
    "timestamp_in_future": lambda e, now: json.dumps(
        {**e, "occurred_at": (now + timedelta(days=2)).isoformat()}
    ).encode(),
    "unsupported_schema_version": lambda e, now: json.dumps({**e, "schema_version": 2}).encode(),
}


def bad_records(
    good: list[dict[str, Any]], per_kind: int, now: datetime, seed: int = 11
) -> list[tuple[str, bytes, str]]:
    """(reason code, record bytes, partition key) for `per_kind` spoiled copies of each kind."""
    rng = random.Random(seed)
    records = []
    for code, spoil in SPOILERS.items():
        for _ in range(per_kind):
            event = dict(rng.choice(good))
            event["event_id"] = f"bad-{code}-{rng.getrandbits(48):x}"
            records.append((code, spoil(event, now), event.get("customer_id", "anonymous")))
    return records


def late_copies(good: list[dict[str, Any]], count: int, hours_back: float, seed: int = 13) -> list[dict[str, Any]]:
    """New events dated `hours_back` before an existing event of the same customer."""
    rng = random.Random(seed)
    copies = []
    for _ in range(count):
        event = dict(rng.choice(good))
        moment = datetime.fromisoformat(event["occurred_at"]) - timedelta(hours=hours_back)
        event.update(event_id=f"late-{rng.getrandbits(64):x}", occurred_at=moment.isoformat(timespec="milliseconds"))
        copies.append(event)
    return copies
