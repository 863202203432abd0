"""POST /v1/exposures: what a campaign tool did with a decision reaches the ledger, caps and attribution."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import boto3
from microtarget.aws.ledger import Ledger
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.campaigns import parse_campaigns
from microtarget.decisions import assign_arm

from tests.helpers.events import event
from tests.integration.conftest import Api

CATALOG = parse_campaigns((Path(__file__).resolve().parents[2] / "campaigns" / "catalog.yaml").read_text())


def _ledger(api: Api) -> Ledger:
    return Ledger(boto3.resource("dynamodb", endpoint_url=api.aws.endpoint).Table(api.aws.ref("LedgerTable")))


def _visitor(api: Api, arm: str) -> str:
    """A new visitor in that arm of the cart-recovery experiment (10 % held out) under this stack's key."""
    pseudonymize, (experiment, *others) = (
        pseudonymizer_from_secret(api.aws.ref("PseudonymSecret")).pid,
        CATALOG.experiments,
    )
    return next(
        f"{arm}-{i}" for i in range(1000)
        if assign_arm(experiment, pseudonymize(f"{arm}-{i}")) == arm
        and all(assign_arm(other, pseudonymize(f"{arm}-{i}")) == "treatment" for other in others)  # in no other control
    )  # fmt: skip


def _decision(api: Api, customer: str, channel: str = "web") -> dict:
    status, body = api.call("GET", f"/customers/{customer}/offers?channel={channel}")
    assert status == 200
    return body


def test_a_reported_send_counts_toward_caps_once_however_often_it_is_reported(api: Api) -> None:
    customer = "exposure-visitor-1"  # a new visitor: the welcome offer on the web
    decision = _decision(api, customer)
    assert [o["offer_id"] for o in decision["offers"]] == ["welcome"] and decision["decision_id"]
    report = {"customer_id": customer, "decision_id": decision["decision_id"], "channel": "web", "offer_id": "welcome"}
    assert api.call("POST", "/exposures", {"exposures": [report, report]}) == (200, {"recorded": 2, "rejected": []})
    assert api.call("POST", "/exposures", {"exposures": [report]}) == (200, {"recorded": 1, "rejected": []})  # a retry
    items = [i for i in _ledger(api).entries(decision["pid"]) if i["sk"].startswith("d#")]
    assert [(i["outcome"], i["offer_id"], i["source"], i["decision_id"]) for i in items] == [
        ("sent", "welcome", "api", decision["decision_id"])
    ]
    again = _decision(api, customer)
    assert again["offers"] == [] and again["suppressed"]["welcome"] == "offer cap per week reached (1/1)"
    assert again["decision_id"] != decision["decision_id"]


def test_bad_reports_are_rejected_by_index_naming_the_field_and_the_rest_recorded(api: Api) -> None:
    customer = _visitor(api, "treatment")  # so a holdout report for them is wrong
    decision_id = _decision(api, customer)["decision_id"]
    base = {"customer_id": customer, "decision_id": decision_id, "channel": "web", "offer_id": "welcome"}
    reports = [
        base,
        {**base, "offer_id": "free-yacht"},
        {**base, "offer_id": "win-back"},  # e-mail only
        {**base, "offer_id": None},
        {**base, "exposed_at": (api.now() + timedelta(hours=2)).isoformat()},
        {**base, "exposed_at": (api.now() - timedelta(days=400)).isoformat()},
    ]
    status, body = api.call("POST", "/exposures", {"exposures": reports})
    assert status == 200 and body["recorded"] == 1
    assert [(r["index"], r["code"], r["field"]) for r in body["rejected"]] == [
        (1, "unknown_offer", "offer_id"),
        (2, "wrong_channel", "channel"),
        (3, "not_held_out", "offer_id"),
        (4, "in_future", "exposed_at"),
        (5, "before_decision", "exposed_at"),  # a tool cannot have acted before it asked
    ]
    status, body = api.call("POST", "/exposures", {"exposures": [{**base, "exposed_at": "2026-11-20T10:00:00"}]})
    assert status == 422 and body["detail"][0]["loc"][-1] == "exposed_at"  # a time without its zone


def test_a_held_out_customer_is_recorded_as_control_and_the_purchase_is_credited_to_it(api: Api) -> None:
    pseudonymize = pseudonymizer_from_secret(api.aws.ref("PseudonymSecret")).pid
    experiment = CATALOG.experiments[0]
    customer = _visitor(api, "holdout")
    decision_id = _decision(api, customer, "email")["decision_id"]
    when = api.now()
    reports = [
        {"customer_id": customer, "decision_id": decision_id, "channel": "email", "exposed_at": when.isoformat()},
        {"customer_id": customer, "decision_id": decision_id, "channel": "email", "offer_id": "cart-recovery"},
    ]
    status, body = api.call("POST", "/exposures", {"exposures": reports})
    assert status == 200 and body["recorded"] == 1
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [(1, "withheld")]
    ledger, pid = _ledger(api), pseudonymize(customer)
    [holdout] = [item for item in ledger.entries(pid) if item["sk"].startswith("d#")]
    assert json.loads(holdout["detail"])["pre"] == {"orders_90d": 0.0, "revenue_90d": 0.0}  # a new visitor
    purchase = event("purchase", customer=customer, at=when, minutes=30)
    [conversion] = ledger.attribute(pid, [purchase], CATALOG.attribution_days)
    assert (conversion.decision_id, conversion.outcome) == (decision_id, "holdout")
    assert conversion.experiments == {experiment.id: "holdout"} and conversion.revenue_cents == 5000
