"""Each function takes one kind of event. One sent another (an S3 event to ingest, a queue
message to the API: a wrong `sam local invoke -e`, a miswired trigger) is refused with what it
takes and what came, before anything runs."""

from __future__ import annotations

from typing import Any

from microtarget.errors import ConfigurationError


class WrongEvent(ConfigurationError):
    """The function was invoked with an event of another source (an S3 event sent to ingest)."""


def check_source(event: Any, source: str, function: str) -> list[dict[str, Any]]:
    """The event's records, if every one comes from `source` (aws:kinesis, aws:sqs)."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        raise WrongEvent(f"{function} takes {source} events; got {describe(event)}")
    for index, record in enumerate(records):
        came = _source(record)
        if came != source:
            raise WrongEvent(
                f"{function} takes {source} events; record {index} comes from {came or 'an unknown source'}"
            )
    return records


def check_api(event: Any) -> None:
    if not isinstance(event, dict) or "httpMethod" not in event or "path" not in event:
        raise WrongEvent(f"the api function takes API Gateway REST proxy events; got {describe(event)}")


def check_firehose(event: Any) -> None:
    if not isinstance(event, dict) or "deliveryStreamArn" not in event or not isinstance(event.get("records"), list):
        raise WrongEvent(f"the archive function takes Firehose transformation events; got {describe(event)}")


def describe(event: Any) -> str:
    if not isinstance(event, dict):
        return f"a JSON {type(event).__name__}"
    records = event.get("Records")
    if isinstance(records, list) and records:
        return f"records from {_source(records[0]) or 'an unknown source'}"
    return f"an event with {', '.join(sorted(event)[:5]) or 'nothing'}"


def _source(record: Any) -> str | None:
    return (record.get("eventSource") or record.get("EventSource")) if isinstance(record, dict) else None
