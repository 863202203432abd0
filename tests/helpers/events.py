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
