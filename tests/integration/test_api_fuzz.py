"""schemathesis: requests generated from the committed OpenAPI document never get a server error,
and every answer matches the document (status codes, content types, bodies)."""

from __future__ import annotations

import json
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from tests.integration.conftest import KEY, Api

DOCUMENT = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
schema = schemathesis.openapi.from_dict(DOCUMENT)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_the_document_allows_causes_a_server_error(case, api: Api) -> None:  # type: ignore[no-untyped-def]
    # Every answer is one the document declares, in the shape it declares.
    response = case.call_and_validate(base_url=api.base.removesuffix("/v1"), headers={"x-api-key": KEY})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
