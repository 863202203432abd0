"""Experiment results from a million ledger rows (exposures and conversions, as the table holds
them): collecting the customers and computing every figure and the daily series, on one core."""

from __future__ import annotations

import gc
import time
from typing import Any

from microtarget.clock import to_ms

from bench.clock import BENCH_END
from training.experiments import collect
from training.results import analyse
from training.synthetic_ledger import Planted, ledger_items

CUSTOMERS = 925_000  # with their conversions: just over 1 M ledger rows
GOAL_SECONDS = 10.0


def run() -> dict[str, Any]:
    items = ledger_items(CUSTOMERS, BENCH_END, Planted(), seed=7)
    gc.collect()
    started = time.perf_counter()
    units = collect(items)["planted"]
    collected = time.perf_counter()
    document = analyse(units, {"treatment": 0.9, "holdout": 0.1}, "holdout", 7, to_ms(BENCH_END))
    done = time.perf_counter()
    return {
        "rows": len(items), "customers": len(units.arm), "looks": len(document["series"]),
        "collect_s": collected - started, "analyse_s": done - collected, "total_s": done - started,
    }  # fmt: skip
