"""One measured batch job in its own process (bench.scaling starts it and watches its memory):
python -m bench.scaling_run dataset|score local|spark LAKE → one JSON line on stdout."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bench.clock import BENCH_END
from local.example_models import serving_models
from training import build
from training.audience import score_records
from training.build import Plan
from training.commands import load_models


def main(job: str, engine: str, lake: str) -> dict[str, float]:
    spark = None
    if engine == "spark":
        from training.spark_engine import session

        spark = session()  # started before the clock: a cluster is already up when a job arrives
    started = time.perf_counter()
    if job == "dataset":
        rows, _timeline, _orders, _read = build.dataset(lake, Plan(end=BENCH_END), engine=engine, spark=spark)  # type: ignore[arg-type]
        out = {"rows": len(rows.customer)}
    else:
        with tempfile.TemporaryDirectory() as folder:
            args = type("Args", (), {"models": str(serving_models(Path(folder)))})()
            models = load_models(args)
        shots, _read = build.snapshots(lake, BENCH_END, engine=engine, spark=spark)  # type: ignore[arg-type]
        out = {"rows": len(score_records(shots, models, BENCH_END))}
    return out | {"seconds": time.perf_counter() - started}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:4])))
