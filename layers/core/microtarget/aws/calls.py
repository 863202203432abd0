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


def object_or_none(what: str, s3: Any, bucket: str, key: str) -> bytes | None:
    """An S3 object's bytes, None if there is none; any other failure a RetryableError naming `what`."""
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise RetryableError(f"{what} unavailable: {exc}") from exc
    except BotoCoreError as exc:
        raise RetryableError(f"{what} unavailable: {exc}") from exc


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
