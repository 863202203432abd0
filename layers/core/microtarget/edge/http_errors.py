"""What the decisions API answers when a request does not succeed, mapped by error type only.

Client errors come from validation (422, each problem with loc, msg and type, never the input
echoed back) and from the project's own PermanentError (400). A dependency down is an opaque
503 and a fault of ours an opaque 500, both logged with their cause: no response body carries
a botocore message, a stack trace or stored data.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from microtarget.errors import NotFound, PermanentError, RetryableError


class ErrorOut(BaseModel):
    code: str
    message: str
    field: str | None = None


def _error(status: int, code: str, message: str, field: str | None = None) -> Response:
    return Response(status, "application/json", ErrorOut(code=code, message=message, field=field).model_dump_json())


def _json(status: int, body: Any) -> Response:
    return Response(status, "application/json", json.dumps(body))


def _methods_for(app: Any, path: str) -> list[str]:
    """The methods the API has for a path (the resolver keeps its routes as compiled rules)."""
    routes = getattr(app, "_static_routes", []) + getattr(app, "_dynamic_routes", [])
    return sorted({route.method for route in routes if route.rule.match(path)})


def answers(model: Any, status: int = 200, description: str = "Successful Response") -> dict[int, OpenAPIResponse]:
    """A route's documented responses: its own, then the errors every route may answer."""
    own: OpenAPIResponse = {"description": description, "content": {"application/json": {"model": model}}}
    return {status: own, **ERROR_RESPONSES}


NOT_FOUND: dict[int, OpenAPIResponse] = {
    404: {"description": "Nothing of that id (yet)", "content": {"application/json": {"model": ErrorOut}}}
}
ERROR_RESPONSES: dict[int, OpenAPIResponse] = {
    400: {"description": "Refused: the reason names the field", "content": {"application/json": {"model": ErrorOut}}},
    503: {"description": "A dependency is unavailable: retry", "content": {"application/json": {"model": ErrorOut}}},
}


def register(app: Any, logger: Any, metrics: Any) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    @app.exception_handler(RequestValidationError)
    def invalid(error: RequestValidationError) -> Response:
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg") or e.get("type")), "type": str(e.get("type"))}
            for e in error.errors()
        ]
        return _json(422, {"detail": detail})

    @app.exception_handler(PermanentError)
    def refused(error: PermanentError) -> Response:
        return _error(400, error.code, error.message, error.field)

    @app.exception_handler(NotFound)
    def missing(error: NotFound) -> Response:
        return _error(404, "not_found", str(error))

    @app.exception_handler(RecursionError)
    def too_deep(error: RecursionError) -> Response:
        return _error(400, "bad_request", "the JSON body is nested too deeply")

    @app.exception_handler(ServiceError)
    def platform(error: ServiceError) -> Response:  # Powertools' own: not found, method not allowed …
        if isinstance(error, NotFoundError) and (allowed := _methods_for(app, app.current_event.path)):
            body = json.dumps({"statusCode": 405, "message": "Method not allowed"})
            return Response(405, "application/json", body, headers={"Allow": ", ".join(allowed)})
        return _json(error.status_code, {"statusCode": error.status_code, "message": error.msg})

    @app.exception_handler(RetryableError)
    def unavailable(error: RetryableError) -> Response:
        logger.warning("dependency unavailable", reason=str(error))
        metrics.add_metric("ApiUnavailable", MetricUnit.Count, 1)
        return _error(503, "unavailable", "a service the API depends on is unavailable: retry shortly")

    @app.exception_handler(Exception)
    def fault(error: Exception) -> Response:
        logger.exception("internal error", error_type=type(error).__name__)
        metrics.add_metric("ApiInternalErrors", MetricUnit.Count, 1)
        return _error(500, "internal_error", "internal error")


def unreadable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """The REST proxy answer for a body that is not UTF-8 JSON (415 or 400), before routing: the
    resolver would otherwise fail on it as on a fault of ours."""
    body = event.get("body")
    if not body:
        return None
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    if not headers.get("content-type", "application/json").startswith("application/json"):
        return _proxy(415, "unsupported_media_type", "send the body as application/json")
    if event.get("isBase64Encoded"):
        try:
            base64.b64decode(body).decode("utf-8")
        except ValueError:  # binascii.Error and UnicodeDecodeError both are
            return _proxy(400, "bad_request", "the body is not UTF-8 text")
    return None


def _proxy(status: int, code: str, message: str) -> dict[str, Any]:
    body = ErrorOut(code=code, message=message).model_dump_json()
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": body}
