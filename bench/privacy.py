"""The privacy path's own costs: the archive's transformation (every stream record parsed and
re-keyed, one tombstone lookup a batch, AWS stubbed) and the erasure job's lake pass (every
object decompressed and searched for the erased pids, none of them present: the common case)."""

from __future__ import annotations

import gzip
import json
import time
from datetime import timedelta
from typing import Any

from microtarget.archive import lake_records
from microtarget.erasure import without_lines
from microtarget.identity import Pseudonymizer

from bench.clock import BENCH_END
from training.synthetic import generate

CUSTOMERS, DAYS = 2_000, 70
LAMBDA_PASS_S = 15 * 60  # the erasure job's timeout


def run() -> dict[str, Any]:
    events = generate(CUSTOMERS, DAYS, seed=11, end=BENCH_END).events
    pids = Pseudonymizer("a-bench-key-of-enough-length")
    batch = [(json.dumps(e).encode(), BENCH_END + timedelta(minutes=1)) for e in events[:10_000]]
    lake_records(batch[:100], pids, lambda _p: {})  # warm the parser
    started = time.perf_counter()
    lines = lake_records(batch, pids, lambda _p: {})
    transform_s = time.perf_counter() - started
    by_day: dict[str, list[bytes]] = {}
    for event, line in zip(events, lake_records([(json.dumps(e).encode(), BENCH_END) for e in events], pids, lambda _p: {}),
                           strict=True):  # fmt: skip
        if line is not None:
            by_day.setdefault(event["occurred_at"][:10], []).append(line)
    objects = [gzip.compress(b"\n".join(day) + b"\n") for day in by_day.values()]
    erased = [pids.pid(f"erased-{i}") for i in range(10)]
    started = time.perf_counter()
    for blob in objects:
        without_lines(gzip.decompress(blob), erased)
    pass_s = time.perf_counter() - started
    return {
        "transform_events_per_second": len(lines) / transform_s,
        "lake_events": len(events),
        "lake_mb": sum(len(blob) for blob in objects) / 1e6,
        "pass_events_per_second": len(events) / pass_s,
        "pass_events_in_15_min": len(events) / pass_s * LAMBDA_PASS_S,
    }
