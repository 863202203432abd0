"""The batch jobs, on either engine: the point-in-time dataset and the customers as of a moment.

`local` streams the lake through disk buckets and replays them in worker processes (one machine);
`spark` runs the same tasks on Spark (local mode here, EMR Serverless when deployed). Both read only
the window's day partitions and give the same rows, in the same order."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3

from training.dataset import Rows, Timeline, plan_timeline
from training.jobs import DatasetTask, ExposureTask, Snapshots, SnapshotTask
from training.lake import SourceError, Window, spill
from training.local_engine import run_task
from training.recommend import Order

Engine = Literal["local", "spark"]


@dataclass
class Read:
    """What a job read: for the command's report."""

    events: int | None = None  # the Spark path does not count them
    customers: int = 0
    skipped: list[str] = field(default_factory=list)
    objects: int = 0  # read
    pruned_objects: int = 0  # outside the window: never read
    outside_window: int = 0


@dataclass(frozen=True)
class Plan:
    end: datetime | None = None
    horizon_days: int = 14
    train_cutoffs: int = 3
    step_days: int = 7
    history_days: int | None = None  # read only this long before the earliest cutoff (lifetime features shrink)

    def window(self) -> Window:
        if self.end is None:
            if self.history_days is not None:
                raise ValueError("--history-days needs --end: the window is counted back from the cutoffs")
            return Window()
        if self.history_days is None:
            return Window(last=self.end)
        earliest = self.end - timedelta(days=3 * self.horizon_days + self.step_days * (self.train_cutoffs - 1))
        return Window(earliest - timedelta(days=self.history_days), self.end)

    def timeline(self, first: datetime, last: datetime) -> Timeline:
        return plan_timeline(first, self.end or last, self.horizon_days, self.train_cutoffs, self.step_days)


@contextmanager
def _work(work: str | None) -> Iterator[str]:
    """Where Spark's workers write the job's Parquet for the driver to read: a temporary folder in
    local mode, a prefix in S3 on a cluster (`--spark-work s3://…`; removed when read)."""
    if work is None or not work.startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix="microtarget-spark-", dir=work) as folder:
            yield folder
        return
    bucket, _, prefix = work[len("s3://") :].partition("/")
    prefix = f"{prefix.rstrip('/')}/{uuid.uuid4().hex}/".lstrip("/")
    try:
        yield f"s3://{bucket}/{prefix}"
    finally:
        s3 = boto3.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def dataset(
    source: str,
    plan: Plan,
    *,
    engine: Engine = "local",
    workers: int | None = None,
    skip_bad: bool = False,
    tombstones: dict[str, int] | None = None,
    spark: Any = None,
    work: str | None = None,
) -> tuple[Rows, Timeline, list[Order], Read]:
    window = plan.window()
    if engine == "spark":
        from training import spark_engine

        keyed, size, logins = spark_engine.read(spark or spark_engine.session(), source, window)
        timeline = plan.timeline(*spark_engine.span(keyed))
        task = DatasetTask(timeline.cutoffs, timeline.horizon, timeline.end, tombstones or {}, logins=logins)
        with _work(work) as out:
            spark_engine.dataset(keyed, size, window, task, out, skip_bad)
            rows, orders, skipped = spark_engine.read_dataset(out)
        return rows, timeline, orders, Read(None, len(set(rows.customer)), skipped)
    lines = spill(source, window)
    try:
        if lines.first is None or lines.last is None:
            raise SourceError(f"{source}: no valid events")
        timeline = plan.timeline(lines.first, lines.last)
        task = DatasetTask(timeline.cutoffs, timeline.horizon, timeline.end, tombstones or {}, logins=lines.logins)
        results = run_task(lines, task, skip_bad, workers)
    finally:
        lines.close()
    rows = Rows.concat([part for r in results for part, _orders in r.outputs]).ordered()
    baskets = sorted(order for r in results for _rows, bought in r.outputs for order in bought)
    read = Read(
        sum(r.events for r in results),
        sum(r.customers for r in results),
        sorted(s for r in results for s in r.skipped),
        len(lines.objects),
        lines.pruned,
        lines.outside,
    )
    return rows, timeline, [Order(*basket) for basket in baskets], read


def snapshots(
    source: str,
    as_of: datetime,
    *,
    history_days: int | None = None,
    engine: Engine = "local",
    workers: int | None = None,
    skip_bad: bool = False,
    tombstones: dict[str, int] | None = None,
    spark: Any = None,
    work: str | None = None,
    exposures: ExposureTask | None = None,
) -> tuple[Snapshots, Read]:
    """Every customer's values and consent as of `as_of`, from events up to it; or, with
    `exposures`, the exposed customers just before each exposure (the latest is `as_of`)."""
    moments = [m for ms in exposures.moments.values() for m in ms] if exposures else []
    start = datetime.fromtimestamp(min(moments) / 1000, UTC) if moments else as_of
    first = start - timedelta(days=history_days) if history_days is not None else None
    task = exposures or SnapshotTask(as_of, tombstones or {})
    window = Window(first, as_of)
    if engine == "spark":
        from training import spark_engine

        keyed, size, logins = spark_engine.read(spark or spark_engine.session(), source, window)
        with _work(work) as out:
            spark_engine.snapshots(keyed, size, window, replace(task, logins=logins), out, skip_bad)
            shots, skipped = spark_engine.read_snapshots(out)
        return shots, Read(None, len(shots.pids), skipped)
    lines = spill(source, window)
    try:
        results = run_task(lines, replace(task, logins=lines.logins), skip_bad, workers)
    finally:
        lines.close()
    shots = Snapshots.concat([s for r in results for s in r.outputs]).ordered()
    read = Read(sum(r.events for r in results), len(shots.pids), sorted(s for r in results for s in r.skipped))
    read.objects, read.pruned_objects, read.outside_window = len(lines.objects), lines.pruned, lines.outside
    return shots, read
