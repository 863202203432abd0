"""Key rotation end to end on the local AWS: a key is added to the secret, the running functions
take it up within their cache time, the rekey job moves every store, and the customer is one
customer throughout: the history from before, what came in between, their address, their
sends and consent, a message queued before the rotation, and an erasure afterwards."""

from __future__ import annotations

import json
import secrets

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
    assert flow.ingest.profiles()[new].orders == 0  # apart until the job has run

    summary = rekey.invoke({})
    assert summary["complete"] and summary["key_version"] == 2
    moved = summary["moved"]
    assert moved["profiles"] == 2 and moved["contacts"] == 1 and moved["consent_changes"] == 1  # customer + visitor
    assert moved["ledger_items"] >= 2 and moved["lake_objects"] >= 1
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
