from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.aws import LocalAws
from local.clock import LocalClock
from local.pipeline import IngestPipeline
from tests.helpers.events import NOW


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server on loopback for the whole run; each test gets its own stack on it."""
    server = LocalAws(stack_name="microtarget-test").start()
    yield server.endpoint
    server.stop()


@pytest.fixture
def local_aws(moto_endpoint: str) -> LocalAws:
    return LocalAws(stack_name=f"t{uuid.uuid4().hex[:10]}", endpoint=moto_endpoint).start()


@pytest.fixture
def pipeline(local_aws: LocalAws, tmp_path: Path) -> Iterator[IngestPipeline]:
    """Ingest on the local AWS with its clock at NOW: fixtures end there, whatever the hour."""
    clock = LocalClock(start=NOW).install()
    try:
        yield IngestPipeline(local_aws, log_dir=tmp_path / "logs")
    finally:
        clock.uninstall()
