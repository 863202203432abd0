"""Anonymous to known: the visitor's anonymous profile merges into the customer's exactly once,
later events under either id land there, and no batching, order or replay changes the result."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from microtarget.campaigns import parse_campaigns
from microtarget.decision_service import DecisionService
from microtarget.decisions import Context
from microtarget.identity import Pseudonymizer
from microtarget.ingest import IngestService
from microtarget.profile import Profile

from tests.helpers.events import T0, event_dict, raw
from tests.helpers.fakes import FakeServing, InMemoryProfileStore, ListDeadLetters

KEY = Pseudonymizer("unit-test-key-0123456789")
KNOWN, ANON = KEY.pid("C-7"), KEY.pid("anon-7f3a")


def visit() -> list[dict[str, Any]]:
    """An anonymous visitor browses and fills a cart, logs in (the identify event), and goes on."""
    anon = dict(customer="anon-7f3a", session="s-1")
    return [
        event_dict("product_view", minutes=0, event_id="v1", product_id="P1", **anon),
        event_dict("product_view", minutes=1, event_id="v2", product_id="P2", **anon),
        event_dict("add_to_cart", minutes=2, event_id="c1", product_id="P2", price=20.0, **anon),
        event_dict("consent_updated", minutes=3, event_id="k1", consents={"email": True}, **anon),
        event_dict("page_view", minutes=4, event_id="login", customer="C-7", session="s-1")
        | {"anonymous_id": "anon-7f3a"},
        event_dict("add_to_cart", minutes=5, event_id="c2", customer="C-7", session="s-1", product_id="P3", price=5.0),
        event_dict("product_view", minutes=6, event_id="v3", product_id="P4", **anon),  # an old tab, still anonymous
        event_dict("purchase", minutes=60, event_id="o1", customer="C-8", session="s-9"),  # someone else
    ]


def ingest(store: InMemoryProfileStore, batches: list[list[dict[str, Any]]]) -> None:
    service = IngestService(store, ListDeadLetters(), KEY, clock=lambda: T0 + timedelta(hours=2))
    for number, batch in enumerate(batches):
        service.commit(service.decode([raw(e, number * 100 + i) for i, e in enumerate(batch)]))


def state(store: InMemoryProfileStore, pid: str) -> dict[str, Any]:
    item = dict(store.items[pid])
    item.pop("version")
    return item


def test_the_anonymous_profile_merges_into_the_known_one_and_becomes_its_alias() -> None:
    store = InMemoryProfileStore()
    ingest(store, [visit()[:4], visit()[4:]])
    known = Profile.from_item(store.items[KNOWN])
    assert [line.product_id for line in known.cart().values()] == ["P2", "P3"]
    assert [view[2] for view in known.recent_views] == ["P1", "P2", "P4"]
    assert known.consents() == {"email": True} and known.aliases == [ANON]
    assert sum(day.get("s", 0) for day in known.days.values()) == 1  # one session under both ids
    alias = Profile.from_item(store.items[ANON])
    assert alias.alias_of == KNOWN and alias.last_seen is None and alias.recent_views == []


def test_a_replay_of_everything_changes_nothing() -> None:
    store = InMemoryProfileStore()
    ingest(store, [visit()[:4], visit()[4:]])
    before = {pid: state(store, pid) for pid in store.items}
    ingest(store, [visit(), visit()[:4], visit()[4:]])
    assert {pid: state(store, pid) for pid in store.items} == before


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(8)), st.lists(st.integers(0, 7), max_size=4))
def test_any_order_and_batching_gives_the_same_customer(order: list[int], cuts: list[int]) -> None:
    reference = InMemoryProfileStore()
    ingest(reference, [visit()])
    events = [visit()[i] for i in order]
    bounds = sorted({0, *cuts, len(events)})
    shuffled = InMemoryProfileStore()
    ingest(shuffled, [events[a:b] for a, b in itertools.pairwise(bounds) if events[a:b]])
    assert state(shuffled, KNOWN) == state(reference, KNOWN)
    assert Profile.from_item(shuffled.items[ANON]).alias_of == KNOWN


def test_a_decision_for_the_anonymous_id_is_the_customer_s() -> None:
    store = InMemoryProfileStore()
    ingest(store, [visit()])
    campaigns = parse_campaigns((Path(__file__).resolve().parents[2] / "campaigns" / "catalog.yaml").read_text())
    decisions = DecisionService(FakeServing(campaigns), store, KEY, clock=lambda: T0 + timedelta(hours=2))
    (decision,) = decisions.decide_many([("anon-7f3a", "web", Context(None, None))])
    assert decision.pid == KNOWN and not decision.cold_start


def test_two_customers_of_one_batch_naming_one_anonymous_id_the_earlier_login_gets_it_all() -> None:
    # Given one batch where C-2 logs in naming the visitor at minute 5 and C-1 at minute 10
    anon = dict(customer="anon-7f3a", session="s-1")
    batch = [
        event_dict("add_to_cart", minutes=0, event_id="c1", product_id="P2", price=20.0, **anon),
        event_dict("page_view", minutes=10, event_id="l1", customer="C-1", session="s-1") | {"anonymous_id": "anon-7f3a"},
        event_dict("page_view", minutes=5, event_id="l2", customer="C-2", session="s-1") | {"anonymous_id": "anon-7f3a"},
    ]  # fmt: skip
    for order in itertools.permutations(batch):
        store = InMemoryProfileStore()
        ingest(store, [list(order)])
        # Then the visit and its alias are C-2's, however the batch was ordered
        first, second = (Profile.from_item(store.items[KEY.pid(c)]) for c in ("C-2", "C-1"))
        assert Profile.from_item(store.items[ANON]).alias_of == first.pid and first.aliases == [ANON]
        assert [line.product_id for line in first.cart().values()] == ["P2"] and not second.cart()
        assert second.aliases == []
