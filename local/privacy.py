"""Look for raw customer ids where only pseudonymized ids may be."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from microtarget.profile import Profile

_TOKEN = re.compile(r"[A-Za-z0-9_.@+-]+")


def raw_ids_found(
    raw_ids: Iterable[str], profiles: dict[str, Profile], logs: Iterable[Path], more: Iterable[str] = ()
) -> int:
    """How many raw ids appear as a token in any profile item, log file or further text."""
    wanted = set(raw_ids)
    texts = [json.dumps(profile.to_item()) + json.dumps(asdict(profile)) for profile in profiles.values()]
    texts += [path.read_text(encoding="utf-8") for path in logs if path.exists()]
    texts += list(more)
    found: set[str] = set()
    for text in texts:
        found.update(wanted.intersection(_TOKEN.findall(text)))
    return len(found)


_EMAIL = re.compile(r"[A-Za-z0-9_.+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.]+")


def contact_leaks(profiles: dict[str, Profile], ledger: Iterable[dict], logs: Iterable[Path]) -> int:
    """How many e-mail addresses appear in profiles, the decisions ledger or the logs."""
    texts = [json.dumps(profile.to_item()) for profile in profiles.values()]
    texts += [json.dumps(item, default=str) for item in ledger]
    texts += [path.read_text(encoding="utf-8") for path in logs if path.exists()]
    return len({address for text in texts for address in _EMAIL.findall(text)})


def bucket_texts(s3: Any, bucket: str, prefix: str = "") -> Iterator[str]:
    """Every version of every object under `prefix`, decompressed where gzipped, as text."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
            yield (gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body).decode("utf-8", "replace")


def traces(aws: Any, needles: Iterable[str], skip: Iterable[str] = ()) -> dict[str, int]:
    """Where any of `needles` (a raw id, a pid) still appears in the local stack: per store (every
    table, queue, bucket version and schedule of the template, except `skip`), how many items."""

    wanted, skipped, found = list(needles), set(skip), {}
    hits = lambda texts: sum(any(n in text for n in wanted) for text in texts)  # noqa: E731
    for logical_id in aws.created("AWS::DynamoDB::Table"):
        if logical_id not in skipped:
            found[logical_id] = hits(json.dumps(item, default=repr) for item in aws.scan(logical_id))
    sqs = aws.client("sqs")
    for logical_id in aws.created("AWS::SQS::Queue"):
        if logical_id not in skipped:
            found[logical_id] = hits(_peek(sqs, aws.ref(logical_id)))
    s3 = aws.client("s3")
    for logical_id in aws.created("AWS::S3::Bucket"):
        if logical_id not in skipped:
            found[logical_id] = hits(bucket_texts(s3, aws.ref(logical_id)))
    scheduler = aws.client("scheduler")
    for logical_id in aws.created("AWS::Scheduler::ScheduleGroup"):
        group = aws.ref(logical_id)
        names = [s["Name"] for s in scheduler.list_schedules(GroupName=group).get("Schedules", [])]
        found[logical_id] = hits(
            json.dumps(scheduler.get_schedule(Name=name, GroupName=group)["Target"]) for name in names
        )
    return {store: count for store, count in found.items() if count}


def _peek(sqs: Any, url: str) -> list[str]:
    """Every message body on the queue, each made visible again at once."""
    bodies, handles = [], []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
        bodies += [message["Body"] for message in batch]
        handles += [message["ReceiptHandle"] for message in batch]
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return bodies
