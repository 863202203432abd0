"""Every bad-record kind is rejected with a stable code and the field that caused it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from microtarget.errors import PermanentError
from microtarget.event_parser import MAX_EVENT_BYTES, parse_event

from tests.helpers.events import T0, event_dict

NOW = T0 + timedelta(hours=1)


def reject(data: bytes) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        parse_event(data, NOW)
    return caught.value


def encode(value: object) -> bytes:
    return json.dumps(value).encode()


def test_valid_event_parses() -> None:
    event = parse_event(encode(event_dict("purchase")), NOW)
    assert event.event_type == "purchase"
    assert event.properties.revenue == 50.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        (b"{not json", "invalid_json", None),
        (b"\xff\xfe", "invalid_json", None),
        (encode([1, 2]), "invalid_json", None),
        (encode({**event_dict("page_view"), "event_type": "wishlist_add"}), "unknown_event_type", "event_type"),
        (
            encode({k: v for k, v in event_dict("page_view").items() if k != "event_type"}),
            "missing_field",
            "event_type",
        ),
        (
            encode({k: v for k, v in event_dict("page_view").items() if k != "customer_id"}),
            "missing_field",
            "customer_id",
        ),
        (encode({**event_dict("page_view"), "customer_id": ""}), "invalid_field", "customer_id"),
        (encode(event_dict("add_to_cart", price="free")), "invalid_field", "properties.price"),
        (encode(event_dict("add_to_cart", quantity=0)), "invalid_field", "properties.quantity"),
        (encode(event_dict("purchase", revenue=-5)), "invalid_field", "properties.revenue"),
        (encode({**event_dict("page_view"), "occurred_at": "2026-11-20T12:00:00"}), "invalid_field", "occurred_at"),
        (encode({**event_dict("page_view"), "surprise": 1}), "invalid_field", "surprise"),
        (encode({**event_dict("page_view"), "schema_version": 2}), "unsupported_schema_version", "schema_version"),
        (encode(event_dict("page_view", at=NOW + timedelta(hours=1))), "timestamp_in_future", "occurred_at"),
        (encode(event_dict("page_view", title="x" * (MAX_EVENT_BYTES + 1))), "oversized", None),
    ],
)
def test_bad_record_is_rejected_with_code_and_field(data: bytes, code: str, field: str | None) -> None:
    error = reject(data)
    assert (error.code, error.field) == (code, field)
    assert error.message


def test_small_clock_skew_is_tolerated() -> None:
    assert parse_event(encode(event_dict("page_view", at=NOW + timedelta(minutes=2))), NOW)
