"""The event archive, read in bounded memory: only the day partitions a run needs, one object at a
time, each line spilled to local disk in a bucket chosen by its customer, so that a replay holds one
bucket (a few thousand customers) at a time however large the lake is.

The archive partitions by arrival (`events/year=…/month=…/day=…/`): an event that happened before a
run's window can arrive inside it, and one inside the window can arrive up to LATE_DAYS after it.
So a window [first, last] reads partitions from `first`'s day to LATE_DAYS after `last`, and keeps
events by when they happened. Objects outside that layout (a plain folder of files) are always read."""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from microtarget.errors import PermanentError
from tqdm import tqdm

from training.identities import Logins, read_logins

LATE_DAYS = 2  # events arriving later than this after they happened are not read by a pruned run
SPILL_SOURCE_BYTES = 1 << 20  # one bucket per MiB of (compressed) archive: ~25k events, ~40 MB parsed
MAX_BUCKETS = 4096
FLUSH_BYTES = 32 << 20  # lines buffered in memory before they are appended to their buckets
_DAY = re.compile(r"(?:^|/)year=(\d{4})/month=(\d{2})/day=(\d{2})/")


class SourceError(Exception):
    """The source is missing, empty or has a bad line (and --skip-bad was not given)."""


def refused(where: str, exc: PermanentError, skip_bad: bool) -> str:
    """What a refused line is reported as: raised unless bad lines are skipped (and counted)."""
    text = f"{where}: {exc.code}{' ' + exc.field if exc.field else ''}: {exc.message}"
    if not skip_bad:
        raise SourceError(text + " (use --skip-bad to skip and count bad lines)")
    return text


@dataclass(frozen=True)
class Window:
    """Events that happened in [first, last]; None: unbounded on that side."""

    first: datetime | None = None
    last: datetime | None = None

    def reads(self, day: date) -> bool:
        """Whether a partition of events that arrived on `day` may hold events of the window."""
        if self.first is not None and day < self.first.astimezone(UTC).date():
            return False
        return self.last is None or day <= self.last.astimezone(UTC).date() + timedelta(days=LATE_DAYS)

    def holds(self, moment: datetime) -> bool:
        return (self.first is None or moment >= self.first) and (self.last is None or moment <= self.last)


@dataclass
class Listing:
    objects: list[tuple[str, int]] = field(default_factory=list)  # (location, bytes) to read
    pruned: int = 0  # objects of day partitions outside the window, never read

    @property
    def size(self) -> int:
        return sum(size for _location, size in self.objects)


def s3_parts(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    return bucket, prefix


def partition_day(location: str) -> date | None:
    found = _DAY.search(location)
    return date(int(found[1]), int(found[2]), int(found[3])) if found else None


def list_objects(source: str, window: Window | None = None) -> Listing:
    """The objects under `source` that the window needs, by their day partition."""
    window = window or Window()
    if source.startswith("s3://"):
        bucket, prefix = s3_parts(source)
        pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        found = [(f"s3://{bucket}/{o['Key']}", int(o["Size"])) for page in pages for o in page.get("Contents", [])]
    else:
        path = Path(source)
        if not path.exists():
            raise SourceError(f"{source}: no such file or folder")
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        found = [(str(p), p.stat().st_size) for p in files]
    listing = Listing()
    for location, size in found:
        day = partition_day(location)
        if day is not None and not window.reads(day):
            listing.pruned += 1
        else:
            listing.objects.append((location, size))
    return listing


def read_object(location: str) -> bytes:
    return b"".join(object_lines(location))


class _Peeked(io.RawIOBase):
    """A stream whose first bytes were read to tell gzip from plain text."""

    def __init__(self, first: bytes, rest: Any) -> None:
        self._first, self._rest = first, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._first[: len(buffer)] if self._first else self._rest.read(len(buffer))
        self._first = self._first[len(data) :] if self._first else b""
        buffer[: len(data)] = data
        return len(data)


def object_lines(location: str) -> Iterator[bytes]:
    """An object's lines as they are read (gzip or plain): an object is never held whole."""
    with opened(location) as stream:
        yield from stream


@contextmanager
def opened(location: str) -> Iterator[Any]:
    if location.startswith("s3://"):
        bucket, key = s3_parts(location)
        raw: Any = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
    else:
        raw = open(location, "rb")  # noqa: SIM115  # closed below
    try:
        first = raw.read(2)
        stream: Any = io.BufferedReader(_Peeked(first, raw), buffer_size=1 << 20)
        yield gzip.GzipFile(fileobj=stream) if first == b"\x1f\x8b" else stream
    finally:
        raw.close()


@dataclass
class Spill:
    """The window's lines, on local disk in buckets by customer; each line is tagged with its
    object's index and its line number, for error messages."""

    folder: tempfile.TemporaryDirectory[str] | None
    buckets: list[Path]
    objects: list[str]
    window: Window = field(default_factory=Window)
    lines: int = 0
    outside: int = 0  # lines of events that happened outside the window
    pruned: int = 0
    first: datetime | None = None  # the earliest and latest moments among the lines kept
    last: datetime | None = None
    logins: Logins = field(default_factory=Logins)  # the merges the lake's logins made (training.identities)

    def close(self) -> None:
        if self.folder is not None:
            self.folder.cleanup()


def bucket_of(customer: str, buckets: int) -> int:
    return zlib.crc32(customer.encode()) % buckets


def spill(source: str, window: Window | None = None, buckets: int | None = None) -> Spill:
    """Stream the window's objects, one at a time, into customer buckets on disk.

    Only `customer_id` and `occurred_at` are read here (plain JSON); the full validation runs in the
    replay, per bucket. A line that is not even JSON goes to bucket 0, where the replay reports it.
    A pass before it reads the logins (training.identities; only the lines naming an anonymous id
    are parsed, so it costs one more decompression of the window): an anonymous id's lines go to
    the bucket of the customer it became."""
    window = window or Window()
    listing = list_objects(source, window)
    if not listing.objects:
        outside = f" ({listing.pruned} outside the window)" if listing.pruned else ""
        raise SourceError(f"{source}: no event files found{outside}")
    count = buckets or max(1, min(MAX_BUCKETS, -(-listing.size // SPILL_SOURCE_BYTES)))
    folder = tempfile.TemporaryDirectory(prefix="microtarget-spill-")
    out = Spill(folder, [Path(folder.name) / f"{i:04d}" for i in range(count)], [o for o, _ in listing.objects], window)
    out.pruned = listing.pruned
    out.logins = read_logins(out.objects, opened)
    pending: dict[int, list[bytes]] = {}
    held = 0
    for index, (location, _size) in enumerate(
        tqdm(listing.objects, desc="reading", unit="file", file=sys.stderr, disable=None)
    ):
        for number, row in enumerate(object_lines(location), start=1):
            line = row.rstrip(b"\r\n")
            if not line.strip():
                continue
            customer, moment = line_key(line)
            if moment is not None:
                if not window.holds(moment):
                    out.outside += 1
                    continue
                out.first = moment if out.first is None or moment < out.first else out.first
                out.last = moment if out.last is None or moment > out.last else out.last
            target = bucket_of(out.logins.root(customer), count) if customer is not None else 0
            pending.setdefault(target, []).append(b"%d:%d\t%s\n" % (index, number, line))
            out.lines += 1
            held += len(line) + 16
            if held > FLUSH_BYTES:
                _flush(out, pending)
                held = 0
    _flush(out, pending)
    return out


def line_key(line: bytes | str) -> tuple[str | None, datetime | None]:
    """A line's customer id and moment, read as plain JSON (None: not readable so; a moment in a
    form the contract also accepts, epoch seconds say, is left to the replay, which reads it)."""
    try:
        raw = json.loads(line)
        customer = raw.get("customer_id")
    except (ValueError, AttributeError):
        return None, None
    customer = customer if isinstance(customer, str) else None
    try:
        moment = datetime.fromisoformat(raw["occurred_at"])
    except (ValueError, KeyError, TypeError):
        return customer, None
    return customer, moment if moment.tzinfo is not None else None


def _flush(out: Spill, pending: dict[int, list[bytes]]) -> None:
    for target, lines in pending.items():
        with out.buckets[target].open("ab") as handle:
            handle.writelines(lines)
    pending.clear()


def bucket_lines(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """(tag, line) for each line of one bucket."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for row in handle:
            tag, _, line = row.rstrip(b"\n").partition(b"\t")
            yield tag, line
