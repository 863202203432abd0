"""Lambda's Kinesis event source mapping, emulated: the settings come from the template.

Per shard: read up to BatchSize records, invoke the handler with the real event shape, and
honour the reply the way Lambda does. batchItemFailures → checkpoint before the lowest
failed sequence number and retry from it; a raised error → bisect the batch when
BisectBatchOnFunctionError is set; after MaximumRetryAttempts, or once its oldest record is
older than MaximumRecordAgeInSeconds (by `clock`) → send the batch's metadata to the OnFailure
destination and move on.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from microtarget.clock import Clock, utc_now

from local.aws import REGION, LocalAws
from local.lambda_runtime import LocalFunction
from ops.kinesis_event import kinesis_event

STUCK_AFTER = 200  # retries of one batch before the emulation stops and says so


class KinesisEventSource:
    def __init__(
        self,
        aws: LocalAws,
        function: LocalFunction,
        event_name: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        events = {name: spec for name, spec in function.spec.get("Events", {}).items() if spec["Type"] == "Kinesis"}
        name = event_name or next(iter(events))
        props = aws.resolver.resolve(events[name]["Properties"])
        self.aws, self.function = aws, function
        self.stream_arn: str = props["Stream"]
        self.stream_name = self.stream_arn.rsplit("/", 1)[-1]
        self.batch_size = int(props.get("BatchSize", 100))
        self.max_retries = int(props.get("MaximumRetryAttempts", -1))
        self.max_age = float(props.get("MaximumRecordAgeInSeconds", -1))
        self.clock = clock
        self.bisect = bool(props.get("BisectBatchOnFunctionError", False))
        self.reports_failures = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self.on_failure_url = _queue_url(aws, destination) if destination else None
        self.kinesis = aws.client("kinesis")
        self.sqs = aws.client("sqs")
        self._iterators: dict[str, str] = {}
        self.stats: Counter[str] = Counter()

    def _shard_iterators(self) -> dict[str, str]:
        if not self._iterators:
            shards = self.kinesis.list_shards(StreamName=self.stream_name)["Shards"]
            for shard in shards:
                self._iterators[shard["ShardId"]] = self.kinesis.get_shard_iterator(
                    StreamName=self.stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        return self._iterators

    def poll_once(self) -> int:
        """One GetRecords round over every shard; returns how many records were delivered."""
        delivered = 0
        for shard_id, iterator in list(self._shard_iterators().items()):
            reply = self.kinesis.get_records(ShardIterator=iterator, Limit=self.batch_size)
            self._iterators[shard_id] = reply["NextShardIterator"]
            if reply["Records"]:
                self._deliver(shard_id, reply["Records"])
                delivered += len(reply["Records"])
        return delivered

    def drain(self, progress: Any = None) -> int:
        """Poll until the stream has nothing new; `progress(total)` is called after each round."""
        total = 0
        while (count := self.poll_once()) > 0:
            total += count
            if progress:
                progress(total)
        return total

    def _deliver(self, shard_id: str, records: list[dict[str, Any]], attempt: int = 0) -> None:
        while records:
            if attempt >= STUCK_AFTER:  # Lambda would go on until the records age out: hours, not a hang here
                raise RuntimeError(f"{shard_id}: the same records failed {attempt} times; see {self.function.log_path}")
            self.stats["invocations"] += 1
            try:
                reply = self.function.invoke(self.event(shard_id, records))
            except Exception:
                self.stats["function_errors"] += 1
                if attempt >= self.max_retries >= 0:
                    self._give_up(shard_id, records, "RetryAttemptsExhausted")
                elif self._expired(records):
                    self._give_up(shard_id, records, "RecordAgeExceeded")
                elif self.bisect and len(records) > 1:
                    middle = len(records) // 2
                    self._deliver(shard_id, records[:middle], attempt + 1)
                    self._deliver(shard_id, records[middle:], attempt + 1)
                else:
                    self._deliver(shard_id, records, attempt + 1)
                return
            failures = (reply or {}).get("batchItemFailures", []) if self.reports_failures else []
            failed = {failure["itemIdentifier"] for failure in failures}
            if not failed:
                return
            self.stats["partial_failures"] += 1
            first = next(i for i, record in enumerate(records) if record["SequenceNumber"] in failed)
            records, attempt = records[first:], attempt + 1
            if attempt > self.max_retries >= 0:
                self._give_up(shard_id, records, "RetryAttemptsExhausted")
                return
            if self._expired(records):
                self._give_up(shard_id, records, "RecordAgeExceeded")
                return

    def _expired(self, records: list[dict[str, Any]]) -> bool:
        if self.max_age < 0:
            return False
        arrival = records[0]["ApproximateArrivalTimestamp"]
        arrival = arrival if isinstance(arrival, datetime) else datetime.fromtimestamp(arrival, UTC)
        return (self.clock() - arrival).total_seconds() > self.max_age

    def _give_up(self, shard_id: str, records: list[dict[str, Any]], condition: str) -> None:
        self.stats["batches_to_on_failure"] += 1
        if self.on_failure_url is None:
            return
        body = {
            "requestContext": {"condition": condition, "functionArn": self.function.logical_id},
            "KinesisBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["SequenceNumber"],
                "endSequenceNumber": records[-1]["SequenceNumber"],
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
            "timestamp": datetime.now(UTC).isoformat(),
        }
        self.sqs.send_message(QueueUrl=self.on_failure_url, MessageBody=json.dumps(body))

    def event(self, shard_id: str, records: list[dict[str, Any]]) -> dict[str, Any]:
        """The Lambda event for these GetRecords records, as AWS builds it."""
        return kinesis_event(self.stream_arn, shard_id, records, REGION)


def _queue_url(aws: LocalAws, arn: str) -> str:
    for logical_id, url in aws.resolver.refs.items():
        if aws.resolver.attributes.get((logical_id, "Arn")) == arn:
            return url
    raise KeyError(f"no local queue has ARN {arn}")
