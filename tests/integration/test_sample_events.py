"""Every sample event in events/ (what `sam local invoke` and `make invoke` use) through its real
handler on the local AWS: the exact response, and what each record became."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.aws import LocalAws
from local.pipeline import IngestPipeline
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
