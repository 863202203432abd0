"""Erasure end to end on the local AWS: one call, the erasure job, and then no trace anywhere."""

from __future__ import annotations

import json

from microtarget.campaigns import parse_campaigns
from microtarget.profile import Profile

from local.aws import LocalAws
from local.config import CAMPAIGNS
from local.kinesis_source import KinesisEventSource
from local.privacy import traces
from local.privacy_calls import OPERATOR, PrivacyCalls
from tests.integration.flow import Flow

EXPERIMENT = parse_campaigns(CAMPAIGNS.read_text()).experiments[0]


def known_customer(flow: Flow, name: str, privacy: PrivacyCalls) -> None:
    """A contact, consent, a cart e-mail sent, an order (its cross-sell scheduled three days out),
    a rejected record naming the customer, and all of it archived in the lake."""
    flow.customer(name)
    assert privacy.consent(name, {"push": False})[0] == 200  # and a consent change through the API
    flow.events(("add_to_cart", name, 0, {"product_id": "P1", "price": 30.0}))
    flow.dispatch.later(minutes=16)
    items = [{"product_id": "A1", "price": 20.0}]
    flow.events(("purchase", name, 0, {"items": items, "revenue": 20.0}))
    bad = {"event_id": "bad-1", "event_type": "page_view", "occurred_at": flow.now().isoformat(),
           "customer_id": name, "properties": {"title": 7}}  # fmt: skip
    flow.ingest.send_records([(json.dumps(bad).encode(), name)])
    flow.ingest.run()


def test_an_erased_customer_leaves_no_trace_and_old_events_do_not_bring_them_back(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws
) -> None:
    name = flow.in_arm(EXPERIMENT, "treatment", "erin")
    known_customer(flow, name, privacy)
    pid = flow.pid(name)
    before = traces(local_aws, [name, pid])
    assert {"ProfilesTable", "ContactsTable", "LedgerTable", "DataLakeBucket", "RejectedEventsQueue",
            "TriggerSchedules"} <= set(before), before  # fmt: skip
    assert "DataLakeBucket" not in traces(local_aws, [name])  # the lake holds the pid, never the raw id

    status, receipt = privacy.erase(name)
    assert status == 202 and receipt["status"] == "in_progress" and receipt["pid"] == pid
    assert name not in json.dumps(receipt)
    stores = receipt["stores"]
    assert {s: v["state"] for s, v in stores.items()} == {
        "profile": "clean", "contacts": "clean", "ledger": "clean", "consent_history": "clean", "schedules": "clean",
        "dead_letters": "pending", "data_lake": "pending", "outputs": "pending",
    }  # fmt: skip
    assert stores["contacts"]["removed"] == 1 and stores["schedules"]["removed"] == 1
    assert stores["ledger"]["removed"] >= 2  # the e-mail's decision and the order it converted
    again_status, again = privacy.erase(name)  # idempotent: the same erasure
    assert again_status == 202 and again["erasure_id"] == receipt["erasure_id"]

    first = privacy.run_job()  # searches now, closes only after what the archive may still deliver
    assert first["completed"] == 0
    flow.dispatch.later(hours=25)
    assert privacy.run_job()["completed"] == 1
    status, done = privacy.receipt(receipt["erasure_id"])
    assert status == 200 and done["status"] == "complete"
    assert done["stores"]["dead_letters"]["removed"] == 1
    assert done["stores"]["data_lake"]["removed"] == 4  # two consents (the site's, the API's), the cart, the order

    # every table, queue, bucket version and schedule: no raw id, no pid (receipts and audit keep the
    # pid, the profile's tombstone keeps the pid and the moment, nothing else)
    assert traces(local_aws, [name, pid], skip=["PrivacyTable", "ProfilesTable"]) == {}
    (stone,) = [p for p in flow.ingest.profiles().values() if p.pid == pid]
    assert stone.to_item() == Profile(pid, version=stone.version, erased_before=stone.erased_before).to_item()
    audit = [i for i in local_aws.scan("PrivacyTable") if i["id"].startswith("audit#")]
    assert {(i["action"], i["who"], i["pid"]) for i in audit} == {("consent", OPERATOR, pid), ("erase", OPERATOR, pid)}
    assert not [i for i in local_aws.scan("PrivacyTable") if i["id"].startswith("consent#")]
    assert name not in json.dumps(local_aws.scan("PrivacyTable"), default=str)

    # the stream replayed from its start, and a late event from before the erasure: nothing of the
    # erased past comes back, in the profile or in the lake
    KinesisEventSource(local_aws, flow.ingest.ingest).drain()
    flow.events(("page_view", name, -26 * 60, {}))  # an hour before the erasure, sent a day late
    flow.dispatch.later(days=4)  # and the cross-sell's time passes: it was deleted
    assert traces(local_aws, [name, pid], skip=["PrivacyTable", "ProfilesTable"]) == {}
    assert [p.last_seen for p in flow.ingest.profiles().values() if p.pid == pid] == [None]
    assert flow.outbox.emails()[1:] == []  # only the one cart e-mail from before the erasure

    # new activity starts a fresh profile with only what came after
    flow.events(("product_view", name, 0, {"product_id": "P9"}))
    (profile,) = [p for p in flow.ingest.profiles().values() if p.pid == pid]
    assert profile.orders == 0 and [v[2] for v in profile.recent_views] == ["P9"]
    status, renewed = privacy.erase(name)  # a new erasure for the new data
    assert status == 202 and renewed["erasure_id"] != receipt["erasure_id"]


def test_an_unknown_erasure_is_404_and_an_erasure_of_nobody_completes(flow: Flow, privacy: PrivacyCalls) -> None:
    assert privacy.receipt("er_nosuch")[0] == 404
    status, receipt = privacy.erase("never-seen")
    assert status == 202 and all(receipt["stores"][s]["removed"] == 0 for s in receipt["stores"])
    flow.dispatch.later(hours=25)
    assert privacy.run_job()["completed"] == 1
    assert privacy.receipt(receipt["erasure_id"])[1]["status"] == "complete"


def test_the_access_export_shows_everything_held_readably_and_is_audited(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws
) -> None:
    name = flow.in_arm(EXPERIMENT, "treatment", "ada")
    known_customer(flow, name, privacy)
    status, held = privacy.access(name)
    assert status == 200 and held["pid"] == flow.pid(name)
    profile = held["profile"]
    assert profile["orders"] == 1 and profile["revenue"] == 20.0 and profile["cart"] == []
    assert sum(day.get("added_to_cart", 0) for day in profile["daily_activity"].values()) == 1
    assert held["consent"]["email"]["granted"] is True and held["consent"]["push"]["granted"] is False
    assert [(c["consents"], c["who"]) for c in held["consent_history"]] == [({"push": False}, OPERATOR)]
    assert held["contact"] == {"email": f"{name}@example.com", "first_name": name.title()}
    (sent,) = [d for d in held["decisions"] if d["outcome"] == "sent"]
    assert sent["offer_id"] == "cart-recovery" and "propensity" in sent["scores"]
    assert [c["event_type"] for c in held["conversions"]] == ["purchase"]
    assert {"profile", "contact", "decisions", "events"} <= set(held["where_held"])
    audit = [i for i in local_aws.scan("PrivacyTable") if i["id"].startswith("audit#")]
    assert sorted((i["action"], i["who"]) for i in audit) == [("access", OPERATOR), ("consent", OPERATOR)]
    # after the erasure the same request finds nothing but the tombstone's moment
    privacy.erase(name)
    after = privacy.access(name)[1]
    assert after["contact"] is None and after["decisions"] == [] and after["conversions"] == []
    assert after["profile"] is None and after["consent"] == {}
