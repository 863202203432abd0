"""The layers show in the folder, and a test keeps them honest: the domain (microtarget/*.py)
never imports boto3, Powertools or an adapter; adapters (microtarget/aws) never import the edge."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layers/core/microtarget"
INFRASTRUCTURE = ("boto3", "botocore", "aws_lambda_powertools", "microtarget.aws", "microtarget.edge")


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def offenders(files: list[Path], forbidden: tuple[str, ...]) -> dict[str, set[str]]:
    out = {}
    for path in files:
        bad = {name for name in imports(path) if name == forbidden or name.startswith(forbidden)}
        if bad:
            out[str(path.relative_to(PACKAGE))] = bad
    return out


def test_the_domain_imports_no_infrastructure() -> None:
    domain = sorted(PACKAGE.glob("*.py"))
    assert len(domain) > 20
    assert offenders(domain, INFRASTRUCTURE) == {}


def test_adapters_do_not_reach_into_the_edge() -> None:
    adapters = sorted((PACKAGE / "aws").glob("*.py"))
    assert len(adapters) > 8
    assert (
        offenders(
            adapters,
            ("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.batch", "microtarget.edge"),
        )
        == {}
    )
