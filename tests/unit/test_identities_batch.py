"""The batch jobs merge an anonymous visit into the customer it became, as ingest does: one
customer in the rows and snapshots, with the events of both ids, and the merge's rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from microtarget.clock import to_ms
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
    logins = resolve(claims)
    # a1 -> k1 first (k2 comes later); k1 -> k9, so a1's events end on k9; k9 -> a1 would be a loop
    assert {a: known for a, (known, _at) in logins.merged.items()} == {"a1": "k1", "k1": "k9"}
    assert logins.root("a1") == "k9" and logins.root("k2") == "k2"
    # and moment by moment: before a login the ids are apart, an erasure after it undoes it
    ms = [int(m.timestamp() * 1000) for m in t]
    ids = ["a1", "k1", "k9"]
    assert logins.at(ids, ms[0] - 1, {}) == {"a1": "a1", "k1": "k1", "k9": "k9"}
    assert logins.at(ids, ms[0], {}) == {"a1": "k1", "k1": "k1", "k9": "k9"}
    assert logins.at(ids, ms[5], {}) == {"a1": "k9", "k1": "k9", "k9": "k9"}
    assert logins.at(ids, ms[5], {"k9": ms[2]}) == {"a1": "k1", "k1": "k1", "k9": "k9"}  # k9 erased after k1's login
    line = b'{"event_id": "e", "event_type": "page_view", "occurred_at": "2026-11-20T12:00:00+00:00", "customer_id": "k", "anonymous_id": "a"}'
    assert claim(line) == (datetime(2026, 11, 20, 12, tzinfo=UTC), "e", "a", "k")
    epoch = line.replace(b'"2026-11-20T12:00:00+00:00"', b"1795176000")  # the contract takes epoch seconds too
    assert claim(epoch) == (datetime.fromtimestamp(1795176000, UTC), "e", "a", "k")
    for odd in (line.replace(b'"a"}', b"null}"), line.replace(b"+00:00", b""), line.replace(b'"a"}', b'"k"}'),
                line[:-1], line.replace(b"page_view", b"wishlist")):  # fmt: skip
        assert claim(odd) is None, odd


def test_rows_and_snapshots_hold_the_customer_a_visit_became_with_the_events_of_both_ids(tmp_path: Path) -> None:
    # Given a lake where a quarter of the customers browsed anonymously before logging in
    events, logged_in = with_logins(generate(120, 75, seed=4, end=END).events)
    assert len(logged_in) > 10
    write_events(events, str(tmp_path / "lake"), "part", PIDS)
    rows, timeline, _orders, _read = build.dataset(str(tmp_path / "lake"), build.Plan(end=END), workers=2)
    shots, _ = build.snapshots(str(tmp_path / "lake"), END, workers=1)
    # Then an anonymous id that logged in has rows of its own only at cutoffs before its login
    logins = resolve(
        (e_at, e["event_id"], PIDS.pid(e["anonymous_id"]), PIDS.pid(e["customer_id"]))
        for e in events
        if e.get("anonymous_id") and (e_at := datetime.fromisoformat(e["occurred_at"]))
    )
    assert len(logins.merged) == len(logged_in)
    for anonymous in sorted(logged_in):
        login_ms = logins.merged[PIDS.pid(anonymous)][1]
        own = {int(rows.cutoff[i]) for i, c in enumerate(rows.customer) if c == PIDS.pid(anonymous)}
        assert all(to_ms(timeline.cutoffs[k]) < login_ms for k in own), anonymous
        assert PIDS.pid(anonymous) not in shots.pids
    # and at a cutoff after the login, the customer's row is the replay of both ids' events as one
    checked = 0
    for anonymous, customer in sorted(logged_in.items()):
        login_ms = logins.merged[PIDS.pid(anonymous)][1]
        after = [k for k, cutoff in enumerate(timeline.cutoffs) if to_ms(cutoff) >= login_ms]
        mine = [EVENT_ADAPTER.validate_python(e) for e in events if e["customer_id"] in (anonymous, customer)]
        expected = replay_customer(PIDS.pid(customer), mine, [timeline.cutoffs[k] for k in after], timeline.horizon)
        found = [i for i, c in enumerate(rows.customer) if c == PIDS.pid(customer) and int(rows.cutoff[i]) in after]
        assert np.array_equal(rows.features[found], expected.features), customer
        checked += len(found)
    assert checked > 10


def test_what_a_visitor_viewed_before_logging_in_counts_for_the_order_after() -> None:
    from tests.helpers.events import event
    from training.recommend import orders_of

    visit = [event("product_view", customer="anon-1", product_id="P7", minutes=-30),
             event("purchase", customer="k1", items=[{"product_id": "P2", "price": 5.0, "quantity": 1}])]  # fmt: skip
    assert [(o.customer, o.viewed) for o in orders_of(visit, "k1")] == [("k1", ["P7"])]
    assert [o.viewed for o in orders_of(visit)] == [[]]  # two customers, as far as it knows


def test_a_moment_given_in_epoch_seconds_stays_with_its_customer_s_lines(tmp_path: Path) -> None:
    from training.jobs import SnapshotTask
    from training.lake import spill
    from training.local_engine import run_task

    events = [e for e in generate(40, 3, seed=2, end=END).events]
    first = events[0]
    odd = first | {"event_id": "epoch-1", "occurred_at": int(datetime.fromisoformat(first["occurred_at"]).timestamp())}
    write_events(events, str(tmp_path / "lake"), "part")
    (tmp_path / "lake" / "events/year=2026/month=11/day=20/odd.jsonl").write_text(json.dumps(odd) + "\n")
    lines = spill(str(tmp_path / "lake"), buckets=8)
    try:
        shots = [s for r in run_task(lines, SnapshotTask(END), workers=1) for s in r.outputs]
    finally:
        lines.close()
    pids = [p for s in shots for p in s.pids]
    assert len(pids) == len(set(pids)) and first["customer_id"] in pids  # one snapshot, not one per bucket
