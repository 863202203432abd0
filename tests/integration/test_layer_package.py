"""The precompiled layer survives SAM's packaging: as deployed, it imports without compiling anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.package import TOOLS_PYTHON, unpack_as_deployed
from local.template import ROOT

IMPORT = """
import sys
sys.path.insert(0, sys.argv[1])
import microtarget, microtarget.decisions, microtarget.edge.api_models, microtarget.dispatch, microtarget.ingest
assert microtarget.__file__.startswith(sys.argv[1]), microtarget.__file__
"""


@pytest.mark.slow
def test_core_layer_runs_from_its_bytecode_alone_after_sam_packaging(tmp_path: Path) -> None:
    if not TOOLS_PYTHON.exists():
        pytest.skip("SAM CLI tools environment missing: run `make tools` (make test does)")
    target = tmp_path / "build" / "CoreLayer"
    make = ["make", "-s", "-C", str(ROOT / "layers" / "core"), "build-CoreLayer"]
    subprocess.run([*make, f"ARTIFACTS_DIR={target}", f"PYTHON={sys.executable}"], check=True)
    layer = unpack_as_deployed(target.parent, ["CoreLayer"], tmp_path / "deployed") / "CoreLayer" / "python"
    sources = list(layer.rglob("*.py"))
    assert sources and all(source.stat().st_mtime < 400_000_000 for source in sources)  # SAM zips with 1980 dates
    for source in sources:  # a module compiled from its source now fails to import
        source.write_text("raise ImportError('compiled from source: the precompiled .pyc was not used')\n")
    done = subprocess.run(
        [sys.executable, "-c", IMPORT, str(layer)],
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},  # Lambda's /opt is read-only
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
