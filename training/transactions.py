"""Bootstrap from an existing order history: CSV rows → v1 purchase events.

Each row needs a customer id, a date or timestamp, a quantity and an amount; header names are
configurable. Event ids are derived from the row's content, so importing the same file twice
yields the same events (ingest and training count them once).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from microtarget.events import EVENT_ADAPTER
from pydantic import ValidationError


@dataclass(frozen=True)
class Columns:
    customer: str = "customer_id"
    date: str = "date"
    quantity: str = "quantity"
    amount: str = "amount"
    order: str | None = None  # optional order id column


class ImportError_(Exception):
    """A row cannot become an event; names the line, column and reason."""


@dataclass
class Imported:
    events: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def import_transactions(
    text: str,
    columns: Columns = Columns(),
    timezone: str = "UTC",
    date_format: str | None = None,
    skip_bad: bool = False,
) -> Imported:
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in _required(columns) if name not in (reader.fieldnames or [])]
    if missing:
        raise ImportError_(f"header has no column {', '.join(map(repr, missing))} (found {reader.fieldnames})")
    zone = ZoneInfo(timezone)
    result = Imported()
    for line, row in enumerate(reader, start=2):
        try:
            result.events.append(_event(row, columns, zone, date_format, line))
        except ImportError_ as exc:
            if not skip_bad:
                raise ImportError_(f"{exc} (use --skip-bad to skip and count bad rows)") from None
            result.skipped.append(str(exc))
    if not result.events:
        raise ImportError_("no valid rows")
    return result


def _required(columns: Columns) -> list[str]:
    return [columns.customer, columns.date, columns.quantity, columns.amount] + (
        [columns.order] if columns.order else []
    )


def _event(row: dict[str, str], columns: Columns, zone: ZoneInfo, date_format: str | None, line: int) -> dict:
    def fail(column: str, reason: str) -> ImportError_:
        return ImportError_(f"line {line}, column {column!r}: {reason}")

    customer = (row.get(columns.customer) or "").strip()
    if not customer:
        raise fail(columns.customer, "empty customer id")
    raw_date = (row.get(columns.date) or "").strip()
    try:
        moment = datetime.strptime(raw_date, date_format) if date_format else datetime.fromisoformat(raw_date)
    except ValueError:
        raise fail(columns.date, f"{raw_date!r} is not a date or timestamp") from None
    if len(raw_date) <= 10 and not date_format:  # a date alone: count it at noon local time
        moment = datetime.combine(moment.date(), time(12))
    moment = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
    try:
        quantity = int(float(row[columns.quantity]))
        amount = float(row[columns.amount])
    except (TypeError, ValueError):
        raise fail(f"{columns.quantity}/{columns.amount}", "quantity and amount must be numbers") from None
    order = (row.get(columns.order) or "").strip() if columns.order else ""
    fingerprint = "|".join([customer, moment.isoformat(), f"{amount:.2f}", str(quantity), order or str(line)])
    event = {
        "event_id": "csv-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:24],
        "event_type": "purchase",
        "occurred_at": moment.astimezone(UTC).isoformat(),
        "customer_id": customer,
        "context": {"channel": "pos"},
        "properties": {
            "order_id": order or f"csv-line-{line}",
            "revenue": amount,
            "items": [
                {"product_id": "unknown", "price": amount / quantity if quantity else amount, "quantity": quantity}
            ],
        },
    }
    try:
        EVENT_ADAPTER.validate_python(event)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        raise fail(_column_for(first["loc"], columns), str(first["msg"])) from None
    return event


def _column_for(loc: tuple[Any, ...], columns: Columns) -> str:
    text = ".".join(map(str, loc))
    if "quantity" in text:
        return columns.quantity
    if "revenue" in text or "price" in text:
        return columns.amount
    return columns.customer if "customer" in text else text
