"""Every sample event in events/ (what `sam local invoke` and `make invoke` use) through its real
handler on the local AWS: the exact response, and what each record became."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.aws import LocalAws
from local.clock import LocalClock
from local.config import upload_config
from local.lambda_runtime import LocalFunction
from local.pipeline import IngestPipeline
from tests.helpers.events import NOW
from tests.integration.flow import Flow, flow_of

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


@pytest.mark.parametrize(
    ("name", "accepted", "rejected"),
    [
        ("kinesis-repeat-views.json", 5, []),
        ("kinesis-purchase.json", 2, []),
        ("kinesis-mixed-bad-records.json", 1, ["invalid_field", "invalid_json", "missing_field", "unknown_event_type"]),
    ],
)
def test_each_kinesis_sample_through_the_ingest_handler(
    pipeline: IngestPipeline, name: str, accepted: int, rejected: list[str]
) -> None:
    reply = pipeline.ingest.invoke(load(name))
    assert reply == {"batchItemFailures": []}
    [line] = pipeline.batch_logs()
    assert (line["accepted"], line["failed_records"]) == (accepted, 0)
    assert sorted(m["reason"]["code"] for m in pipeline.rejected()) == rejected


@pytest.fixture
def flow(local_aws: LocalAws, tmp_path: Path) -> Iterator[Flow]:
    yield from flow_of(local_aws, tmp_path / "logs")


def test_the_sqs_sample_through_the_dispatch_handler(flow: Flow) -> None:
    reply = flow.dispatch.function.invoke(load("sqs-due-triggers.json"))
    assert reply == {"batchItemFailures": []}  # a malformed message is dead-lettered, never retried
    [dead] = flow.dispatch.dead_letters()
    assert (dead["reason"]["code"], dead["reason"]["field"]) == ("invalid_message", "trigger_id")
    [decision] = [i for i in flow.dispatch.ledger() if i["sk"].startswith("d#")]
    assert (decision["outcome"], decision["code"]) == ("cancelled", "no_profile")


@pytest.fixture
def api(local_aws: LocalAws, tmp_path: Path) -> Iterator[LocalFunction]:
    """The api function on a stack with the shipped campaigns and no models (rules only), at NOW."""
    upload_config(local_aws)
    clock = LocalClock(start=NOW).install()
    try:
        yield LocalFunction(local_aws, "ApiFunction", tmp_path / "logs")
    finally:
        clock.uninstall()


def answer(function: LocalFunction, name: str) -> tuple[int, Any]:
    reply = function.invoke(load(name))
    return reply["statusCode"], json.loads(reply["body"]) if reply.get("body") else None


def test_the_privacy_sample_through_the_privacy_handler(local_aws: LocalAws, tmp_path: Path) -> None:
    function = LocalFunction(local_aws, "PrivacyFunction", tmp_path / "logs")
    assert answer(function, "privacy-put-contact.json") == (204, None)
    [audit] = [i for i in local_aws.scan("PrivacyTable") if i["id"].startswith("audit#")]
    assert (audit["action"], audit["who"]) == (
        "contact_put",
        "arn:aws:sts::123456789012:assumed-role/signup-backend/session",
    )


def test_the_api_samples_through_the_api_handler(api: LocalFunction) -> None:
    status, body = answer(api, "api-customer-offers.json")  # an unknown visitor on a product page
    assert status == 200 and body["pid"].startswith("c_") and "C-1042" not in json.dumps(body)
    assert [o["offer_id"] for o in body["offers"]] == ["welcome"] and body["context"]["product_id"] == "P00007"
    assert body["fallback"] and abs(datetime.fromisoformat(body["decided_at"]) - NOW) < timedelta(minutes=1)
    status, body = answer(api, "api-decisions.json")
    assert status == 200 and [d["channel"] for d in body["decisions"]] == ["email", "web"]
    status, body = answer(api, "api-invalid-decisions.json")
    assert status == 422
    assert {(tuple(d["loc"]), d["type"]) for d in body["detail"]} == {
        (("body", "customers"), "too_short"),
        (("body", "limit"), "value_error"),  # "3" is text, not the integer the document asks for
    }


def test_the_firehose_sample_through_the_archive_handler(pipeline: IngestPipeline) -> None:
    import base64

    from microtarget.aws.secrets import pseudonymizer_from_secret

    sample = load("firehose-archive.json")
    reply = pipeline.archive.transform.invoke(sample)
    ids = [r["recordId"] for r in sample["records"]]
    assert [(r["recordId"], r["result"]) for r in reply["records"]] == list(
        zip(ids, ["Dropped", "Dropped", "Dropped", "Dropped", "Ok"], strict=True)
    )
    kept = json.loads(base64.b64decode(reply["records"][-1]["data"]))
    original = json.loads(base64.b64decode(sample["records"][-1]["data"]))
    pid = pseudonymizer_from_secret(pipeline.aws.ref("PseudonymSecret")).pid(original["customer_id"])
    assert kept == original | {"customer_id": pid}
