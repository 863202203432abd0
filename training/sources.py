"""Where training data comes from: JSON lines (optionally gzip) in a folder or an S3 prefix laid out
as the Firehose archive writes it, and historical transactions imported from CSV."""

from __future__ import annotations

import gc
import gzip
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from microtarget.errors import PermanentError
from microtarget.event_parser import parse_event
from microtarget.events import Event
from microtarget.identity import Pseudonymizer
from tqdm import tqdm

from training.lake import SourceError, list_objects, read_object, refused, s3_parts


@dataclass
class Loaded:
    events: list[Event] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "location: reason"
    files: int = 0


def _blobs(source: str) -> Iterator[tuple[str, bytes]]:
    for location, _size in list_objects(source).objects:
        yield location, read_object(location)


def load_events(source: str, skip_bad: bool = False) -> Loaded:
    """Every v1 event under `source` in memory, validated with the ingest parser (no clock check):
    for small sources (the demo's lake, tests); train, score and audience stream (training.lake).

    The collector is paused while it reads: every event it builds is kept, so a collection pass
    only rescans them (loading took 2.3x as long with it on)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        return _load(source, skip_bad)
    finally:
        if was_on:
            gc.enable()


def _load(source: str, skip_bad: bool) -> Loaded:
    loaded = Loaded()
    for location, blob in tqdm(_blobs(source), desc="reading", unit="file", file=sys.stderr, disable=None):
        loaded.files += 1
        for number, line in enumerate(blob.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                loaded.events.append(parse_event(line, None))
            except PermanentError as exc:
                loaded.skipped.append(refused(f"{location}:{number}", exc, skip_bad))
    if loaded.files == 0:
        raise SourceError(f"{source}: no event files found")
    if not loaded.events:
        raise SourceError(f"{source}: {loaded.files} file(s) but no valid events")
    return loaded


def write_events(
    events: list[dict[str, Any]], destination: str, name: str = "part-0000", pseudonymizer: Pseudonymizer | None = None
) -> list[str]:
    """Write events as gzipped JSON lines, one object per day, in the archive's layout; with a
    pseudonymizer, as the archive holds them (each customer id replaced by its pid)."""
    by_day: dict[str, list[bytes]] = {}
    for event in events:
        moment = datetime.fromisoformat(str(event["occurred_at"])).astimezone(UTC)
        prefix = f"events/year={moment:%Y}/month={moment:%m}/day={moment:%d}/"
        if pseudonymizer is not None:
            event = event | {"customer_id": pseudonymizer.pid(str(event["customer_id"]))}
            if event.get("anonymous_id"):
                event["anonymous_id"] = pseudonymizer.pid(str(event["anonymous_id"]))
        by_day.setdefault(prefix, []).append(json.dumps(event, default=str).encode())
    written = []
    s3 = boto3.client("s3") if destination.startswith("s3://") else None
    for prefix, lines in sorted(by_day.items()):
        body = gzip.compress(b"\n".join(lines) + b"\n")
        if s3 is not None:
            bucket, root = s3_parts(destination)
            key = f"{root.rstrip('/') + '/' if root else ''}{prefix}{name}.jsonl.gz"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            written.append(f"s3://{bucket}/{key}")
        else:
            path = Path(destination) / prefix / f"{name}.jsonl.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            written.append(str(path))
    return written


def read_text(source: str) -> str:
    """A small text file from a path or s3:// URI (CSV imports)."""
    if source.startswith("s3://"):
        bucket, key = s3_parts(source)
        return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    path = Path(source)
    if not path.is_file():
        raise SourceError(f"{source}: no such file")
    return open(path, encoding="utf-8-sig").read()


def write_bytes(location: str, body: bytes) -> None:
    """A file at a path (its folders made) or an s3:// URI."""
    if location.startswith("s3://"):
        bucket, key = s3_parts(location)
        boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
        return
    path = Path(location)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
