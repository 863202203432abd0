"""The batch jobs merge an anonymous visit into the customer it became, as ingest does: one
customer in the rows and snapshots, with the events of both ids, and the merge's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from microtarget.events import EVENT_ADAPTER
from microtarget.identity import Pseudonymizer

from tests.helpers.events import with_logins
from training import build
from training.dataset import replay_customer
from training.identities import claim, resolve
from training.sources import write_events
from training.synthetic import generate

END = datetime(2026, 11, 20, 23, tzinfo=UTC)
PIDS = Pseudonymizer("a-test-key-of-enough-length")


def test_an_id_merges_into_the_first_customer_that_names_it_never_into_itself_nor_in_a_loop() -> None:
    t = [END + timedelta(minutes=m) for m in range(6)]
    claims = [(t[2], "e3", "a1", "k2"), (t[0], "e1", "a1", "k1"), (t[1], "e2", "k1", "k9"), (t[3], "e4", "k9", "a1"),
              (t[4], "e5", "z", "z")]  # fmt: skip
    # a1 -> k1 first (k2 comes later); k1 -> k9, so a1's events land on k9; k9 -> a1 would be a loop
    assert resolve(claims) == {"a1": "k9", "k1": "k9"}
    line = b'{"event_id": "e", "occurred_at": "2026-11-20T12:00:00+00:00", "customer_id": "k", "anonymous_id": "a"}'
    assert claim(line) == (datetime(2026, 11, 20, 12, tzinfo=UTC), "e", "a", "k")
    for odd in (b'{"anonymous_id": null, "customer_id": "k", "occurred_at": "2026-11-20T12:00:00+00:00"}',
                b'{"anonymous_id": "a", "customer_id": "k", "occurred_at": "2026-11-20T12:00:00"}',  # no zone
                b'{"anonymous_id": "k", "customer_id": "k", "occurred_at": "2026-11-20T12:00:00+00:00"}',
                b'{"anonymous_id": "a", "customer_id": "k"', b'{"customer_id": "k"}'):  # fmt: skip
        assert claim(odd) is None, odd


def test_rows_and_snapshots_hold_the_customer_a_visit_became_with_the_events_of_both_ids(tmp_path: Path) -> None:
    # Given a lake where a quarter of the customers browsed anonymously before logging in
    events, logged_in = with_logins(generate(120, 75, seed=4, end=END).events)
    assert len(logged_in) > 10
    write_events(events, str(tmp_path / "lake"), "part", PIDS)
    rows, timeline, _orders, _read = build.dataset(str(tmp_path / "lake"), build.Plan(end=END), workers=2)
    shots, _ = build.snapshots(str(tmp_path / "lake"), END, workers=1)
    # Then no anonymous id that logged in is a customer of its own, in the rows or the snapshots
    gone = {PIDS.pid(anonymous) for anonymous in logged_in}
    assert not gone & set(rows.customer) and not gone & set(shots.pids)
    # and each customer's rows are the replay of both ids' events as one profile
    for anonymous, customer in sorted(logged_in.items())[:5]:
        mine = [EVENT_ADAPTER.validate_python(e) for e in events if e["customer_id"] in (anonymous, customer)]
        expected = replay_customer(PIDS.pid(customer), mine, timeline.cutoffs, timeline.horizon)
        found = [i for i, c in enumerate(rows.customer) if c == PIDS.pid(customer)]
        assert np.array_equal(rows.features[found], expected.features), customer


def test_what_a_visitor_viewed_before_logging_in_counts_for_the_order_after() -> None:
    from tests.helpers.events import event
    from training.recommend import orders_of

    visit = [event("product_view", customer="anon-1", product_id="P7", minutes=-30),
             event("purchase", customer="k1", items=[{"product_id": "P2", "price": 5.0, "quantity": 1}])]  # fmt: skip
    assert [(o.customer, o.viewed) for o in orders_of(visit, "k1")] == [("k1", ["P7"])]
    assert [o.viewed for o in orders_of(visit)] == [[]]  # two customers, as far as it knows
