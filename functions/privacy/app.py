"""The personal-data routes (IAM-authorized: never the campaign tools' API key): erasure requests
and their receipts, and access exports. Each call is audited before it runs."""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import unquote  # API Gateway delivers path parameters percent-encoded

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.edge import http_errors
from microtarget.edge.event_source import check_api
from microtarget.edge.http_errors import ERROR_RESPONSES
from microtarget.edge.privacy_root import PrivacyRoot
from microtarget.edge.settings import PrivacySettings, load_settings
from microtarget.edge.wiring import Aws

logger, metrics = Logger(), Metrics()
app = APIGatewayRestResolver()
http_errors.register(app, logger, metrics)


@cache
def root() -> PrivacyRoot:
    return PrivacyRoot(load_settings(PrivacySettings), Aws())


def audit(action: str, customer_id: str) -> str:
    context = app.current_event.request_context
    who = context.identity.user_arn or context.identity.caller or "unknown"
    return root().audited(context.request_id, who, action, unquote(customer_id))


@app.delete("/v1/customers/<customer_id>", responses={202: {"description": "Erasure started"}, **ERROR_RESPONSES})
def erase(customer_id: str):  # a Response annotation would enter the schema
    audit("erase", customer_id)
    receipt = root().erase(unquote(customer_id))
    metrics.add_metric(name="ErasuresRequested", unit="Count", value=1)
    return Response(202, "application/json", json.dumps(receipt))


@app.get("/v1/erasures/<erasure_id>")
def erasure(erasure_id: str):  # a Response annotation would enter the schema
    receipt = root().receipt(unquote(erasure_id))
    if receipt is None:
        return Response(404, "application/json", json.dumps({"code": "not_found", "message": "no such erasure"}))
    return receipt


@app.get("/v1/customers/<customer_id>/data")
def access(customer_id: str) -> dict[str, Any]:
    audit("access", customer_id)
    return root().access(unquote(customer_id))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    check_api(event)
    metrics.add_metric(name="PrivacyRequests", unit="Count", value=1)
    return app.resolve(event, context)
