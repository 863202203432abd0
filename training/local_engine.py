"""The single-machine engine: a task over the lake's spilled buckets, one bucket per worker call.

Each worker parses and validates one bucket (the ingest parser, no clock check), groups it by
customer and runs the task on each customer in id order. Memory: the buckets in flight, one per
worker, however large the lake is. Results come back in bucket order and are sorted by the caller."""

from __future__ import annotations

import gc
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from microtarget.errors import PermanentError
from microtarget.event_parser import parse_event
from microtarget.events import Event

from training.lake import Spill, bucket_lines, refused


@dataclass
class BucketResult:
    outputs: list[Any] = field(default_factory=list)  # one task result per customer, in id order
    skipped: list[str] = field(default_factory=list)  # "location: reason"
    events: int = 0
    customers: int = 0


def run_bucket(path: Path, task: Any, spill: Spill, skip_bad: bool) -> BucketResult:
    """The task on every customer of one bucket."""
    gc.disable()  # every parsed event lives until the bucket is done: a collection pass only rescans them
    try:
        groups: dict[str, list[Event]] = {}
        result = BucketResult()
        for tag, line in bucket_lines(path):
            try:
                event = parse_event(line, None)
            except PermanentError as exc:
                index, _, number = tag.decode().partition(":")
                result.skipped.append(refused(f"{spill.objects[int(index)]}:{number}", exc, skip_bad))
                continue
            if not spill.window.holds(event.occurred_at):  # its line's moment was unreadable as plain JSON
                continue
            groups.setdefault(spill.logins.root(event.customer_id), []).append(event)
            result.events += 1
        result.customers = len(groups)
        result.outputs = [task.run(customer, groups[customer]) for customer in sorted(groups)]
        return result
    finally:
        gc.enable()


def _one(args: tuple[Path, Any, Spill, bool]) -> BucketResult:
    return run_bucket(*args)


def run_task(spill: Spill, task: Any, skip_bad: bool = False, workers: int | None = None) -> list[BucketResult]:
    """The task over every bucket; in worker processes when there is more than one bucket."""
    shared = replace(spill, folder=None, buckets=[])  # what a worker needs: objects and window
    jobs = [(path, task, shared, skip_bad) for path in spill.buckets if path.exists()]
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        return [_one(job) for job in jobs]
    # forkserver: the caller may run threads (a moto server, tqdm) that fork would copy mid-lock
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(_one, jobs))
