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


LINES = """cust,when,qty,total,order,sku,line
A-1,2026-03-01T10:00:00,2,40.00,o-1,P1,1
A-1,2026-03-01T10:05:00,1,15.50,o-1,P2,2
A-1,2026-03-01T10:05:00,1,15.50,o-1,P2,2
B-7,2026-04-02 09:00,3,60,o-3,P1,1
"""
LINE_COLUMNS = Columns("cust", "when", "qty", "total", "order", "sku", "line")


def test_the_lines_of_an_order_become_one_purchase_with_its_items() -> None:
    first, second = import_transactions(LINES, LINE_COLUMNS).events
    assert first["properties"]["order_id"] == "o-1" and first["properties"]["revenue"] == 55.5
    assert [(i["product_id"], i["quantity"], i["price"]) for i in first["properties"]["items"]] == [
        ("P1", 2, 20.0),
        ("P2", 1, 15.5),
    ]  # the repeated line 2 (a re-exported row) is counted once
    assert first["occurred_at"] == "2026-03-01T10:00:00+00:00"  # the order's first line
    assert second["properties"]["items"] == [{"product_id": "P1", "quantity": 3, "price": 20.0}]


def test_without_an_order_id_a_customers_lines_of_one_local_day_are_one_purchase() -> None:
    text = (
        "cust,when,qty,total\nA-1,2026-03-01T09:00:00,1,10\nA-1,2026-03-01T23:30:00,1,5\nA-1,2026-03-02T00:30:00,1,7\n"
    )
    events = import_transactions(text, Columns("cust", "when", "qty", "total"), timezone="Europe/Paris").events
    assert [e["properties"]["revenue"] for e in events] == [15.0, 7.0]  # 23:30 and 00:30 Paris: two days
    assert events[0]["properties"]["items"][0]["product_id"] == "unknown"
    again = import_transactions(text, Columns("cust", "when", "qty", "total"), timezone="Europe/Paris").events
    assert [e["event_id"] for e in events] == [e["event_id"] for e in again]


def test_an_order_of_one_line_keeps_the_event_id_earlier_versions_gave_it() -> None:
    import hashlib

    (event,) = import_transactions(
        "cust,when,qty,total,order\nA-1,2026-03-05T18:30:00+01:00,1,15.5,o-2\n", COLUMNS
    ).events
    old = hashlib.sha256(b"A-1|2026-03-05T18:30:00+01:00|15.50|1|o-2").hexdigest()[:24]
    assert event["event_id"] == f"csv-{old}"  # importing an old file again adds nothing


def test_an_order_that_names_two_customers_or_changes_a_line_is_refused_with_its_line() -> None:
    with pytest.raises(
        ImportError_, match=r"line 6, column 'order': order 'o-1' belongs to customer 'A-1' \(line 2\), not 'C-9'"
    ):
        import_transactions(LINES + "C-9,2026-03-01,1,5,o-1,P3,3\n", LINE_COLUMNS)
    with pytest.raises(ImportError_, match=r"line 6, column 'line': line '2' of order 'o-1' differs from line 3"):
        import_transactions(LINES + "A-1,2026-03-01T10:05:00,9,15.50,o-1,P2,2\n", LINE_COLUMNS)
    with pytest.raises(ImportError_, match=r"line 6, column 'sku': empty product id"):
        import_transactions(LINES + "A-1,2026-03-01,1,5,o-9,,1\n", LINE_COLUMNS)
    skipped = import_transactions(LINES + "C-9,2026-03-01,1,5,o-1,P3,3\n", LINE_COLUMNS, skip_bad=True)
    assert [e["properties"]["order_id"] for e in skipped.events] == ["o-3"]  # the rest of the file still imports
    assert skipped.skipped[1] == "order o-1: left out whole (2 good lines), as one of its lines is bad"


def test_an_order_is_imported_whole_or_not_at_all_so_a_fixed_file_adds_it_once() -> None:
    bad = LINES.replace("A-1,2026-03-01T10:05:00,1,15.50,o-1,P2,2\n", "A-1,2026-03-01T10:05:00,1,x,o-1,P2,2\n", 1)
    first = import_transactions(bad, LINE_COLUMNS, skip_bad=True)
    fixed = import_transactions(LINES, LINE_COLUMNS)
    assert {e["properties"]["order_id"] for e in first.events} == {"o-3"}
    assert {e["event_id"] for e in first.events} < {e["event_id"] for e in fixed.events}  # o-1 comes in once, whole


def test_repeated_rows_without_line_numbers_count_once_and_days_are_the_timezones() -> None:
    text = "cust,when,qty,total,order\nA-1,2026-03-28T23:30:00Z,1,10,o-1\nA-1,2026-03-28T23:30:00Z,1,10,o-1\n"
    (event,) = import_transactions(text, COLUMNS).events
    assert event["properties"]["revenue"] == 10.0 and len(event["properties"]["items"]) == 1  # a re-exported row
    night = "cust,when,qty,total\nA-1,2026-03-28T23:30:00Z,1,10\nA-1,2026-03-29T00:30:00Z,1,5\n"
    events = import_transactions(night, Columns("cust", "when", "qty", "total"), timezone="Europe/Berlin").events
    assert [e["properties"]["revenue"] for e in events] == [15.0]  # 00:30 and 02:30 in Berlin: one day, one purchase


def test_an_order_beyond_what_a_purchase_holds_is_named_and_a_bad_line_by_its_own_number() -> None:
    many = "cust,when,qty,total,order,sku,line\n" + "".join(f"A-1,2026-03-01,1,1,o-9,P{i},{i}\n" for i in range(201))
    with pytest.raises(ImportError_, match=r"line 2, column 'order': order 'o-9' has 201 lines; a purchase holds 200"):
        import_transactions(many, LINE_COLUMNS)
    negative = LINES.replace("A-1,2026-03-01T10:05:00,1,15.50,o-1,P2,2\n", "A-1,2026-03-01T10:05:00,1,-5,o-1,P2,2\n")
    with pytest.raises(ImportError_, match=r"^line 3, column 'total'"):
        import_transactions(negative.replace("A-1,2026-03-01T10:05:00,1,15.50,o-1,P2,2\n", ""), LINE_COLUMNS)
