"""Erasure at its edges: a dependency down half way, two requests at once, other customers' dead
letters left as they were, a ledger partition past one batch."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from microtarget.aws.ledger import Ledger
from microtarget.aws.privacy_table import PrivacyTable
from microtarget.outcomes import LedgerEntry

from local.aws import LocalAws
from local.privacy_calls import PrivacyCalls
from tests.integration.flow import Flow, flow_of


@pytest.fixture
def flow(local_aws: LocalAws, tmp_path: Path) -> Iterator[Flow]:
    yield from flow_of(local_aws, tmp_path / "logs")


@pytest.fixture
def privacy(local_aws: LocalAws, tmp_path: Path) -> PrivacyCalls:
    return PrivacyCalls(local_aws, tmp_path / "logs")


def test_a_request_failing_half_way_is_finished_by_its_retry_and_the_job(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws
) -> None:
    flow.customer("hal")
    dynamodb, contacts = local_aws.client("dynamodb"), local_aws.ref("ContactsTable")
    [kept] = local_aws.scan("ContactsTable")
    spec = local_aws.resolver.resolve(local_aws.template["Resources"]["ContactsTable"]["Properties"])
    dynamodb.delete_table(TableName=contacts)  # the contacts table is down after the tombstone is written
    status, body = privacy.erase("hal")
    assert status == 503 and "unavailable" in body["code"]
    local_aws._create_table(contacts, spec)  # back, with the customer's details still in it
    boto3.resource("dynamodb", endpoint_url=local_aws.endpoint).Table(contacts).put_item(Item=kept)
    [receipt] = [i for i in local_aws.scan("PrivacyTable") if i["id"].startswith("erasure#")]
    assert set(receipt["done_at"]) == {"profile"}  # what happened before the failure is recorded
    status, again = privacy.erase("hal")  # the client retries: the same erasure, finished in the request
    assert status == 202 and again["erasure_id"] == receipt["erasure_id"]
    assert again["stores"]["contacts"] == {
        "state": "clean",
        "removed": 1,
        "clean_at": again["stores"]["contacts"]["clean_at"],
    }
    assert local_aws.scan("ContactsTable") == []


def test_two_requests_at_once_open_one_erasure(local_aws: LocalAws) -> None:
    book = PrivacyTable(
        boto3.resource("dynamodb", endpoint_url=local_aws.endpoint).Table(local_aws.ref("PrivacyTable"))
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _i: book.request("c_" + "0" * 32, int(time.time() * 1000)), range(8)))
    assert len({erasure.erasure_id for erasure, _new in results}) == 1
    assert sum(new for _erasure, new in results) == 1


def test_the_sweep_leaves_every_other_dead_letter_visible_at_once(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws
) -> None:
    for name in ("ivy", "jon"):
        bad = {"event_id": f"bad-{name}", "event_type": "page_view", "occurred_at": flow.now().isoformat(),
               "customer_id": name, "properties": {"title": 7}}  # fmt: skip
        flow.ingest.send_records([(json.dumps(bad).encode(), name)])
    flow.ingest.run()
    privacy.erase("ivy")
    privacy.run_job()
    left = flow.ingest.rejected()  # received now, without waiting out any visibility timeout
    assert [m["pid"] for m in left] == [flow.pid("jon")]


def test_a_ledger_partition_past_one_batch_is_erased_whole(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws
) -> None:
    pid = flow.pid("kim")
    ledger = Ledger(boto3.resource("dynamodb", endpoint_url=local_aws.endpoint).Table(local_aws.ref("LedgerTable")))
    now_ms = int(flow.now().timestamp() * 1000)
    ledger.record_many([LedgerEntry(pid, f"t{i:032x}", now_ms - i, "sent", "sent") for i in range(260)])
    status, receipt = privacy.erase("kim")
    assert status == 202 and receipt["stores"]["ledger"]["removed"] == 260
    assert [i for i in local_aws.scan("LedgerTable") if i["pid"] == pid] == []
