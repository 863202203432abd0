"""The stores an erasure must search, cleared by the erasure job for every open erasure at once:
the dead-letter queues (and the oversized records they point to in S3), the data lake and the
per-customer outputs kept beside it (scores, audiences).

S3 objects are versioned: a version naming an erased pid is deleted (the current one first
replaced by a copy without those lines), so no older version keeps what the rewrite removed.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from microtarget.aws.calls import call_aws
from microtarget.erasure import without_lines

RECEIVE_VISIBILITY_S = 300


class ErasureSweep:
    def __init__(self, s3: Any, bucket: str, sqs: Any, queue_urls: list[str]) -> None:
        self._s3, self._bucket, self._sqs, self._queues = s3, bucket, sqs, queue_urls

    def dead_letters(self, pids: Collection[str]) -> Counter[str]:
        """Delete the dead letters of these customers; every other message is released at once."""
        removed: Counter[str] = Counter()
        for url in self._queues:
            held: list[dict[str, Any]] = []
            while batch := self._receive(url):
                for message in batch:
                    body = _json(message["Body"])
                    if body.get("pid") in pids:
                        if isinstance(body.get("data_s3"), str):
                            self._delete_every_version(body["data_s3"].split("/", 3)[3])
                        call_aws("dead letters", self._sqs.delete_message, QueueUrl=url,
                                 ReceiptHandle=message["ReceiptHandle"])  # fmt: skip
                        removed[body["pid"]] += 1
                    else:
                        held.append(message)
            for start in range(0, len(held), 10):  # visible again for the operator
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                           for i, m in enumerate(held[start : start + 10])]  # fmt: skip
                call_aws("dead letters", self._sqs.change_message_visibility_batch, QueueUrl=url, Entries=entries)
        return removed

    def _receive(self, url: str) -> list[dict[str, Any]]:
        """Long polling (it asks every SQS server: a short poll may answer nothing while messages
        wait), twice before taking an empty answer as the end of the queue."""
        for _attempt in range(2):
            reply = call_aws("dead letters", self._sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=10,
                             VisibilityTimeout=RECEIVE_VISIBILITY_S, WaitTimeSeconds=1)  # fmt: skip
            if reply.get("Messages"):
                return list(reply["Messages"])
        return []

    def rewrite(
        self, prefix: str, pids: Collection[str], owner: Callable[[bytes], str | None] | None = None
    ) -> Counter[str]:
        """Drop the lines naming these pids (or whose `owner` is one) from every version of every
        object under `prefix`; how many lines went per pid."""
        removed: Counter[str] = Counter()
        pages = self._s3.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=prefix)
        for page in call_aws("data lake", lambda: list(pages)):
            for version in page.get("Versions", []):
                removed += self._clean(version, pids, owner)
        return removed

    def _clean(
        self, version: dict[str, Any], pids: Collection[str], owner: Callable[[bytes], str | None] | None
    ) -> Counter[str]:
        key, version_id = version["Key"], version["VersionId"]
        blob = call_aws("data lake", self._s3.get_object, Bucket=self._bucket, Key=key, VersionId=version_id)
        packed = blob["Body"].read()
        zipped = packed[:2] == b"\x1f\x8b"
        kept, dropped = without_lines(gzip.decompress(packed) if zipped else packed, pids, owner)
        if not dropped:
            return dropped
        if version["IsLatest"] and kept.strip(b"\n"):
            body = gzip.compress(kept) if zipped else kept
            call_aws("data lake", self._s3.put_object, Bucket=self._bucket, Key=key, Body=body,
                     ServerSideEncryption="AES256")  # fmt: skip
        call_aws("data lake", self._s3.delete_object, Bucket=self._bucket, Key=key, VersionId=version_id)
        return dropped

    def _delete_every_version(self, key: str) -> None:
        reply = call_aws("data lake", self._s3.list_object_versions, Bucket=self._bucket, Prefix=key)
        for version in reply.get("Versions", []) + reply.get("DeleteMarkers", []):
            if version["Key"] == key:
                call_aws("data lake", self._s3.delete_object, Bucket=self._bucket, Key=key,
                         VersionId=version["VersionId"])  # fmt: skip


def _json(body: str) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
