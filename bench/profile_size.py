"""The worst customer's profile item: 90 days at a steady rate of events a day, every event in a
new session, on a new product, with every id at the contract's maximum length."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from microtarget.aggregation import apply_events
from microtarget.events import EVENT_ADAPTER
from microtarget.profile import Profile, item_bytes

from bench.clock import BENCH_END

LONG = "x" * 118  # with the 10-character suffixes below: ids at the contract's 128-character maximum
KINDS = ("product_view", "add_to_cart", "page_view", "search", "consent_updated", "purchase")
RATES = (2, 100, 2_000, 10_000)


def flood(day: int, count: int, prefix: str, start: Any = None) -> list[Any]:
    """`count` events within one calendar day `day` days after `start`, each in a new session."""
    midnight = (start or BENCH_END - timedelta(days=91)).replace(hour=0, minute=0, second=0, microsecond=0)
    events = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        props: dict[str, Any] = {}
        if kind in ("product_view", "add_to_cart"):
            props = {"product_id": f"{LONG}{prefix}{i:06d}", "category": f"{LONG}{i % 97:06d}", "price": 999_999.99}
        elif kind == "search":
            props = {"query": "q" * 256}
        elif kind == "purchase":  # a new product each time: the memory of products bought fills up
            line = {"product_id": f"{LONG}{prefix}{i:06d}", "price": 999_999.99, "quantity": 1}
            props = {"order_id": f"{LONG}{prefix}{i:06d}", "revenue": 999_999.99, "items": [line]}
        elif kind == "consent_updated":
            props = {"consents": {"email": i % 2 == 0, "push": True, "webhook": False, "sms": True}}
        at = midnight + timedelta(days=day, seconds=i * 86_000 / count)
        event_id = f"{LONG}{prefix}{i:06d}"[-128:]
        events.append(
            {
                "event_id": event_id,
                "event_type": kind,
                "occurred_at": at.isoformat(),
                "customer_id": "guest",
                "session_id": event_id,
                "properties": props,
            }
        )
    return [EVENT_ADAPTER.validate_python(e) for e in events]


def run() -> dict[int, int]:
    """Bytes of the item after 90 days, by events a day."""
    sizes = {}
    for rate in RATES:
        profile = Profile("c_guest")
        for day in range(90):
            apply_events(profile, flood(day, rate, f"{day:03d}"))
        sizes[rate] = item_bytes(profile.to_item())
    return sizes
