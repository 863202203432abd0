"""The personal-data routes (IAM-authorized: never the campaign tools' API key), each one call into
the composition root (microtarget.edge.privacy_root), which audits it before it runs."""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import unquote  # API Gateway delivers path parameters percent-encoded

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.contacts import Contact
from microtarget.edge import http_errors
from microtarget.edge.event_source import check_api
from microtarget.edge.http_errors import ERROR_RESPONSES
from microtarget.edge.privacy_models import ConsentRequest
from microtarget.edge.privacy_root import Caller, PrivacyRoot
from microtarget.edge.settings import PrivacySettings, load_settings
from microtarget.edge.wiring import Aws

logger, metrics = Logger(), Metrics()
app = APIGatewayRestResolver(enable_validation=True)
http_errors.register(app, logger, metrics)


@cache
def root() -> PrivacyRoot:
    return PrivacyRoot(load_settings(PrivacySettings), Aws())


def caller() -> Caller:
    context = app.current_event.request_context
    return Caller(context.request_id, context.identity.user_arn or context.identity.caller or "unknown")


@app.delete("/v1/customers/<customer_id>", responses={202: {"description": "Erasure started"}, **ERROR_RESPONSES})
def erase(customer_id: str):  # a Response annotation would enter the schema
    receipt = root().erase(caller(), unquote(customer_id))
    metrics.add_metric(name="ErasuresRequested", unit="Count", value=1)
    return Response(202, "application/json", json.dumps(receipt))


@app.get("/v1/erasures/<erasure_id>")
def erasure(erasure_id: str):
    receipt = root().receipt(unquote(erasure_id)) or {"code": "not_found", "message": "no such erasure"}
    return Response(200 if "erasure_id" in receipt else 404, "application/json", json.dumps(receipt))


@app.get("/v1/customers/<customer_id>/data")
def access(customer_id: str) -> dict[str, Any]:
    return root().access(caller(), unquote(customer_id))


@app.put("/v1/customers/<customer_id>/consent")
def consent(customer_id: str, request: ConsentRequest) -> dict[str, Any]:
    return root().set_consent(caller(), unquote(customer_id), request)


@app.put("/v1/customers/<customer_id>/contact", responses={204: {"description": "Stored (sealed)"}, **ERROR_RESPONSES})
def put_contact(customer_id: str, contact: Contact):
    """Where dispatch may reach the customer; stored encrypted, readable only by dispatch."""
    root().store_contact(caller(), unquote(customer_id), contact)
    return Response(204)


@app.delete("/v1/customers/<customer_id>/contact", responses={204: {"description": "Erased"}, **ERROR_RESPONSES})
def delete_contact(customer_id: str):
    root().erase_contact(caller(), unquote(customer_id))
    return Response(204)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    check_api(event)
    metrics.add_metric(name="PrivacyRequests", unit="Count", value=1)
    return http_errors.unreadable_body(event) or app.resolve(event, context)
