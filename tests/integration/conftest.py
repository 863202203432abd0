"""Shared fixtures for integration tests: the decisions API served over HTTP on loopback."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from local.api_server import prepare, serve
from local.aws import LocalAws, free_port
from local.clock import LocalClock
from local.lambda_runtime import LocalFunction
from local.privacy_calls import PrivacyCalls
from tests.helpers.events import NOW
from tests.integration.flow import Flow, flow_of

KEY = "test-api-key"
API_NOW = NOW  # 21:30, in the evening hours CI once failed in


class Api:
    def __init__(self, base: str, aws: LocalAws, customers: list[str], clock: LocalClock) -> None:
        """`clock`: the moment the API's functions see (its traffic ended there), fixed so
        nothing a test finds depends on the hour it runs; `now()` reads it."""
        self.base, self.aws, self.customers, self.clock = base, aws, customers, clock

    def now(self) -> datetime:
        return self.clock.now()

    def call(
        self, method: str, path: str, body: Any = None, key: str | None = KEY, signed: bool = False
    ) -> tuple[int, Any]:
        """`signed`: a SigV4 Authorization header (the personal-data routes), instead of the key."""
        headers = {"content-type": "application/json"} | ({"x-api-key": key} if key and not signed else {})
        if signed:
            headers["authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261120/eu-west-1/execute-api"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="session")
def api(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    aws = LocalAws(stack_name=f"api{uuid.uuid4().hex[:8]}", endpoint=moto_endpoint).start()
    folder = tmp_path_factory.mktemp("api")
    clock = LocalClock(start=API_NOW)
    customers = prepare(aws, 600, folder / "models", clock)
    port = free_port()
    privacy = LocalFunction(aws, "PrivacyFunction", folder / "logs", clock)
    server = serve(LocalFunction(aws, "ApiFunction", folder / "logs", clock), KEY, port, privacy)
    yield Api(f"http://127.0.0.1:{port}/v1", aws, customers, clock)
    server.shutdown()


@pytest.fixture
def flow(local_aws: LocalAws, tmp_path: Path) -> Iterator[Flow]:
    """The trigger → dispatch stack at midday, with a clock tests advance (tests.integration.flow)."""
    yield from flow_of(local_aws, tmp_path / "logs")


@pytest.fixture
def privacy(local_aws: LocalAws, tmp_path: Path) -> PrivacyCalls:
    """The personal-data routes and the erasure job, as the data-protection officer calls them."""
    return PrivacyCalls(local_aws, tmp_path / "logs")
