"""Retention on the local AWS: inactive customers are forgotten, by TTL (emulated: moto never runs
it) and by the daily sweep where TTL cannot do it alone (contact details)."""

from __future__ import annotations

from pathlib import Path

from microtarget.contacts import Contact

from local.privacy_calls import PrivacyCalls
from local.ttl import expire
from tests.integration.flow import Flow


def contacts(flow: Flow) -> set[str]:
    return {item["pid"] for item in flow.aws.scan("ContactsTable")}


def test_an_inactive_customer_is_forgotten_and_an_active_one_kept(flow: Flow, tmp_path: Path) -> None:
    job = PrivacyCalls(flow.aws, tmp_path / "logs")
    for name in ("gone", "back"):
        flow.customer(name)
        flow.events(("add_to_cart", name, 0, {"product_id": "P1", "price": 30.0}))
    flow.dispatch.later(minutes=16)  # a cart e-mail each: ledger items
    assert {i["pid"] for i in flow.dispatch.ledger()} == {flow.pid("gone"), flow.pid("back")}

    flow.clock.advance(days=729)  # "back" returns just before two years are up, "gone" never does
    flow.events(("page_view", "back", 0, {}))
    flow.contacts.put(flow.pid("new"), Contact(email="new@example.com"))  # signed up, no activity yet
    flow.clock.advance(days=2)
    removed = expire(flow.aws, flow.now())  # what DynamoDB's TTL does
    assert removed["ProfilesTable"] == 1 and set(flow.ingest.profiles()) == {flow.pid("back")}
    assert removed["LedgerTable"] == 2  # both e-mails, 180 days on
    assert job.job.invoke({"task": "retention"})["contacts_removed"] == 1  # what TTL cannot: gone's contact
    assert contacts(flow) == {flow.pid("back"), flow.pid("new")}

    flow.clock.advance(days=31)  # the sign-up never became a customer
    assert job.job.invoke({"task": "retention"})["contacts_removed"] == 1
    assert contacts(flow) == {flow.pid("back")}


def test_a_tombstone_outlives_every_event_it_must_stop(flow: Flow, tmp_path: Path) -> None:
    from microtarget.aws.profile_store import TOMBSTONE_KEEP_S
    from microtarget.event_parser import MAX_EVENT_AGE

    assert MAX_EVENT_AGE.total_seconds() < TOMBSTONE_KEEP_S  # past it, the parser refuses what it stopped
    privacy = PrivacyCalls(flow.aws, tmp_path / "logs")
    flow.customer("erin")
    privacy.erase("erin")
    flow.clock.advance(minutes=1)
    flow.events(("page_view", "erin", 0, {}))  # she comes back: a fresh profile, still carrying the tombstone
    flow.clock.advance(days=731)
    assert expire(flow.aws, flow.now())["ProfilesTable"] == 0  # two years inactive: but a tombstone keeps three
    assert [p.erased_before is not None for p in flow.ingest.profiles().values()] == [True]
