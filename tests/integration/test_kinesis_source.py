"""The local event source honours batchItemFailures, retries, bisection and OnFailure as Lambda does."""

from __future__ import annotations

import json
from typing import Any

from local.aws import LocalAws
from local.kinesis_source import KinesisEventSource


class ScriptedFunction:
    """Stands in for the handler: records what it was given, answers from a script."""

    logical_id = "IngestFunction"

    def __init__(self, aws: LocalAws, answer: Any) -> None:
        self.spec = aws.template["Resources"]["IngestFunction"]["Properties"]
        self.answer = answer
        self.batches: list[list[str]] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        sequence_numbers = [record["kinesis"]["sequenceNumber"] for record in event["Records"]]
        self.batches.append(sequence_numbers)
        return self.answer(sequence_numbers)


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


def test_batch_goes_to_on_failure_destination_after_maximum_retries(local_aws: LocalAws) -> None:
    put(local_aws, 3)
    function = ScriptedFunction(local_aws, lambda batch: {"batchItemFailures": [{"itemIdentifier": batch[0]}]})
    source = KinesisEventSource(local_aws, function)  # type: ignore[arg-type]
    source.drain()
    assert len(function.batches) == 1 + source.max_retries
    [message] = on_failure_messages(local_aws)
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["KinesisBatchInfo"]["batchSize"] == 3


def test_function_error_bisects_the_batch(local_aws: LocalAws) -> None:
    put(local_aws, 4)
    poison: list[str] = []

    def answer(batch: list[str]) -> dict[str, Any]:
        if not poison:
            poison.append(batch[-1])
        if poison[0] in batch:
            raise RuntimeError("poison record")
        return {"batchItemFailures": []}

    function = ScriptedFunction(local_aws, answer)
    source = KinesisEventSource(local_aws, function)  # type: ignore[arg-type]
    source.drain()
    assert [len(batch) for batch in function.batches[:3]] == [4, 2, 2]
    assert source.stats["batches_to_on_failure"] == 1
    assert on_failure_messages(local_aws)[0]["KinesisBatchInfo"]["batchSize"] == 1
