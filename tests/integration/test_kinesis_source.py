"""The local event source honours batchItemFailures, retries, bisection and OnFailure as Lambda does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from local.aws import LocalAws
from local.kinesis_source import KinesisEventSource


class ScriptedFunction:
    """Stands in for the handler: records what it was given, answers from a script."""

    logical_id = "IngestFunction"

    def __init__(self, aws: LocalAws, answer: Any, takes: timedelta = timedelta(seconds=1)) -> None:
        self.spec = aws.template["Resources"]["IngestFunction"]["Properties"]
        self.answer = answer
        self.batches: list[list[str]] = []
        self.now, self.takes = datetime.now(UTC), takes  # each invocation moves the clock on by `takes`

    def clock(self) -> datetime:
        return self.now

    def invoke(self, event: dict[str, Any]) -> Any:
        sequence_numbers = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
        self.batches.append(sequence_numbers)
        self.now += self.takes
        return self.answer(sequence_numbers)


def source_for(aws: LocalAws, function: ScriptedFunction) -> KinesisEventSource:
    return KinesisEventSource(aws, function, clock=function.clock)  # type: ignore[arg-type]


def put(aws: LocalAws, count: int) -> None:
    records = [{"Data": json.dumps({"n": i}).encode(), "PartitionKey": "same-shard"} for i in range(count)]
    aws.client("kinesis").put_records(StreamName=aws.ref("EventsStream"), Records=records)


def on_failure_messages(aws: LocalAws) -> list[dict[str, Any]]:
    reply = aws.client("sqs").receive_message(QueueUrl=aws.ref("IngestFailureQueue"), MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in reply.get("Messages", [])]


def test_partial_failure_is_retried_from_the_failed_sequence_number(local_aws: LocalAws) -> None:
    put(local_aws, 6)

    def answer(batch: list[str]) -> dict[str, Any]:
        if len(batch) == 6:  # the fourth record fails the first time
            return {"batchItemFailures": [{"itemIdentifier": batch[3]}]}
        return {"batchItemFailures": []}

    function = ScriptedFunction(local_aws, answer)
    KinesisEventSource(local_aws, function).drain()  # type: ignore[arg-type]
    first, retry = function.batches
    assert retry == first[3:]


def test_batch_goes_to_on_failure_destination_once_its_records_are_older_than_the_maximum_age(
    local_aws: LocalAws,
) -> None:
    put(local_aws, 3)
    failing = lambda batch: {"batchItemFailures": [{"itemIdentifier": batch[0]}]}  # noqa: E731
    function = ScriptedFunction(local_aws, failing, takes=timedelta(hours=1))
    source = source_for(local_aws, function)
    source.drain()
    assert source.max_retries == -1 and source.max_age == 6 * 3600  # retried until too old, never counted out
    assert len(function.batches) == 6  # an hour each: the sixth leaves them over 6 h old
    [message] = on_failure_messages(local_aws)
    assert message["requestContext"]["condition"] == "RecordAgeExceeded"
    assert message["KinesisBatchInfo"]["batchSize"] == 3


def test_a_one_minute_outage_skips_no_batch(local_aws: LocalAws) -> None:
    # Given a dependency down for the first minute: every invocation fails, each taking 2 s
    put(local_aws, 5)
    started = datetime.now(UTC)

    def answer(batch: list[str]) -> dict[str, Any]:
        if function.now - started < timedelta(minutes=1):
            raise RuntimeError("DynamoDB unavailable")
        return {"batchItemFailures": []}

    function = ScriptedFunction(local_aws, answer, takes=timedelta(seconds=2))
    function.now = started
    source = source_for(local_aws, function)
    source.drain()
    # Then the records are delivered once it is back, and nothing went to the failure destination
    assert source.stats["function_errors"] >= 29 and on_failure_messages(local_aws) == []
    assert sorted({n for batch in function.batches[-5:] for n in batch}) == sorted(function.batches[0])


def test_function_error_bisects_the_batch(local_aws: LocalAws) -> None:
    put(local_aws, 4)
    poison: list[str] = []

    def answer(batch: list[str]) -> dict[str, Any]:
        if not poison:
            poison.append(batch[-1])
        if poison[0] in batch:
            raise RuntimeError("poison record")
        return {"batchItemFailures": []}

    function = ScriptedFunction(local_aws, answer, takes=timedelta(minutes=30))
    source = source_for(local_aws, function)
    source.drain()
    assert [len(batch) for batch in function.batches[:3]] == [4, 2, 2]
    assert source.stats["batches_to_on_failure"] == 1
    assert on_failure_messages(local_aws)[0]["KinesisBatchInfo"]["batchSize"] == 1
