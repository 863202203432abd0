"""Builders for v1 events and raw records used across the tests."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from microtarget.events import EVENT_ADAPTER, Event
from microtarget.ingest import RawRecord

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)  # where generated fixtures end and local clocks start
_ids = itertools.count(1)

DEFAULT_PROPERTIES: dict[str, dict[str, Any]] = {
    "page_view": {"title": "Home"},
    "product_view": {"product_id": "P1", "category": "shoes", "price": 50.0},
    "search": {"query": "boots", "results": 12},
    "add_to_cart": {"product_id": "P1", "category": "shoes", "price": 50.0, "quantity": 1},
    "remove_from_cart": {"product_id": "P1", "category": "shoes", "price": 50.0, "quantity": 1},
    "checkout_started": {"cart_value": 50.0, "items": 1},
    "purchase": {"order_id": "O1", "revenue": 50.0, "items": [{"product_id": "P1", "price": 50.0, "quantity": 1}]},
    "email_open": {"message_id": "m1", "campaign_id": "weekly"},
    "email_click": {"message_id": "m1", "campaign_id": "weekly", "url": "https://shop.example/p/1"},
    "offer_redeemed": {"offer_id": "CART5", "order_id": "O1"},
    "consent_updated": {"consents": {"email": True}},
}


def event_dict(
    kind: str,
    customer: str = "C-1",
    at: datetime = T0,
    minutes: float = 0,
    event_id: str | None = None,
    session: str | None = "s-1",
    **properties: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id or f"e-{next(_ids)}",
        "event_type": kind,
        "occurred_at": (at + timedelta(minutes=minutes)).isoformat(),
        "customer_id": customer,
        "properties": {**DEFAULT_PROPERTIES[kind], **properties},
    }
    if session is not None:
        event["session_id"] = session
    return event


def event(kind: str, **kwargs: Any) -> Event:
    return EVENT_ADAPTER.validate_python(event_dict(kind, **kwargs))


def raw(data: dict[str, Any] | bytes, sequence: int) -> RawRecord:
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    seq = f"{sequence:020d}"
    return RawRecord(payload, seq, {"sequence_number": seq, "event_source_arn": "arn:test"})


def with_logins(events: list[dict[str, Any]], every: int = 4) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The same traffic where every `every`-th customer browsed their first session anonymously
    (under `anon-<id>`) and logged in with the first event of their second session (which names
    the anonymous id); customers with one session only stay anonymous. Returns the events and
    {anonymous id: customer} for those who logged in."""
    sessions: dict[str, list[str]] = {}
    for e in sorted(events, key=lambda e: e["occurred_at"]):
        known = sessions.setdefault(e["customer_id"], [])
        if e.get("session_id") and e["session_id"] not in known:
            known.append(e["session_id"])
    chosen = sorted(sessions)[::every]
    out, logged_in, seen = [], {}, set()
    for e in sorted(events, key=lambda e: e["occurred_at"]):
        customer, order = e["customer_id"], sessions.get(e["customer_id"], [])
        if customer in chosen and order and e.get("session_id") == order[0]:
            e = e | {"customer_id": f"anon-{customer}"}
        elif customer in chosen and len(order) > 1 and customer not in seen:
            e = e | {"anonymous_id": f"anon-{customer}"}
            seen.add(customer)
            logged_in[f"anon-{customer}"] = customer
        out.append(e)
    return out, logged_in
