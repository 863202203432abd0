"""The decisions API for campaign tools: routes validated by Powertools, each one call into the
function's composition root (microtarget.edge.api_root)."""

from __future__ import annotations

import gc

gc.disable()  # init builds only long-lived objects: collection passes during import are wasted cold start

from functools import cache
from typing import Any
from urllib.parse import unquote  # API Gateway delivers path parameters percent-encoded

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.decisions import Context
from microtarget.edge import api_models as api
from microtarget.edge import http_errors, snapstart
from microtarget.edge.api_params import ChannelQuery, ExperimentId, LimitQuery, PageQuery, ProductQuery, serve_openapi
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
    customer_id: str, channel: ChannelQuery = "web", limit: LimitQuery = 3, page: PageQuery = None,
    product_id: ProductQuery = None,
) -> api.DecisionOut:  # fmt: skip
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
def experiment_results(experiment_id: ExperimentId) -> api.ExperimentResults:
    """The newest results of an experiment (python -m training results): arms, sample-ratio check,
    lifts with their fixed-horizon, CUPED and always-valid intervals, and the daily series."""
    return root().experiment_results(unquote(experiment_id))


@app.get("/v1/models", responses=answers(api.ModelsResponse))
def models() -> api.ModelsResponse:
    return root().models()


openapi_document = serve_openapi(app, "/v1/openapi.json", "microtarget decisions API")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    check_api(event)
    metrics.add_metric(name="ApiRequests", unit="Count", value=1)
    return http_errors.unreadable_body(event) or app.resolve(event, context)


snapstart.prepare(lambda: root().warm(), lambda: root().expire())  # load into the snapshot, re-read after
gc.freeze()  # what init built stays out of every later collection
gc.enable()
