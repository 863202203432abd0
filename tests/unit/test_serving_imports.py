"""Serving code (functions/ and layers/) never imports training-only libraries."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"sklearn", "scipy", "pandas", "skl2onnx", "matplotlib", "training", "local"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_functions_and_layers_import_no_training_library() -> None:
    files = [*ROOT.glob("functions/**/*.py"), *ROOT.glob("layers/**/*.py")]
    assert len(files) > 5
    offenders = {
        str(p.relative_to(ROOT)): imported_roots(p) & FORBIDDEN for p in files if imported_roots(p) & FORBIDDEN
    }
    assert offenders == {}


def test_the_api_handler_loads_nothing_its_common_requests_do_not_use() -> None:
    """Cold start: the event contract (POST /v1/events only) and the templates (dispatch) stay out."""
    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {str(ROOT / 'functions/api/app.py')!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('microtarget', 'jinja2', 'sklearn'))))\n"
    )
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": "probe", "PYTHONPATH": str(ROOT / "layers/core")}
    loaded = set(
        json.loads(
            subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True).stdout
        )
    )
    assert "microtarget.decisions" in loaded and "microtarget.events" not in loaded
    assert not {m for m in loaded if m.startswith(("jinja2", "sklearn"))}
