"""Rejected records, kept whole with their reason: nothing is lost.

Each rejection is one SQS message (JSON). A body over 64 KB is stored in S3 and the message
carries its location (claim check), so even a 1 MB Kinesis record survives; batches are split
by bytes as well as count, since SQS refuses a batch over 256 KB in total.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from microtarget.errors import PermanentError, RetryableError

SQS_BATCH = 10
SQS_BATCH_BYTES = 256 * 1024
MAX_INLINE_BYTES = 64 * 1024


@dataclass(slots=True, frozen=True)
class Rejection:
    reason: PermanentError
    data: bytes
    source: dict[str, str]  # sequence_number, shard/event source, arrival time: never the partition key

    def message(self, rejected_at: datetime) -> dict[str, Any]:
        return {
            "reason": self.reason.as_reason(),
            "source": self.source,
            "rejected_at": rejected_at.isoformat(),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "data_base64": base64.b64encode(self.data).decode(),
        }


class DeadLetterSink(Protocol):
    def send(self, rejections: list[Rejection]) -> None: ...


class ListDeadLetters:
    """In-memory sink for unit tests and the benchmark."""

    def __init__(self) -> None:
        self.rejections: list[Rejection] = []

    def send(self, rejections: list[Rejection]) -> None:
        self.rejections.extend(rejections)


class SqsDeadLetters:
    def __init__(self, sqs: Any, queue_url: str, s3: Any = None, overflow_bucket: str = "") -> None:
        """Without an overflow bucket (dispatch: its messages are SQS messages already) a body
        too large to inline is a RetryableError rather than a lost record."""
        self._sqs, self._queue_url = sqs, queue_url
        self._s3, self._bucket = s3, overflow_bucket

    def send(self, rejections: list[Rejection]) -> None:
        now = datetime.now(UTC)
        bodies = [self._body(rejection, now) for rejection in rejections]
        try:
            for chunk in _batches(bodies):
                entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(chunk)]
                reply = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
                if reply.get("Failed"):
                    raise RetryableError(f"dead-letter queue refused {len(reply['Failed'])} messages")
        except (ClientError, BotoCoreError) as exc:
            raise RetryableError(f"dead-letter queue unavailable: {exc}") from exc

    def _body(self, rejection: Rejection, now: datetime) -> str:
        message = rejection.message(now)
        body = json.dumps(message)
        if len(body) <= (MAX_INLINE_BYTES if self._s3 is not None else SQS_BATCH_BYTES):
            return body
        if self._s3 is None:
            raise RetryableError(
                f"a {len(body):,}-byte rejection does not fit the queue and there is no overflow bucket"
            )
        key = f"rejected/{now:%Y/%m/%d}/{message['sha256']}.bin"
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=rejection.data, ServerSideEncryption="AES256")
        except (ClientError, BotoCoreError) as exc:
            raise RetryableError(f"storing an oversized rejected record failed: {exc}") from exc
        message.pop("data_base64")
        message["data_s3"] = f"s3://{self._bucket}/{key}"
        return json.dumps(message)


def _batches(bodies: list[str]) -> list[list[str]]:
    """Consecutive batches within SQS's count and total-size limits (a body is at most 256 KB)."""
    batches: list[list[str]] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if not batches or len(batches[-1]) == SQS_BATCH or size + length > SQS_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(body)
        size += length
    return batches
