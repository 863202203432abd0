"""`ops replay`: the ranges ingest gave up on are read back from the stream through the real
handler, once, and their failure messages deleted only when the whole range is applied."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from local.aws import REGION
from local.kinesis_source import KinesisEventSource
from local.pipeline import IngestPipeline
from ops.replay import replay
from tests.helpers.events import NOW, event_dict
from tests.integration.test_kinesis_source import ScriptedFunction, on_failure_messages


def give_up_on_everything(pipeline: IngestPipeline) -> None:
    """An outage longer than MaximumRecordAgeInSeconds: every batch goes to IngestFailureQueue."""

    def down(batch: list[str]) -> Any:
        raise RuntimeError("DynamoDB unavailable")

    outage = ScriptedFunction(pipeline.aws, down, takes=timedelta(hours=2))
    KinesisEventSource(pipeline.aws, outage, clock=outage.clock).drain()  # type: ignore[arg-type]


def profile_items(pipeline: IngestPipeline) -> str:
    return json.dumps({pid: p.to_item() for pid, p in sorted(pipeline.profiles().items())}, sort_keys=True)


def test_replay_applies_the_given_up_ranges_once_and_clears_the_queue(pipeline: IngestPipeline) -> None:
    # Given 30 events whose batches were given up during an outage
    events = [event_dict("product_view", customer=f"R-{i % 6}", at=NOW, minutes=-i) for i in range(30)]
    pipeline.send_events(events)
    give_up_on_everything(pipeline)
    assert pipeline.profiles() == {}
    kinesis, sqs, queue = (
        pipeline.aws.client("kinesis"),
        pipeline.aws.client("sqs"),
        pipeline.aws.ref("IngestFailureQueue"),
    )
    given_up = [
        m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    ]
    # When the operator replays
    report = replay(kinesis, sqs, queue, pipeline.ingest.invoke, REGION, wait_seconds=0)
    # Then every event is applied through the handler, and the queue is empty
    assert (report.records, report.failed, report.expired, report.done) == (30, 0, 0, report.ranges)
    assert sum(sum(b.get("pv", 0) for b in p.days.values()) for p in pipeline.profiles().values()) == 30
    assert on_failure_messages(pipeline.aws) == []
    # and the same range replayed again changes nothing
    before = profile_items(pipeline)
    for body in given_up:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    again = replay(kinesis, sqs, queue, pipeline.ingest.invoke, REGION, wait_seconds=0)
    assert again.records == 30 and profile_items(pipeline) == before


def test_a_range_the_stream_no_longer_holds_is_reported_and_kept(pipeline: IngestPipeline) -> None:
    pipeline.send_events([event_dict("page_view", customer="R-1", at=NOW)])
    give_up_on_everything(pipeline)
    kinesis, sqs, queue = (
        pipeline.aws.client("kinesis"),
        pipeline.aws.client("sqs"),
        pipeline.aws.ref("IngestFailureQueue"),
    )
    [message] = on_failure_messages(pipeline.aws)
    # Given a failure message that counts more records than the stream still has (trimmed by retention)
    info = message["KinesisBatchInfo"] | {"batchSize": 5}
    sqs.purge_queue(QueueUrl=queue)
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"KinesisBatchInfo": info}))
    report = replay(kinesis, sqs, queue, pipeline.ingest.invoke, REGION, wait_seconds=0)
    assert (report.records, report.expired, report.done) == (1, 4, 0)


def test_replay_counts_what_arrived_before_the_late_tolerance(pipeline: IngestPipeline) -> None:
    from datetime import UTC, datetime

    pipeline.send_events([event_dict("page_view", customer=f"R-{i}", at=NOW) for i in range(4)])
    give_up_on_everything(pipeline)
    kinesis, sqs, queue = (
        pipeline.aws.client("kinesis"),
        pipeline.aws.client("sqs"),
        pipeline.aws.ref("IngestFailureQueue"),
    )
    # Given a tolerance that every record's arrival is older than (here: a moment after they arrived)
    later = datetime.now(UTC) + timedelta(minutes=1)
    report = replay(kinesis, sqs, queue, pipeline.ingest.invoke, REGION, tolerance_before=later, wait_seconds=0)
    assert report.beyond_tolerance == 4 and "fold them from the data lake instead" in report.line()
