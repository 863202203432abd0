"""The decisions API for campaign tools: routes validated by Powertools, each one call into the
function's composition root (microtarget.edge.api_root)."""

from __future__ import annotations

import gc

gc.disable()  # init builds only long-lived objects: collection passes during import are wasted cold start

from functools import cache
from typing import Annotated, Any
from urllib.parse import unquote  # API Gateway delivers path parameters percent-encoded

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.campaigns import ID_PATTERN, Page
from microtarget.decisions import Context
from microtarget.edge import api_models as api
from microtarget.edge import http_errors, snapstart
from microtarget.edge.api_root import ApiRoot
from microtarget.edge.event_source import check_api
from microtarget.edge.http_errors import answers
from microtarget.edge.reporting import problem_reporter
from microtarget.edge.settings import ApiSettings, load_settings
from microtarget.edge.wiring import Aws

logger, metrics = Logger(), Metrics()
app = APIGatewayRestResolver(enable_validation=True)
http_errors.register(app, logger, metrics)


@cache
def root() -> ApiRoot:
    return ApiRoot(load_settings(ApiSettings), Aws(), metrics, problem_reporter(metrics, logger))


@app.get("/v1/customers/<customer_id>/offers", responses=answers(api.DecisionOut))
def customer_offers(
    customer_id: str,
    channel: Annotated[api.ApiChannel, Query()] = "web",
    limit: Annotated[int, Query(ge=1, le=10)] = 3,
    page: Annotated[Page | None, Query(description="the site page the answer is for (web)")] = None,
    product_id: Annotated[str | None, Query(min_length=1, max_length=64, description="the product on it")] = None,
) -> api.DecisionOut:
    return root().decide([(unquote(customer_id), channel, Context(page, product_id))], limit)[0]


@app.post("/v1/decisions", responses=answers(api.DecisionsResponse))
def decisions(request: api.DecisionsRequest) -> api.DecisionsResponse:
    return root().decide_batch(request)


@app.post("/v1/events", responses=answers(api.EventsResponse))
def server_events(request: api.EventsRequest) -> api.EventsResponse:
    return root().publish(request)


@app.post("/v1/exposures", responses=answers(api.ExposuresResponse))
def exposures(request: api.ExposuresRequest) -> api.ExposuresResponse:
    """What the campaign tool did with decisions: sent an offer (counts toward caps, gets the credit for a
    purchase) or held the customer out (the control side of the lift)."""
    return root().record(request)


@app.get("/v1/experiments/<experiment_id>/results", responses=answers(api.ExperimentResults) | http_errors.NOT_FOUND)
def experiment_results(
    experiment_id: Annotated[str, Path(pattern=ID_PATTERN, description="as the campaigns file names it")],
) -> api.ExperimentResults:
    """The newest results of an experiment (python -m training results): arms, sample-ratio check,
    lifts with their fixed-horizon, CUPED and always-valid intervals, and the daily series."""
    return root().experiment_results(unquote(experiment_id))


@app.get("/v1/models", responses=answers(api.ModelsResponse))
def models() -> api.ModelsResponse:
    return root().models()


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi():  # a Response annotation would enter the schema
    return Response(200, "application/json", openapi_document())


@cache  # the routes do not change after init: generated once, not per request
def openapi_document() -> str:
    return app.get_openapi_json_schema(title="microtarget decisions API", version="1.0.0")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    check_api(event)
    metrics.add_metric(name="ApiRequests", unit="Count", value=1)
    return http_errors.unreadable_body(event) or app.resolve(event, context)


snapstart.prepare(lambda: root().warm(), lambda: root().expire())  # load into the snapshot, re-read after
gc.freeze()  # what init built stays out of every later collection
gc.enable()
