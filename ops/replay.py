"""Re-read what ingest gave up on from the stream, through the ingest function itself.

When a batch's records grow older than MaximumRecordAgeInSeconds while a dependency is down,
Lambda sends only the batch's coordinates (shard, first and last sequence number) to
IngestFailureQueue. While the stream still holds those records (7 days), `replay` reads each
range back and hands it to the ingest handler in the event shape Lambda uses: ingest is
idempotent, so a range partly applied before, or replayed twice, changes nothing twice. A
message is deleted only once its whole range was delivered without a failure; records the
stream no longer holds are counted as expired (the data lake archive still has them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from microtarget.batching import bounded_batches

from ops.kinesis_event import kinesis_event

MAX_INVOKE_BYTES = 5 * 1024 * 1024  # Lambda's synchronous payload limit is 6 MB
Deliver = Callable[[dict[str, Any]], dict[str, Any] | None]


@dataclass
class ReplayReport:
    ranges: int = 0
    records: int = 0  # read back from the stream and delivered
    failed: int = 0  # the handler reported them failed again: their message stays for the next run
    expired: int = 0  # no longer in the stream
    beyond_tolerance: int = 0  # arrived longer ago than ingest's late tolerance: may be dead-lettered late
    done: int = 0  # messages deleted: their range is fully delivered

    def line(self) -> str:
        late = (
            f"; {self.beyond_tolerance} arrived before the late tolerance: ingest dead-letters those as "
            "late_event where the customer has newer events (fold them from the data lake instead, see the runbook)"
            if self.beyond_tolerance
            else ""
        )
        return (
            f"{self.ranges} failed range(s): {self.records} records replayed, {self.failed} failed again, "
            f"{self.expired} past the stream's retention; {self.done} range(s) done{late}"
        )


def replay(
    kinesis: Any,
    sqs: Any,
    queue_url: str,
    deliver: Deliver,
    region: str,
    tolerance_before: datetime | None = None,
    wait_seconds: int = 10,
) -> ReplayReport:
    """`tolerance_before`: records that arrived earlier are counted as beyond the late tolerance.
    `wait_seconds`: long polling, since a short poll may answer empty while the queue holds messages."""
    report = ReplayReport()
    seen: set[str] = set()
    while True:
        reply = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=900, WaitTimeSeconds=wait_seconds
        )
        messages = [m for m in reply.get("Messages", []) if m["MessageId"] not in seen]
        if not messages:
            return report
        for message in messages:
            seen.add(message["MessageId"])
            info = json.loads(message["Body"])["KinesisBatchInfo"]
            if _replay_range(kinesis, info, deliver, region, report, tolerance_before):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                report.done += 1


def _replay_range(
    kinesis: Any, info: dict[str, Any], deliver: Deliver, region: str, report: ReplayReport, before: datetime | None
) -> bool:
    report.ranges += 1
    records = list(read_range(kinesis, info))
    if before is not None:
        report.beyond_tolerance += sum(_arrival(r) < before for r in records)
    missing = int(info.get("batchSize", len(records))) - len(records)
    report.expired += max(0, missing)
    clean = missing <= 0
    for chunk in bounded_batches(records, 500, MAX_INVOKE_BYTES, lambda r: len(r["Data"]) * 4 // 3 + 512):  # base64
        reply = deliver(kinesis_event(info["streamArn"], info["shardId"], chunk, region)) or {}
        failed = len(reply.get("batchItemFailures", [])) if "batchItemFailures" in reply else 0
        if reply.get("errorMessage"):
            failed = len(chunk)
        report.records += len(chunk) - failed
        report.failed += failed
        clean = clean and failed == 0
    return clean


def _arrival(record: dict[str, Any]) -> datetime:
    arrival = record["ApproximateArrivalTimestamp"]
    return arrival if isinstance(arrival, datetime) else datetime.fromtimestamp(float(arrival), UTC)


def read_range(kinesis: Any, info: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The records of one shard from startSequenceNumber to endSequenceNumber, as GetRecords gives them."""
    first, last = int(info["startSequenceNumber"]), int(info["endSequenceNumber"])
    try:
        iterator = kinesis.get_shard_iterator(
            StreamName=info["streamArn"].rsplit("/", 1)[-1],
            ShardId=info["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=info["startSequenceNumber"],
        )["ShardIterator"]
    except ClientError:  # trimmed past retention, or the shard is gone
        return
    while iterator:
        reply = kinesis.get_records(ShardIterator=iterator, Limit=1000)
        for record in reply["Records"]:
            number = int(record["SequenceNumber"])
            if number > last:
                return
            if number >= first:
                yield record
        if not reply["Records"] and not reply.get("MillisBehindLatest"):
            return
        iterator = reply.get("NextShardIterator")
