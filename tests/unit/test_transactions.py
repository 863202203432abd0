from __future__ import annotations

import pytest

from training.transactions import Columns, ImportError_, import_transactions

GOOD = """cust,when,qty,total,order
A-1,2026-03-01,2,40.00,o-1
A-1,2026-03-05T18:30:00+01:00,1,15.5,o-2
B-7,2026-04-02 09:00,3,60,o-3
"""
COLUMNS = Columns(customer="cust", date="when", quantity="qty", amount="total", order="order")


def test_rows_become_purchase_events() -> None:
    result = import_transactions(GOOD, COLUMNS, timezone="Europe/Paris")
    first, second, third = result.events
    assert first["event_type"] == "purchase" and first["properties"]["revenue"] == 40.0
    assert first["occurred_at"] == "2026-03-01T11:00:00+00:00"  # a date alone: noon local time
    assert second["occurred_at"] == "2026-03-05T17:30:00+00:00"
    assert third["properties"]["items"][0]["quantity"] == 3 and third["properties"]["order_id"] == "o-3"


def test_importing_twice_gives_the_same_event_ids() -> None:
    ids = [e["event_id"] for e in import_transactions(GOOD, COLUMNS).events]
    assert ids == [e["event_id"] for e in import_transactions(GOOD, COLUMNS).events] and len(set(ids)) == 3


def test_bad_row_names_line_and_column() -> None:
    bad = GOOD + "C-2,not-a-date,1,10,o-4\n"
    with pytest.raises(ImportError_, match=r"line 5, column 'when'"):
        import_transactions(bad, COLUMNS)


def test_skip_bad_counts_rows_and_keeps_the_rest() -> None:
    bad = GOOD + "C-2,2026-04-03,one,10,o-4\n,2026-04-03,1,10,o-5\nD-1,2026-04-03,1,-5,o-6\n"
    result = import_transactions(bad, COLUMNS, skip_bad=True)
    assert len(result.events) == 3 and len(result.skipped) == 3
    assert any("line 7" in problem and "'total'" in problem for problem in result.skipped)


def test_missing_header_is_named() -> None:
    with pytest.raises(ImportError_, match="'qty'"):
        import_transactions("cust,when,total\nA,2026-01-01,3\n", COLUMNS)
