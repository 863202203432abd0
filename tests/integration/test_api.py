"""Every endpoint through the local HTTP adapter, the ApiFunction handler and moto."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import Api


def test_offers_for_a_known_customer_come_with_scores_and_reasons(api: Api) -> None:
    status, body = api.call("GET", f"/customers/{api.customers[0]}/offers?channel=email&limit=2")
    assert status == 200 and not body["cold_start"] and body["fallback"] == []
    assert set(body["model_versions"]) == {"propensity", "churn", "segments"}
    assert 0 <= body["scores"]["propensity"] <= 1 and body["scores"]["segment"]
    assert len(body["offers"]) <= 2 and set(body["suppressed"]) | {o["offer_id"] for o in body["offers"]} == {
        "cart-recovery",
        "repeat-view-nudge",
        "win-back",
        "vip-early-access",
        "welcome",
        "cross-sell",
    }
    assert body["suppressed"]["cross-sell"] == "sent only by its trigger"
    assert api.customers[0] not in json.dumps(body)  # only the pseudonymized id comes back


def test_unknown_visitor_gets_a_flagged_cold_start_decision(api: Api) -> None:
    status, body = api.call("GET", "/customers/never-seen-before/offers?channel=web")
    assert status == 200 and body["cold_start"] and [o["offer_id"] for o in body["offers"]] == ["welcome"]


def test_batch_decisions_and_the_100_customer_limit(api: Api) -> None:
    status, body = api.call("POST", "/decisions", {"customers": [{"customer_id": c} for c in api.customers]})
    assert status == 200 and len(body["decisions"]) == len(api.customers)
    status, body = api.call("POST", "/decisions", {"customers": [{"customer_id": f"c{i}"} for i in range(101)]})
    assert status == 422 and body["detail"][0]["loc"][:2] == ["body", "customers"]


def test_server_side_events_are_validated_and_put_on_the_stream(api: Api) -> None:
    good = {
        "event_id": "srv-1",
        "event_type": "page_view",
        "occurred_at": "2026-11-20T10:00:00Z",
        "customer_id": "C-srv",
    }
    status, body = api.call("POST", "/events", {"events": [good, {**good, "event_type": "teleport"}]})
    assert status == 200 and body["accepted"] == 1
    assert body["rejected"] == [
        {"index": 1, "code": "unknown_event_type", "field": "event_type", "message": body["rejected"][0]["message"]}
    ]
    kinesis, stream = api.aws.client("kinesis"), api.aws.ref("EventsStream")
    found = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )
        found += [
            json.loads(r["Data"]) for r in kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        ]
    assert [e["event_id"] for e in found] == ["srv-1"]


def test_models_endpoint_shows_the_promoted_versions(api: Api) -> None:
    status, body = api.call("GET", "/models")
    assert status == 200 and body["environment"] == "dev" and body["campaigns_version"]
    assert all(model["status"] == "live" and model["version"] for model in body["models"].values())
    assert body["models"]["propensity"]["metrics"]["test"]["roc_auc"] > 0.5


def test_errors_are_json_naming_the_field_and_a_key_is_required(api: Api) -> None:
    status, body = api.call("GET", "/customers/x/offers?channel=fax")
    assert status == 422 and body["detail"][0]["loc"] == ["query", "channel"]
    assert api.call("GET", "/models", key=None)[0] == 403
    assert api.call("GET", "/models", key="wrong")[0] == 403


def test_committed_openapi_document_matches_the_api(api: Api) -> None:
    status, served = api.call("GET", "/openapi.json")
    committed = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
    assert status == 200 and served == committed, "OpenAPI drifted: run `make openapi` and commit docs/openapi.json"
