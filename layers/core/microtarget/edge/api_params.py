"""The decisions API's query and path parameters as Powertools validates and documents them, and
the route that serves the API's own OpenAPI document (generated once, at the first request)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from microtarget.campaigns import ID_PATTERN, Page
from microtarget.edge.api_models import ApiChannel

ChannelQuery = Annotated[ApiChannel, Query()]
LimitQuery = Annotated[int, Query(ge=1, le=10)]
PageQuery = Annotated[Page | None, Query(description="the site page the answer is for (web)")]
ProductQuery = Annotated[str | None, Query(min_length=1, max_length=64, description="the product on it")]
ExperimentId = Annotated[str, Path(pattern=ID_PATTERN, description="as the campaigns file names it")]


def serve_openapi(app: Any, path: str, title: str) -> Callable[[], str]:
    """GET `path`: the document of every route `app` has (kept out of the document itself);
    returns what makes the document (`make openapi` prints it)."""

    @cache  # the routes do not change after init
    def document() -> str:
        return str(app.get_openapi_json_schema(title=title, version="1.0.0"))

    @app.get(path, include_in_schema=False)
    def openapi():  # a Response annotation would enter the schema
        return Response(200, "application/json", document())

    return document
