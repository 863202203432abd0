"""Key rotation end to end on the local AWS: a key is added to the secret, the running functions
take it up within their cache time, the rekey job moves every store, and the customer is one
customer throughout: the history from before, what came in between, their address, their
sends and consent, a message queued before the rotation, and an erasure afterwards."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from microtarget.aws.secrets import KEY_CACHE_S
from microtarget.campaigns import parse_campaigns
from microtarget.identity import parse_keys

from local.aws import LocalAws
from local.config import CAMPAIGNS
from local.lambda_runtime import LocalFunction
from local.privacy import traces
from local.privacy_calls import PrivacyCalls
from tests.helpers.events import event_dict
from tests.integration.flow import Flow
from tests.integration.test_erasure import known_customer

EXPERIMENT = parse_campaigns(CAMPAIGNS.read_text()).experiments[0]


def rotate(aws: LocalAws) -> None:
    """What the runbook says: the secret becomes {"keys": [old, new]} (a new version of it)."""
    manager, secret = aws.client("secretsmanager"), aws.ref("PseudonymSecret")
    keys = parse_keys(manager.get_secret_value(SecretId=secret)["SecretString"])
    manager.put_secret_value(SecretId=secret, SecretString=json.dumps({"keys": [*keys, secrets.token_hex(32)]}))


@pytest.fixture
def rekey(local_aws: LocalAws, tmp_path) -> LocalFunction:
    return LocalFunction(local_aws, "RekeyFunction", tmp_path / "logs")


def test_a_rotation_moves_every_store_without_splitting_the_customer(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws, rekey: LocalFunction
) -> None:
    name = flow.in_arm(EXPERIMENT, "treatment", "rita")
    known_customer(flow, name, privacy)  # a contact, consent, a cart e-mail, an order, its cross-sell scheduled
    anonymous = [event_dict("product_view", customer="anon-rita", at=flow.now(), minutes=-30, product_id="P5"),
                 event_dict("page_view", customer=name, at=flow.now(), minutes=-29) | {"anonymous_id": "anon-rita"}]  # fmt: skip
    flow.ingest.send_events(anonymous)  # an anonymous visit, then the login that merges it
    flow.ingest.run()
    old, old_anonymous = flow.pid(name), flow.pid("anon-rita")
    assert rekey.invoke({})["moved"] == {}  # one key: nothing to move

    rotate(local_aws)
    flow.clock.advance(seconds=KEY_CACHE_S - 60)
    assert flow.pid(name) == old  # within the cache time the old key still makes the pids
    flow.clock.advance(seconds=60)
    new = flow.pid(name)
    assert new.startswith("c2_") and new == flow.pseudonymizer.forward(old)
    flow.events(("product_view", name, 0, {"product_id": "P9"}))  # the functions use the new key now
    profiles = flow.ingest.profiles()  # ingest carried the customer's profile forward on their first event
    assert profiles[new].orders == 1 and profiles[old].alias_of == new

    summary = rekey.invoke({})
    assert summary["complete"] and summary["key_version"] == 2 and "resume" not in summary
    moved = summary["moved"]
    assert moved["profiles"] == 1 and moved["contacts"] == 1 and moved["consent"] == 1  # the visitor's link
    assert moved["ledger"] >= 2 and moved["lake_objects"] >= 1
    profiles = flow.ingest.profiles()
    customer = profiles[new]
    assert customer.orders == 1 and {v[2] for v in customer.recent_views} >= {"P5", "P9"}
    assert profiles[old].alias_of == new and profiles[flow.pid("anon-rita")].alias_of == new
    assert profiles[old_anonymous].alias_of == old  # the old link: two hops, both resolved

    held = privacy.access(name)[1]  # the customer as the access export sees them: whole
    assert held["pid"] == new and held["contact"]["email"] == f"{name}@example.com"
    assert [c["consents"] for c in held["consent_history"]] == [{"push": False}]
    assert {d["outcome"] for d in held["decisions"]} >= {"sent"} and len(held["conversions"]) == 1
    left = traces(local_aws, [old], skip=["ProfilesTable", "PrivacyTable"])  # aliases and audit keep it
    assert set(left) <= {"RejectedEventsQueue", "TriggerSchedules"}, left  # they expire; erasure finds them
    assert "DataLakeBucket" not in left and "ContactsTable" not in left and "LedgerTable" not in left
    assert rekey.invoke({})["moved"] == {}  # a second run finds nothing left to move

    flow.dispatch.later(days=4)  # the cross-sell scheduled before the rotation fires under the old pid
    cross_sell = [d for d in flow.dispatch.ledger() if d["sk"].startswith("d#") and d.get("trigger") == "cross-sell-3d"]
    assert cross_sell and {d["pid"] for d in cross_sell} == {new}

    status, receipt = privacy.erase(name)  # erasure reaches every version of every id
    assert status == 202 and receipt["pids_under_older_keys"] == 1
    flow.dispatch.later(hours=25)
    privacy.run_job()
    assert privacy.receipt(receipt["erasure_id"])[1]["status"] == "complete"
    ids = [name, "anon-rita", old, new, old_anonymous, flow.pid("anon-rita")]
    assert traces(local_aws, ids, skip=["PrivacyTable", "ProfilesTable"]) == {}
    assert all(p.last_seen is None for p in flow.ingest.profiles().values() if p.pid in ids)


def test_a_wrong_request_is_refused_naming_the_field(rekey: LocalFunction) -> None:
    assert rekey.invoke({"segment": 2, "segments": 2}) == {
        "refused": [{"field": "event", "reason": "Value error, segment 2 is not below segments (2)"}]
    }
    refused = rekey.invoke({"segments": 0, "extra": 1})["refused"]
    assert {p["field"] for p in refused} == {"segments", "extra"}


def test_a_run_out_of_time_says_where_it_was_and_the_next_one_goes_on_from_there(
    flow: Flow, local_aws: LocalAws, rekey: LocalFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local import lambda_runtime

    flow.events(*[("product_view", f"big{i}", 0, {"product_id": "P1"}) for i in range(20)])
    old = {flow.pid(f"big{i}") for i in range(20)}
    rotate(local_aws)
    flow.clock.advance(seconds=KEY_CACHE_S)
    answers, request = [], {}
    for _run in range(10):
        ticks = iter(range(10**6))  # each item a run reads costs 2.5 s of a 60 s run (30 s kept in reserve)
        monkeypatch.setattr(lambda_runtime.LambdaContext, "get_remaining_time_in_millis",
                            lambda _self, t=ticks: 60_000 - 2_500 * next(t))  # fmt: skip
        answer = rekey.invoke(request)
        answers.append(answer)
        if answer["complete"]:
            break
        request = {"resume": answer["resume"]}
    assert answers[-1]["complete"] and len(answers) >= 2  # it took more than one run, and finished
    assert sum(a["moved"].get("profiles", 0) for a in answers) == 20
    profiles = flow.ingest.profiles()
    assert all(profiles[pid].alias_of == flow.pseudonymizer.forward(pid) for pid in old)
    assert {a["resume"]["stage"] for a in answers[:-1]} <= {"profiles", "lake"}


def switch(flow: Flow, aws: LocalAws) -> None:
    """A key added and the cache time passed: the functions make new pids, the job has not run."""
    rotate(aws)
    flow.clock.advance(seconds=KEY_CACHE_S)


def test_what_happens_between_the_switch_and_the_job_is_joined_by_the_job(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws, rekey: LocalFunction
) -> None:
    def visit(anonymous: str, customer: str | None, minutes: float, product: str) -> dict[str, Any]:
        seen = event_dict("product_view", customer=anonymous, at=flow.now(), minutes=minutes, product_id=product)
        return seen | ({"customer_id": customer, "anonymous_id": anonymous} if customer else {})

    flow.ingest.send_events([visit("anon-andy", None, -30, "P5"), visit("anon-andy", "andy", -29, "P6"),  # logged in
                             visit("anon-bea", None, -30, "P5")])  # fmt: skip  # bea only browsed, so far
    flow.ingest.run()
    assert privacy.consent("cora", {"push": False})[0] == 200  # consent only: no ledger item names cora
    switch(flow, local_aws)
    flow.ingest.send_events([visit("anon-andy", None, 0, "P7"),  # andy's device, not logged in
                             visit("anon-bea", "bea", 0, "P8")])  # fmt: skip  # bea logs in now
    flow.ingest.run()
    assert rekey.invoke({})["complete"]
    profiles, pid = flow.ingest.profiles(), flow.pid
    views = lambda name: sorted(v[2] for v in profiles[pid(name)].recent_views)  # noqa: E731
    assert views("andy") == ["P5", "P6", "P7"] and profiles[pid("anon-andy")].alias_of == pid("andy")
    assert views("bea") == ["P5", "P8"] and profiles[pid("anon-bea")].alias_of == pid("bea")
    assert [c["consents"] for c in privacy.access("cora")[1]["consent_history"]] == [{"push": False}]


def test_across_the_switch_no_redelivered_record_counts_twice_and_no_erased_past_comes_back(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws, rekey: LocalFunction
) -> None:
    order = event_dict("purchase", customer="olga", at=flow.now(), minutes=-1, event_id="order-9",
                       items=[{"product_id": "A1", "price": 20.0}], revenue=20.0)  # fmt: skip
    late = event_dict("purchase", customer="erin", at=flow.now(), minutes=-5, event_id="order-7",
                      items=[{"product_id": "A1", "price": 50.0}], revenue=50.0)  # fmt: skip
    flow.ingest.send_events([order, event_dict("page_view", customer="erin", at=flow.now(), minutes=-10)])
    flow.ingest.run()
    assert privacy.erase("erin")[0] == 202
    switch(flow, local_aws)
    flow.ingest.send_events(
        [order, late]
    )  # Kinesis redelivers olga's order; erin's, from before her erasure, arrives late
    flow.ingest.run()
    rekey.invoke({})
    profiles = flow.ingest.profiles()
    assert profiles[flow.pid("olga")].orders == 1
    erin = profiles[flow.pid("erin")]
    assert erin.orders == 0 and erin.last_seen is None and erin.erased_before


def test_an_erasure_between_the_switch_and_the_job_reaches_every_version_of_every_id(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws, rekey: LocalFunction
) -> None:
    flow.customer("erik")
    flow.ingest.send_events([
        event_dict("product_view", customer="anon-erik", at=flow.now(), minutes=-30, product_id="P5"),
        event_dict("page_view", customer="erik", at=flow.now(), minutes=-29) | {"anonymous_id": "anon-erik"},
    ])  # fmt: skip
    flow.ingest.run()
    before = [flow.pid("erik"), flow.pid("anon-erik")]
    switch(flow, local_aws)
    status, receipt = privacy.erase("erik")
    assert status == 202 and receipt["pids_under_older_keys"] == 1 and receipt["anonymous_ids_merged"] == 1
    rekey.invoke({})
    flow.dispatch.later(hours=25)
    privacy.run_job()
    assert privacy.receipt(receipt["erasure_id"])[1]["status"] == "complete"
    ids = ["erik", "anon-erik", *before, flow.pid("erik"), flow.pid("anon-erik")]
    assert traces(local_aws, ids, skip=["PrivacyTable", "ProfilesTable"]) == {}
    left = [p for p in flow.ingest.profiles().values() if p.pid in ids]
    assert left and all(p.last_seen is None and p.alias_of is None for p in left)  # tombstones: pid and moment


def test_a_run_that_crashes_between_writing_the_new_item_and_deleting_the_old_is_finished_by_the_next(
    flow: Flow, local_aws: LocalAws, rekey: LocalFunction, monkeypatch: pytest.MonkeyPatch
) -> None:
    from microtarget.aws.contacts import ContactBook
    from microtarget.aws.ledger import Ledger

    name = flow.customer("cruz")
    flow.events(("add_to_cart", name, 0, {"product_id": "P1", "price": 30.0}))
    flow.dispatch.later(minutes=16)  # a cart e-mail: ledger items
    old = flow.pid(name)
    switch(flow, local_aws)
    for cls, method in ((ContactBook, "erase"), (Ledger, "_delete_batch")):
        real = getattr(cls, method)
        monkeypatch.setattr(cls, method, lambda *_a, **_k: (_ for _ in ()).throw(RuntimeError("crashed")))
        with pytest.raises(RuntimeError, match="crashed"):
            rekey.invoke({})  # the new item is written, the old one not yet deleted
        monkeypatch.setattr(cls, method, real)
    assert rekey.invoke({})["complete"]
    new = flow.pid(name)
    assert flow.contacts.get(new) is not None and flow.contacts.get(old) is None
    ledger = flow.dispatch.ledger()
    assert {i["pid"] for i in ledger if i["pid"] in (old, new)} == {new}
    assert len([i for i in ledger if i["pid"] == new and i["sk"].startswith("d#")]) == 1  # moved once, not twice
    assert rekey.invoke({})["moved"] == {}
