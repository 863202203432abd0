"""Decision latency with three ONNX models in process (table read excluded), and serving cold start."""

from __future__ import annotations

import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from microtarget.aggregation import apply_events
from microtarget.campaigns import parse_campaigns
from microtarget.decisions import decide, score_many
from microtarget.events import EVENT_ADAPTER
from microtarget.profile import Profile

from bench import cold_start
from bench.clock import BENCH_END
from training.dataset import build_rows, group_by_customer, plan_timeline
from training.synthetic import generate
from training.train import train_all

ROOT = Path(__file__).resolve().parent.parent


def run() -> dict[str, Any]:
    now = BENCH_END  # fixed: the same data and figures at any hour
    traffic = generate(2000, 70, seed=5, end=now)
    groups = group_by_customer(EVENT_ADAPTER.validate_python(e) for e in traffic.events)
    timeline = plan_timeline(min(e.occurred_at for es in groups.values() for e in es), now)
    with tempfile.TemporaryDirectory() as folder:
        results = train_all(build_rows(groups, timeline.cutoffs, timeline.horizon), timeline, Path(folder))
        models = {name: _loaded(Path(folder), name) for name in results}
        cold = cold_start.run(Path(folder))
    campaigns = parse_campaigns((ROOT / "campaigns" / "catalog.yaml").read_text())
    profiles = []
    for customer in sorted(groups)[:500]:
        profile = Profile(f"c_{customer}")
        apply_events(profile, groups[customer])
        profiles.append(profile)
    for profile in profiles[:50]:  # warm up
        decide(profile.pid, profile, "email", now, campaigns, models)
    timings = []
    for index in range(3000):
        profile = profiles[index % len(profiles)]
        started = time.perf_counter_ns()
        decide(profile.pid, profile, "email", now + timedelta(seconds=index), campaigns, models)
        timings.append(time.perf_counter_ns() - started)
    batch = []
    for start in range(0, 500, 100):  # as DecisionService.decide_many: one ONNX run per model for the 100
        begun = time.perf_counter()
        hundred = profiles[start : start + 100]
        for profile, scored in zip(hundred, score_many(hundred, now, models), strict=True):
            decide(profile.pid, profile, "email", now, campaigns, models, scored=scored)
        batch.append(time.perf_counter() - begun)
    ms = np.array(timings) / 1e6
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "batch100_ms": float(np.median(batch) * 1000),
        "models": models,
        **cold,
    }


def _loaded(folder: Path, name: str) -> Any:
    import json

    from microtarget.scoring import load_model

    manifest = json.loads((folder / name / "manifest.json").read_text())
    return load_model(name, manifest, (folder / name / "model.onnx").read_bytes())
