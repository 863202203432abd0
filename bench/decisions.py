"""Decision latency with three ONNX models in process (table read excluded), and serving cold start."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from microtarget.aggregation import apply_events
from microtarget.campaigns import parse_campaigns
from microtarget.decisions import decide
from microtarget.events import EVENT_ADAPTER
from microtarget.profile import Profile

from training.dataset import build_rows, group_by_customer, plan_timeline
from training.synthetic import generate
from training.train import train_all

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".aws-sam" / "build"
COLD = """
import sys
sys.path[:0] = {paths!r}
import time, json, importlib.util
t0 = time.perf_counter()
{body}
print(time.perf_counter() - t0)
"""
BOTO = "import boto3"
SERVING = """
spec = importlib.util.spec_from_file_location("api_app", "{function}/app.py")
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
from microtarget.scoring import load_model
from pathlib import Path
for name in ("propensity", "churn", "segments"):
    folder = Path("{models}") / name
    load_model(name, json.loads((folder / "manifest.json").read_text()), (folder / "model.onnx").read_bytes())
"""


def run() -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    traffic = generate(2000, 70, seed=5, end=now)
    groups = group_by_customer(EVENT_ADAPTER.validate_python(e) for e in traffic.events)
    timeline = plan_timeline(min(e.occurred_at for es in groups.values() for e in es), now)
    with tempfile.TemporaryDirectory() as folder:
        results = train_all(build_rows(groups, timeline.cutoffs, timeline.horizon), timeline, Path(folder))
        models = {name: _loaded(Path(folder), name) for name in results}
        cold = _cold_start(Path(folder))
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
    for start in range(0, 500, 100):
        begun = time.perf_counter()
        for profile in profiles[start : start + 100]:
            decide(profile.pid, profile, "email", now, campaigns, models)
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


def _cold_start(models: Path, runs: int = 5) -> dict[str, float]:
    """Median of fresh interpreters: the api handler's imports + 3 model sessions, vs `import boto3`.

    From the `sam build` output when there is one (layers first on sys.path, as Lambda puts
    /opt/python; boto3 from the venv stands in for the runtime's), else from the venv."""
    built = (BUILD / "DependenciesLayer" / "python").is_dir()
    paths = [str(BUILD / "CoreLayer" / "python"), str(BUILD / "DependenciesLayer" / "python")] if built else []
    function = BUILD / "ApiFunction" if built else ROOT / "functions" / "api"

    def measure(body: str) -> float:
        code = COLD.format(paths=paths, body=body.format(function=function, models=models))
        samples = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code],
                    capture_output=True,
                    text=True,
                    check=True,
                    env={
                        "PATH": "/usr/bin:/bin",
                        "AWS_DEFAULT_REGION": "us-east-1",
                        "POWERTOOLS_METRICS_DISABLED": "1",
                    },
                ).stdout
            )
            for _ in range(runs)
        ]
        return float(np.median(samples))

    boto, serving = measure(BOTO), measure(SERVING)
    return {
        "boto3_s": boto,
        "serving_s": serving,
        "cold_ratio": serving / boto,
        "from_build": built,
        "build_mb": _build_megabytes() if built else float("nan"),
    }


def _build_megabytes() -> float:
    """Unzipped size of the serving functions and layers as `sam build` leaves them."""
    parts = [BUILD / n for n in ("CoreLayer", "DependenciesLayer", "ApiFunction", "IngestFunction", "DispatchFunction")]
    return sum(f.stat().st_size for part in parts for f in part.rglob("*") if f.is_file()) / 1e6
