"""How the batch jobs scale: the point-in-time dataset and batch scoring at 10k, 40k and 160k
synthetic customers (90 days) on both engines. Each job runs in its own process; its peak memory
is the largest sum of resident memory over its whole process tree (Spark's JVM and Python workers
included), sampled every 0.2 s. The lake is generated first (in parallel shards) and not timed.
MICROTARGET_SCALING=10000,40000 chooses other sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.clock import BENCH_END
from training.sources import write_events
from training.synthetic import generate

DAYS, SHARDS = 90, 8
SIZES = tuple(int(n) for n in os.environ.get("MICROTARGET_SCALING", "10000,40000,160000").split(","))
# EMR Serverless, us-east-1, x86 (AWS price list; check the current one): per vCPU-hour and GB-hour
VCPU_HOUR, GB_HOUR, GB_PER_VCPU = 0.052624, 0.0057785, 4


def _shard(args: tuple[str, int, int, int]) -> int:
    folder, shard, customers, first = args
    events = generate(customers, DAYS, seed=100 + shard, end=BENCH_END, first_index=first).events
    write_events(events, folder, name=f"part-{shard}")
    return len(events)


def make_lake(folder: str, customers: int) -> int:
    sizes = [customers // SHARDS + (1 if i < customers % SHARDS else 0) for i in range(SHARDS)]
    firsts = [sum(sizes[:i]) for i in range(SHARDS)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return sum(pool.map(_shard, [(folder, i, n, f) for i, (n, f) in enumerate(zip(sizes, firsts, strict=True))]))


def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(rss.get(pid, 0) for pid in tree)


def measure(job: str, engine: str, lake: str) -> dict[str, Any]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.scaling_run", job, engine, lake], stdout=subprocess.PIPE, text=True
    )
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.2)
    out, _ = process.communicate()
    if process.returncode:
        raise RuntimeError(f"{job} on {engine} failed ({process.returncode})")
    return json.loads(out.strip().splitlines()[-1]) | {"peak_bytes": peak}


def run() -> list[dict[str, Any]]:
    results = []
    for customers in SIZES:
        with tempfile.TemporaryDirectory() as lake:
            events = make_lake(lake, customers)
            for job in ("dataset", "score"):
                for engine in ("local", "spark"):
                    figures = measure(job, engine, lake)
                    results.append({"customers": customers, "events": events, "job": job, "engine": engine} | figures)
                    print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    return results


def estimate(results: list[dict[str, Any]], events: int = 100_000_000, vcpus: int = 100) -> dict[str, float]:
    """A 1-million-customer, 100-million-event dataset build on EMR Serverless, from the Spark
    path's measured throughput per core at the largest size (plus the fit on the driver, not
    included): vCPU-hours, wall time on `vcpus` workers, and what it costs."""
    largest = max(r["customers"] for r in results)
    spark = next(r for r in results if r["customers"] == largest and r["engine"] == "spark" and r["job"] == "dataset")
    per_core = spark["events"] / spark["seconds"] / (os.cpu_count() or 1)
    vcpu_hours = events / per_core / 3600
    return {
        "events_per_core_s": per_core,
        "vcpu_hours": vcpu_hours,
        "minutes_on_workers": vcpu_hours * 60 / vcpus,
        "workers": vcpus,
        "dollars": vcpu_hours * (VCPU_HOUR + GB_PER_VCPU * GB_HOUR),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
