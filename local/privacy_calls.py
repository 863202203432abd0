"""The personal-data routes and the erasure job on the local AWS, through their real handlers, as a
data-protection officer calls them (SigV4: API Gateway passes the caller's IAM identity on)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from local.api_server import api_event
from local.aws import LocalAws
from local.lambda_runtime import LocalFunction

OPERATOR = "arn:aws:sts::123456789012:assumed-role/dpo/jane"


class PrivacyCalls:
    def __init__(self, aws: LocalAws, logs: Path | None = None, operator: str = OPERATOR) -> None:
        self.function = LocalFunction(aws, "PrivacyFunction", logs)
        self.job = LocalFunction(aws, "ErasureJobFunction", logs)
        self.operator = operator

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        event = api_event(method, path, {"content-type": "application/json"}, data)
        event["requestContext"]["identity"]["userArn"] = self.operator
        reply = self.function.invoke(event)
        return reply["statusCode"], json.loads(reply["body"]) if reply.get("body") else None

    def erase(self, customer_id: str) -> tuple[int, Any]:
        return self.call("DELETE", f"/v1/customers/{quote(customer_id, safe='')}")

    def receipt(self, erasure_id: str) -> tuple[int, Any]:
        return self.call("GET", f"/v1/erasures/{quote(erasure_id, safe='')}")

    def access(self, customer_id: str) -> tuple[int, Any]:
        return self.call("GET", f"/v1/customers/{quote(customer_id, safe='')}/data")

    def consent(
        self, customer_id: str, consents: dict[str, bool], source: str = "preference-center"
    ) -> tuple[int, Any]:
        body = {"consents": consents, "source": source}
        return self.call("PUT", f"/v1/customers/{quote(customer_id, safe='')}/consent", body)

    def run_job(self) -> dict[str, Any]:
        return self.job.invoke({})
