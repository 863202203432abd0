"""One rule for AWS failures: a service or connection error becomes a RetryableError naming what
was unavailable; the caller decides which service answers are permanent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from microtarget.errors import RetryableError


def call_aws(what: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a boto3 method; a service or connection error becomes a RetryableError naming `what`."""
    try:
        return method(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise RetryableError(f"{what} unavailable: {exc}") from exc


def every_item(what: str, method: Callable[..., Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a DynamoDB query or scan (`method`), page after page."""
    while True:
        page = call_aws(what, method, **kwargs)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
