"""The ingest handler's batch contract without Powertools' per-record layer: every record is
decoded, the batch commits once, only the records of customers that could not be written are
reported back (in stream order), and an event of another source is a clear error."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from microtarget.edge.event_source import WrongEvent, check_api, check_source
from microtarget.edge.kinesis_batch import process
from microtarget.errors import RetryableError
from microtarget.identity import Pseudonymizer
from microtarget.ingest import BatchReport, IngestService
from microtarget.profile import Profile

from ops.kinesis_event import kinesis_event
from tests.helpers.events import T0, event_dict
from tests.helpers.fakes import InMemoryProfileStore, ListDeadLetters

KEY = Pseudonymizer("unit-test-key-0123456789")
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/events"


class RefusesOne(InMemoryProfileStore):
    def __init__(self, pid: str) -> None:
        super().__init__()
        self.refused = pid

    def put_many(self, profiles: list[Profile]) -> dict[str, Exception]:
        kept = [p for p in profiles if p.pid != self.refused]
        return super().put_many(kept) | {self.refused: RetryableError("throttled")}


def event_of(*data: bytes) -> dict[str, Any]:
    records = [
        {"SequenceNumber": f"{i:056d}", "PartitionKey": "k", "Data": d, "ApproximateArrivalTimestamp": 0.0}
        for i, d in enumerate(data)
    ]
    return kinesis_event(ARN, "shardId-000000000000", records, "us-east-1")


def ingest(store: InMemoryProfileStore) -> tuple[IngestService, ListDeadLetters]:
    dead = ListDeadLetters()
    return IngestService(store, dead, KEY, clock=lambda: T0 + timedelta(hours=1)), dead


def test_only_the_records_of_an_unwritten_customer_are_reported_in_stream_order() -> None:
    views = [json.dumps(event_dict("product_view", customer=f"C-{i % 2}", minutes=i)).encode() for i in range(6)]
    service, dead = ingest(RefusesOne(KEY.pid("C-1")))
    reports: list[BatchReport] = []
    reply = process(event_of(*views, b"not json"), service, reports.append)
    assert reply == {"batchItemFailures": [{"itemIdentifier": f"{i:056d}"} for i in (1, 3, 5)]}
    (report,) = reports
    assert (report.accepted, report.customers, dict(report.rejected)) == (3, 2, {"invalid_json": 1})
    assert [r.reason.code for r in dead.rejections] == ["invalid_json"]  # rejected, never failed


def test_a_record_that_is_not_base64_is_rejected_not_retried() -> None:
    event = event_of(json.dumps(event_dict("page_view")).encode())
    event["Records"][0]["kinesis"]["data"] = "{not base64!}"
    service, dead = ingest(InMemoryProfileStore())
    assert process(event, service, lambda _report: None) == {"batchItemFailures": []}
    assert [r.reason.code for r in dead.rejections] == ["invalid_json"]


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ({"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}}}]}, "record 0 comes from aws:s3"),
        ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, "record 0 comes from aws:sqs"),
        ({"httpMethod": "GET", "path": "/v1/models"}, "got an event with httpMethod, path"),
        ([1, 2], "got a JSON list"),
        ({}, "got an event with nothing"),
    ],
)
def test_an_event_of_another_source_is_a_clear_error(event: dict[str, Any], says: str) -> None:
    service, _dead = ingest(InMemoryProfileStore())
    with pytest.raises(WrongEvent, match=says):
        process(event, service, lambda _report: None)


def test_the_other_functions_refuse_other_sources_too() -> None:
    kinesis = event_of(b"{}")
    with pytest.raises(WrongEvent, match="takes aws:sqs events; record 0 comes from aws:kinesis"):
        check_source(kinesis, "aws:sqs", "the dispatch function")
    with pytest.raises(WrongEvent, match="API Gateway REST proxy events; got records from aws:kinesis"):
        check_api(kinesis)
    check_api({"httpMethod": "GET", "path": "/v1/models"})  # an API event passes
