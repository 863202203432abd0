"""GET /v1/experiments/{id}/results: the newest results `python -m training results` published."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3

from local.aws import LocalAws
from tests.integration.conftest import Api
from training.results_cmd import compute, finite, scan_ledger
from training.synthetic_ledger import Planted, ledger_items

END = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


def test_the_api_serves_the_published_results_and_says_when_there_are_none(api: Api) -> None:
    (document,) = compute(ledger_items(2_000, END, Planted(experiment="spring-test")), None, END)
    s3 = boto3.client("s3", endpoint_url=api.aws.endpoint)
    body = json.dumps(finite(document), default=str).encode()
    s3.put_object(Bucket=api.aws.ref("ModelsBucket"), Key="results/spring-test/latest.json", Body=body)
    status, served = api.call("GET", "/experiments/spring-test/results")
    assert status == 200
    assert served["experiment"] == "spring-test" and served["control"] == "holdout"
    assert [a["customers"] for a in served["arms"]] == [a["customers"] for a in document["arms"]]
    assert served["lifts"][0]["sequential"]["p_value"] == document["lifts"][0]["sequential"]["p_value"]
    assert len(served["series"]) == len(document["series"]) and served["verdicts"] == document["verdicts"]
    status, missing = api.call("GET", "/experiments/autumn-test/results")
    assert status == 404 and "autumn-test" in missing["message"]
    status, refused = api.call("GET", "/experiments/a%20b/results")  # percent-encoded, as API Gateway sends it
    assert status == 422 and refused["detail"][0]["loc"] == ["path", "experiment_id"]
    status, _ = api.call("GET", "/experiments/spring-test/results", key="wrong")
    assert status == 403


def test_the_ledger_scan_keeps_what_per_offer_results_need(local_aws: LocalAws) -> None:
    """The scheduled job reads the table, not the items: the scan must bring each exposure's offer."""
    plan = Planted(
        experiment="two-offers", arms=(("treatment", 0.5), ("holdout", 0.5)), offers=(("a", 0.5), ("b", 0.0))
    )
    items = ledger_items(400, END, plan, seed=2)
    table = boto3.resource("dynamodb").Table(local_aws.ref("LedgerTable"))  # as scan_ledger reaches it
    with table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)
    (scanned,) = compute(scan_ledger(local_aws.ref("LedgerTable")), None, END)
    (direct,) = compute(items, None, END)
    assert {e["offer"] for e in scanned["offers"]} == {"a", "b"}

    def counts(doc: dict) -> list:
        return [(e["offer"], [(a["name"], a["customers"], a["conversions"]) for a in e["arms"]]) for e in doc["offers"]]

    assert counts(scanned) == counts(direct)  # the same customers and conversions per offer and arm
