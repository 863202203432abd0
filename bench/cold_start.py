"""Serving cold start, measured on the packages as deployed, beside a bare `import boto3`.

Each figure is the median of fresh interpreters. The functions and layers are unpacked from the
zips SAM uploads (bench/package.py), put on sys.path where Lambda puts them (/var/task, then the
layers' /opt/python), with the api function's own environment from template.yaml and no bytecode
writes (Lambda's code is read-only). boto3 comes from the venv, standing in for the runtime's.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.package import unpack_as_deployed
from local.template import ROOT, function_environment, load_template

BUILD = ROOT / ".aws-sam" / "build"
PARTS = ("ApiFunction", "CoreLayer", "DependenciesLayer")
SCRIPT = """
import sys
sys.path[:0] = {paths!r}
import time
t0 = time.perf_counter()
{body}
print(time.perf_counter() - t0)
"""
BOTO = "import boto3"
# What the stack the api is built on costs before a line of ours: boto3, onnxruntime (and numpy),
# one pydantic model, Powertools' REST resolver with request validation, its logger and metrics.
STACK = """
import gc; gc.disable()
import boto3, onnxruntime
from pydantic import BaseModel
class Model(BaseModel):
    x: int
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
APIGatewayRestResolver(enable_validation=True)
"""
SERVING = """
import importlib.util, json
spec = importlib.util.spec_from_file_location("api_app", "{function}/app.py")
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
from microtarget.scoring import load_model
from pathlib import Path
for name in ("propensity", "churn", "segments"):
    folder = Path("{models}") / name
    load_model(name, json.loads((folder / "manifest.json").read_text()), (folder / "model.onnx").read_bytes())
"""


def run(models: Path, runs: int = 7) -> dict[str, float | bool]:
    """Seconds for `import boto3`, the stack alone, and the api handler's init plus 3 model sessions."""
    built = (BUILD / "DependenciesLayer" / "python").is_dir()
    with tempfile.TemporaryDirectory() as scratch:
        if built:
            root = unpack_as_deployed(BUILD, PARTS, Path(scratch))
            function, paths = root / "ApiFunction", [str(root / "ApiFunction")]
            paths += [str(root / "CoreLayer" / "python"), str(root / "DependenciesLayer" / "python")]
        else:
            function, paths = ROOT / "functions" / "api", []

        environment = _environment()

        def measure(body: str) -> float:
            code = SCRIPT.format(paths=paths, body=body.format(function=function, models=models))
            samples = [
                float(subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True,
                                     text=True, check=True).stdout)
                for _ in range(runs)
            ]  # fmt: skip
            return float(np.median(samples))

        boto, stack, serving = measure(BOTO), measure(STACK), measure(SERVING)
    return {
        "boto3_s": boto,
        "stack_s": stack,
        "serving_s": serving,
        "stack_ratio": stack / boto,
        "cold_ratio": serving / boto,
        "from_build": built,
        "build_mb": _build_megabytes() if built else float("nan"),
    }


def _environment() -> dict[str, str]:
    """The api function's literal environment variables from template.yaml (references left out)."""
    declared = function_environment(load_template(), "ApiFunction")
    literal = {name: value for name, value in declared.items() if isinstance(value, str)}
    return {
        **literal,
        "PATH": "/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _build_megabytes() -> float:
    """Unzipped size of the serving functions and layers as `sam build` leaves them."""
    parts = [BUILD / n for n in ("CoreLayer", "DependenciesLayer", "ApiFunction", "IngestFunction", "DispatchFunction")]
    return sum(f.stat().st_size for part in parts for f in part.rglob("*") if f.is_file()) / 1e6
