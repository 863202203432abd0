"""Rejected records, kept whole with their reason and whose they are (the pid): nothing is lost.

Each rejection is one SQS message (JSON). A body over 64 KB is stored in S3 and the message
carries its location (claim check), so even a 1 MB Kinesis record survives; batches are split
by bytes as well as count, since SQS refuses a batch over 256 KB in total. Ingest's queue and
those S3 objects are sealed with the dead-letters KMS key (a refused record may hold a raw
customer id): readable by operators holding DeadLetterOperatorPolicy and by the erasure job.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from microtarget.aws.calls import call_aws
from microtarget.batching import bounded_batches
from microtarget.clock import Clock, utc_now
from microtarget.errors import RetryableError
from microtarget.ports import Rejection

SQS_BATCH = 10
SQS_BATCH_BYTES = 256 * 1024
MAX_INLINE_BYTES = 64 * 1024


class SqsDeadLetters:
    def __init__(
        self, sqs: Any, queue_url: str, s3: Any = None, overflow_bucket: str = "", index: RejectionIndex | None = None,
        clock: Clock = utc_now, key_id: str = "",
    ) -> None:  # fmt: skip
        """Without an overflow bucket (dispatch: its messages are SQS messages already) a body
        too large to inline is a RetryableError rather than a lost record. With an index, a
        record rejected before (a replayed batch) is not sent again."""
        self._sqs, self._queue_url = sqs, queue_url
        self._s3, self._bucket = s3, overflow_bucket
        self._index, self._clock = index, clock
        self._sealing = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id} if key_id else {"ServerSideEncryption": "AES256"}
        )

    def send(self, rejections: list[Rejection]) -> int:
        now = self._clock()
        if self._index is None:
            self._send([self._body(rejection, now) for rejection in rejections])
            return 0
        unique = {rejection.key(): rejection for rejection in rejections}
        known = self._index.known(list(unique))
        fresh = {key: rejection for key, rejection in unique.items() if key not in known}
        self._send([self._body(rejection, now) for rejection in fresh.values()])
        if fresh:  # after the send: a crash in between sends one again, never loses one
            self._index.add(list(fresh), now)
        return len(rejections) - len(fresh)

    def _send(self, bodies: list[str]) -> None:
        try:
            for chunk in bounded_batches(bodies, SQS_BATCH, SQS_BATCH_BYTES, lambda body: len(body.encode())):
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
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=rejection.data, **self._sealing)
        except (ClientError, BotoCoreError) as exc:
            raise RetryableError(f"storing an oversized rejected record failed: {exc}") from exc
        message.pop("data_base64")
        message["data_s3"] = f"s3://{self._bucket}/{key}"
        return json.dumps(message)


class RejectionIndex:
    """Which records were dead-lettered already, as items `rejected#<sha256>` of a DynamoDB table
    with a TTL (the idempotency table): kept as long as the queue keeps messages."""

    def __init__(self, table: Any, keep_seconds: int = 14 * 86_400) -> None:
        self._table, self._keep = table, keep_seconds

    def known(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 100):
            request = {self._table.name: {"Keys": [{"id": k} for k in keys[start : start + 100]]}}
            while request:
                reply = call_aws("dead-letter index", self._table.meta.client.batch_get_item, RequestItems=request)
                found.update(item["id"] for item in reply["Responses"].get(self._table.name, []))
                request = reply.get("UnprocessedKeys") or {}
        return found

    def add(self, keys: list[str], now: datetime) -> None:
        call_aws("dead-letter index", self._write, keys=keys, expiration=int(now.timestamp()) + self._keep)

    def _write(self, keys: list[str], expiration: int) -> None:
        with self._table.batch_writer() as batch:  # 25 items a request, unprocessed ones resent
            for key in keys:
                batch.put_item(Item={"id": key, "expiration": expiration})
