"""Bootstrap from an existing order history: CSV rows → v1 purchase events.

Each row needs a customer id, a date or timestamp, a quantity and an amount (the line's total);
a product, an order id and a line number are optional; header names are configurable. The lines
of one order (or, without an order id, of one customer on one local day) become one purchase
with its items, at the order's first moment. Event ids are derived from the content, so
importing the same file twice yields the same events (ingest and training count them once); an
order of one line keeps the id earlier versions gave it. Without a product column every item is
`unknown`, which the recommender leaves out.
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
    product: str | None = None  # optional product id column
    line: str | None = None  # optional line number within the order: a repeated line is a duplicate row


UNKNOWN_PRODUCT = "unknown"  # an item whose product the import does not know
MAX_LINES = 200  # the event contract's items per purchase


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
    groups: dict[tuple[str, ...], list[_Line]] = {}
    spoilt: set[tuple[str, ...]] = set()  # an order with a bad line is left out whole: a re-import adds it once
    for row in reader:
        number = reader.line_num  # the row's line in the file, multi-line fields and blank lines counted
        try:
            parsed = _line(row, columns, zone, date_format, number)
            _add(groups.setdefault(_group(parsed.order, parsed.customer, parsed.moment, zone), []), parsed, columns)
        except ImportError_ as exc:
            if not skip_bad:
                raise ImportError_(f"{exc} (use --skip-bad to skip and count bad rows)") from None
            result.skipped.append(str(exc))
            spoilt.add(_raw_group(row, columns, zone, date_format))
    for key in spoilt & set(groups):
        result.skipped.append(f"{key[0]} {' '.join(key[1:])}: left out whole ({len(groups.pop(key))} good lines), "
                              "as one of its lines is bad")  # fmt: skip
    for lines in groups.values():
        try:
            result.events.append(_event(lines, columns))
        except ImportError_ as exc:
            if not skip_bad:
                raise ImportError_(f"{exc} (use --skip-bad to skip and count bad rows)") from None
            result.skipped.append(str(exc))
    if not result.events:
        raise ImportError_("no valid rows")
    result.events.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
    return result


def _required(columns: Columns) -> list[str]:
    optional = [name for name in (columns.order, columns.product, columns.line) if name]
    return [columns.customer, columns.date, columns.quantity, columns.amount, *optional]


@dataclass(frozen=True)
class _Line:
    number: int  # in the file
    customer: str
    moment: datetime
    quantity: int
    amount: float
    order: str
    product: str
    line: str


def _fail(line: int, column: str, reason: str) -> ImportError_:
    return ImportError_(f"line {line}, column {column!r}: {reason}")


def _moment(row: dict[str, str], columns: Columns, zone: ZoneInfo, date_format: str | None, number: int) -> datetime:
    raw_date = (row.get(columns.date) or "").strip()
    try:
        moment = datetime.strptime(raw_date, date_format) if date_format else datetime.fromisoformat(raw_date)
    except ValueError:
        raise _fail(number, columns.date, f"{raw_date!r} is not a date or timestamp") from None
    if len(raw_date) <= 10 and not date_format:  # a date alone: count it at noon local time
        moment = datetime.combine(moment.date(), time(12))
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _line(row: dict[str, str], columns: Columns, zone: ZoneInfo, date_format: str | None, number: int) -> _Line:
    customer = (row.get(columns.customer) or "").strip()
    if not customer:
        raise _fail(number, columns.customer, "empty customer id")
    moment = _moment(row, columns, zone, date_format, number)
    try:
        quantity = int(float(row[columns.quantity]))
        amount = float(row[columns.amount])
    except (TypeError, ValueError):
        raise _fail(number, f"{columns.quantity}/{columns.amount}", "quantity and amount must be numbers") from None
    text = {name: (row.get(column) or "").strip() if column else "" for name, column in
            (("order", columns.order), ("product", columns.product), ("line", columns.line))}  # fmt: skip
    if columns.product and not text["product"]:
        raise _fail(number, columns.product, "empty product id")
    return _Line(number, customer, moment, quantity, amount, text["order"], text["product"] or UNKNOWN_PRODUCT,
                 text["line"])  # fmt: skip


def _group(order: str, customer: str, moment: datetime, zone: ZoneInfo) -> tuple[str, ...]:
    """The purchase a line belongs to: its order, or its customer's day in `--timezone`."""
    return ("order", order) if order else ("day", customer, moment.astimezone(zone).date().isoformat())


def _raw_group(row: dict[str, str], columns: Columns, zone: ZoneInfo, date_format: str | None) -> tuple[str, ...]:
    """The purchase a bad line would have belonged to, as far as it can be read."""
    order = (row.get(columns.order) or "").strip() if columns.order else ""
    if order:
        return ("order", order)
    try:
        return _group("", (row.get(columns.customer) or "").strip(), _moment(row, columns, zone, date_format, 0), zone)
    except ImportError_:
        return ("unreadable",)


def _add(lines: list[_Line], new: _Line, columns: Columns) -> None:
    """One more line of an order: the same customer's. A repeated row (the same line number, or
    without line numbers the same product, quantity, amount and moment) is kept once; a line
    number seen before that says something else is an error."""
    if lines and lines[0].customer != new.customer and new.order:
        raise _fail(new.number, columns.order or "", f"order {new.order!r} belongs to customer {lines[0].customer!r} (line "
                    f"{lines[0].number}), not {new.customer!r}")  # fmt: skip
    same = next((old for old in lines if (old.line == new.line if new.line else _content(old) == _content(new))), None)
    if same is None:
        lines.append(new)
    elif _content(same) != _content(new):
        raise _fail(
            new.number, columns.line or "", f"line {new.line!r} of order {new.order!r} differs from line {same.number}"
        )


def _content(line: _Line) -> tuple[Any, ...]:
    return line.moment, line.quantity, line.amount, line.product


def _event(lines: list[_Line], columns: Columns) -> dict[str, Any]:
    first = min(lines, key=lambda line: (line.moment, line.number))
    if len(lines) > MAX_LINES:
        what = f"order {first.order!r}" if first.order else f"customer {first.customer!r}'s day"
        raise _fail(
            first.number,
            columns.order or columns.customer,
            f"{what} has {len(lines)} lines; a purchase holds {MAX_LINES}",
        )
    if len(lines) == 1:  # the id and order id earlier versions gave a one-line order
        fingerprint = "|".join([first.customer, first.moment.isoformat(), f"{first.amount:.2f}", str(first.quantity),
                                first.order or str(first.number)])  # fmt: skip
    else:
        parts = sorted(f"{ln.product}|{ln.quantity}|{ln.amount:.2f}|{ln.line}|{ln.moment.isoformat()}" for ln in lines)
        fingerprint = "|".join([first.customer, first.order or first.moment.date().isoformat(), *parts])
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()
    order = first.order or (f"csv-line-{first.number}" if len(lines) == 1 else f"csv-{digest[:16]}")
    event = {
        "event_id": "csv-" + digest[:24],
        "event_type": "purchase",
        "occurred_at": first.moment.astimezone(UTC).isoformat(),
        "customer_id": first.customer,
        "context": {"channel": "pos"},
        "properties": {
            "order_id": order,
            "revenue": round(sum(line.amount for line in lines), 2),
            "items": [
                {
                    "product_id": line.product,
                    "quantity": line.quantity,
                    "price": line.amount / line.quantity if line.quantity else line.amount,
                }
                for line in sorted(lines, key=lambda line: line.number)
            ],
        },
    }
    try:
        EVENT_ADAPTER.validate_python(event)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        at = next((int(part) for part in error["loc"] if isinstance(part, int)), None)  # items[i]: its line
        line = sorted(lines, key=lambda ln: ln.number)[at] if at is not None and at < len(lines) else first
        raise _fail(line.number, _column_for(error["loc"], columns), str(error["msg"])) from None
    return event


def _column_for(loc: tuple[Any, ...], columns: Columns) -> str:
    text = ".".join(map(str, loc))
    if "quantity" in text:
        return columns.quantity
    if "product_id" in text:
        return columns.product or text
    if "revenue" in text or "price" in text:
        return columns.amount
    return columns.customer if "customer" in text else text
