"""Training end to end on 20,000 synthetic customers, and ONNX vs scikit-learn single-row scoring."""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from microtarget.scoring import load_model

from bench.clock import BENCH_END
from training.dataset import plan_timeline, synthetic_rows
from training.report import write_report
from training.train import train_all

CUSTOMERS, DAYS = 20_000, 70


def run() -> dict[str, Any]:
    end = BENCH_END  # fixed: the same data and figures at any hour
    timeline = plan_timeline(end - timedelta(days=DAYS), end)
    started = time.perf_counter()
    rows, truth = synthetic_rows(CUSTOMERS, DAYS, 7, end, timeline.cutoffs, timeline.horizon)
    dataset_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        results = train_all(rows, timeline, Path(folder), truth)
        write_report(results, Path(folder))
    total = time.perf_counter() - started
    speed = {name: _single_row(result, rows.features[:200]) for name, result in results.items()}
    return {
        "total_seconds": total,
        "dataset_seconds": dataset_seconds,
        "rows": len(rows.purchased),
        "speed": speed,
        "ari": results["segments"]["manifest"]["metrics"]["validation"]["adjusted_rand_index"],
    }


def _single_row(result: dict[str, Any], sample: np.ndarray, repeats: int = 2000) -> dict[str, float]:
    """Median microseconds for one row: sklearn's predict_proba/predict vs the onnxruntime session."""
    estimator, manifest = result["estimator"], result["manifest"]
    model = load_model(manifest["model"], manifest, result["onnx"])
    sklearn_call = estimator.predict_proba if manifest["kind"] == "classifier" else estimator.predict
    rows = [sample[i : i + 1] for i in range(len(sample))]

    def median_us(call: Any, count: int) -> float:
        timings = []
        for index in range(count):
            row = rows[index % len(rows)]
            begin = time.perf_counter_ns()
            call(row)
            timings.append(time.perf_counter_ns() - begin)
        return float(np.median(timings)) / 1000

    sklearn_us = median_us(sklearn_call, repeats // 10)
    onnx_us = median_us(model.predict, repeats)
    return {"sklearn_us": sklearn_us, "onnx_us": onnx_us, "speedup": sklearn_us / onnx_us}
