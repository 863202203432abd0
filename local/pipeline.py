"""The ingest path on the local AWS: producer → Kinesis → ingest → DynamoDB, plus the archive."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from microtarget.profile import Profile

from local.archive import FirehoseArchive
from local.aws import LocalAws
from local.kinesis_source import KinesisEventSource
from local.lambda_runtime import LocalFunction

PUT_RECORDS_LIMIT = 500


class IngestPipeline:
    def __init__(self, aws: LocalAws, log_dir: Path | None = None) -> None:
        self.aws = aws
        self.ingest = LocalFunction(aws, "IngestFunction", log_dir)
        self.source = KinesisEventSource(aws, self.ingest)
        self.archive = FirehoseArchive(aws, log_dir=log_dir)
        self.kinesis = aws.client("kinesis")
        self.stream = aws.ref("EventsStream")
        self.sent = 0

    def send_events(self, events: Iterable[dict[str, Any]], progress: Callable[[int], None] | None = None) -> int:
        return self.send_records(
            ((json.dumps(e).encode(), e.get("customer_id", "anonymous")) for e in events), progress
        )

    def send_records(self, records: Iterable[tuple[bytes, str]], progress: Callable[[int], None] | None = None) -> int:
        """PutRecords in chunks of 500 (partition key = customer id); retries throttled entries."""
        chunk: list[dict[str, Any]] = []
        count = 0
        for data, key in records:
            chunk.append({"Data": data, "PartitionKey": key})
            if len(chunk) == PUT_RECORDS_LIMIT:
                count += self._put(chunk)
                chunk = []
                if progress:
                    progress(count)
        if chunk:
            count += self._put(chunk)
            if progress:
                progress(count)
        self.sent += count
        return count

    def _put(self, chunk: list[dict[str, Any]]) -> int:
        pending = chunk
        for _attempt in range(5):
            reply = self.kinesis.put_records(StreamName=self.stream, Records=pending)
            if not reply.get("FailedRecordCount"):
                return len(chunk)
            pending = [rec for rec, res in zip(pending, reply["Records"], strict=True) if "ErrorCode" in res]
        raise RuntimeError(f"{len(pending)} records could not be put on the stream")

    def run(self, progress: Callable[[int], None] | None = None) -> int:
        """Deliver everything on the stream to ingest, then let the archive catch up."""
        delivered = self.source.drain(progress)
        self.archive.flush()
        return delivered

    # ------------------------------------------------------------------ what landed
    def profiles(self) -> dict[str, Profile]:
        return {item["pid"]: Profile.from_item(item) for item in self.aws.scan("ProfilesTable")}

    def rejected(self) -> list[dict[str, Any]]:
        """Drain the rejected-events queue (each message: reason, source, the record itself)."""
        return _drain_queue(self.aws.client("sqs"), self.aws.ref("RejectedEventsQueue"))

    def batch_logs(self) -> list[dict[str, Any]]:
        """The ingest function's 'batch committed' log lines (what CloudWatch would show)."""
        lines = []
        for line in self.ingest.log_path.read_text(encoding="utf-8").splitlines():
            if line.startswith("{") and '"batch committed"' in line:
                lines.append(json.loads(line))
        return lines


def _drain_queue(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)
        batch = reply.get("Messages", [])
        if not batch:
            return messages
        messages += [json.loads(message["Body"]) for message in batch]
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)
