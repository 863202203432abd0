"""GET /v1/experiments/{id}/results: the newest results `python -m training results` published."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3

from tests.integration.conftest import Api
from training.results_cmd import compute, finite
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
