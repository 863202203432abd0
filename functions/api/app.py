"""The decisions API for campaign tools: thin routes over decide(), validated by Powertools."""

from __future__ import annotations

import gc

gc.disable()  # init builds only long-lived objects: collection passes during import are wasted cold start

from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any
from urllib.parse import unquote  # API Gateway delivers path parameters percent-encoded

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.aws.contacts import ContactBook
from microtarget.aws.event_intake import EventIntake
from microtarget.campaigns import Page
from microtarget.contacts import Contact
from microtarget.decision_service import DecisionService, Request
from microtarget.decisions import Context
from microtarget.edge import http_errors, snapstart
from microtarget.edge.api_models import (
    ApiChannel,
    DecisionOut,
    DecisionsRequest,
    DecisionsResponse,
    EventsRequest,
    EventsResponse,
    ExposuresRequest,
    ExposuresResponse,
    ModelsResponse,
    Rejection,
)
from microtarget.edge.api_root import contact_book, decision_service, event_intake
from microtarget.edge.event_source import check_api
from microtarget.edge.http_errors import ERROR_RESPONSES, answers
from microtarget.edge.reporting import problem_reporter
from microtarget.edge.settings import ApiSettings, load_settings
from microtarget.edge.wiring import Aws

logger = Logger()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
http_errors.register(app, logger, metrics)
aws = Aws()  # this function's clients, made on first use


@cache
def settings() -> ApiSettings:
    return load_settings(ApiSettings)


@cache
def service() -> DecisionService:
    return decision_service(settings(), aws, problem_reporter(metrics, logger))


@cache
def contacts() -> ContactBook:
    return contact_book(settings(), aws)


@cache
def intake() -> EventIntake:
    return event_intake(settings(), aws)


def _decide_many(requests: Sequence[Request], limit: int) -> list[DecisionOut]:
    outs = [DecisionOut.of(decision) for decision in service().decide_many(requests, limit)]
    metrics.add_metric("Decisions", MetricUnit.Count, len(outs))
    metrics.add_metric("DecisionsFallback", MetricUnit.Count, sum(bool(o.fallback) for o in outs))
    return outs


@app.get("/v1/customers/<customer_id>/offers", responses=answers(DecisionOut))
def customer_offers(
    customer_id: str,
    channel: Annotated[ApiChannel, Query()] = "web",
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
    page: Annotated[Page | None, Query(description="the site page the answer is for (web)")] = None,
    product_id: Annotated[str | None, Query(min_length=1, max_length=64, description="the product on it")] = None,
) -> DecisionOut:
    return _decide_many([(unquote(customer_id), channel, Context(page, product_id))], limit)[0]


@app.post("/v1/decisions", responses=answers(DecisionsResponse))
def decisions(request: DecisionsRequest) -> DecisionsResponse:
    requests = [(c.customer_id, c.channel, c.context.domain()) for c in request.customers]
    return DecisionsResponse(decisions=_decide_many(requests, request.limit))


@app.post("/v1/events", responses=answers(EventsResponse))
def server_events(request: EventsRequest) -> EventsResponse:
    accepted, rejected = intake().publish(request.events)
    return EventsResponse(accepted=accepted, rejected=[Rejection.of(index, reason) for index, reason in rejected])


@app.post("/v1/exposures", responses=answers(ExposuresResponse))
def exposures(request: ExposuresRequest) -> ExposuresResponse:
    """What the campaign tool did with decisions: sent an offer (counts toward caps, gets the credit for a
    purchase) or held the customer out (the control side of the lift)."""
    reports = [(e.customer_id, e.decision_id, e.channel, e.offer_id, e.exposed_at) for e in request.exposures]
    rejected = service().record_exposures(reports)
    metrics.add_metric("ExposuresRecorded", MetricUnit.Count, len(reports) - len(rejected))
    return ExposuresResponse(
        recorded=len(reports) - len(rejected),
        rejected=[Rejection.of(index, reason) for index, reason in rejected],
    )


@app.put("/v1/customers/<customer_id>/contact", responses={204: {"description": "Stored (sealed)"}, **ERROR_RESPONSES})
def put_contact(customer_id: str, contact: Contact):  # a Response annotation would enter the schema
    """Where dispatch may reach the customer; stored encrypted, readable only by dispatch."""
    contacts().put(service().pseudonymize(unquote(customer_id)), contact)
    return Response(204)


@app.delete("/v1/customers/<customer_id>/contact", responses={204: {"description": "Erased"}, **ERROR_RESPONSES})
def delete_contact(customer_id: str):
    contacts().erase(service().pseudonymize(unquote(customer_id)))
    return Response(204)


@app.get("/v1/models", responses=answers(ModelsResponse))
def models() -> ModelsResponse:
    return ModelsResponse.of(service().state)


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi():  # a Response annotation would enter the schema
    return Response(200, "application/json", openapi_document())


def openapi_document() -> str:
    return app.get_openapi_json_schema(title="microtarget decisions API", version="1.0.0")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    check_api(event)
    metrics.add_metric("ApiRequests", MetricUnit.Count, 1)
    return http_errors.unreadable_body(event) or app.resolve(event, context)


def warm() -> None:
    service().state.campaigns()
    service().state.models()


snapstart.prepare(warm, lambda: service().state.expire())  # SnapStart: load into the snapshot
gc.freeze()  # what init built stays out of every later collection
gc.enable()
