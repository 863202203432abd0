"""Serving code (functions/ and layers/) never imports training-only libraries."""

from __future__ import annotations

import ast
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
