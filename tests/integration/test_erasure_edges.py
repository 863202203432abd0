"""Erasure at its edges: a dependency down half way, two requests at once, other customers' dead
letters left as they were, a ledger partition past one batch."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from microtarget.aws.ledger import Ledger
from microtarget.aws.privacy_table import PrivacyTable
from microtarget.outcomes import LedgerEntry

from local.aws import LocalAws
from local.privacy import bucket_texts, traces
from local.privacy_calls import PrivacyCalls
from tests.helpers.events import event_dict
from tests.integration.flow import Flow
from training.sources import write_events


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


def test_what_the_archive_could_not_transform_is_searched_too(flow: Flow, privacy: PrivacyCalls) -> None:
    archive = flow.ingest.archive
    assert archive.transform is not None
    working = archive.transform.invoke

    def failing(event: dict) -> dict:  # the transformation function times out on this batch
        raise TimeoutError("Task timed out after 120.00 seconds")

    archive.transform.invoke = failing  # type: ignore[method-assign]
    flow.customer("lea-4711")
    flow.events(("page_view", "mo-0815", 0, {}))
    archive.transform.invoke = working  # type: ignore[method-assign]
    assert archive.records_failed == 2  # written whole under firehose-errors/, the raw id inside base64
    privacy.erase("lea-4711")
    flow.dispatch.later(hours=25)
    privacy.run_job()
    s3, bucket = flow.aws.client("s3"), flow.aws.ref("DataLakeBucket")
    texts = list(bucket_texts(s3, bucket, "firehose-errors/"))
    raw = [json.loads(base64.b64decode(json.loads(line)["rawData"])) for text in texts for line in text.splitlines()]
    assert [event["customer_id"] for event in raw] == ["mo-0815"]  # the other customer's failed record stays


def test_an_erasure_whose_receipt_was_never_written_is_finished_by_the_next_request(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws
) -> None:
    flow.customer("ned")
    _status, first = privacy.erase("ned")
    table = boto3.resource("dynamodb", endpoint_url=local_aws.endpoint).Table(local_aws.ref("PrivacyTable"))
    table.delete_item(Key={"id": f"erasure#{first['erasure_id']}"})  # a crash between the claim and the receipt
    status, again = privacy.erase("ned")
    assert status == 202 and again["erasure_id"] == first["erasure_id"]
    flow.dispatch.later(hours=25)
    assert privacy.run_job()["completed"] == 1


def test_history_older_than_the_profile_and_writes_racing_the_request_are_erased(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws
) -> None:
    pid = flow.pid("ola")
    old = event_dict("purchase", customer="ola", at=datetime(2024, 1, 5, 12, tzinfo=UTC))
    write_events([old], f"s3://{local_aws.ref('DataLakeBucket')}", "orders", flow.pseudonymizer)  # an order import
    flow.customer("ola")  # whose profile begins in 2026
    privacy.erase("ola")
    ledger = Ledger(boto3.resource("dynamodb", endpoint_url=local_aws.endpoint).Table(local_aws.ref("LedgerTable")))
    ledger.record(LedgerEntry(pid, "t" + "1" * 32, int(flow.now().timestamp() * 1000), "sent", "sent"))  # raced
    flow.dispatch.later(hours=25)
    assert privacy.run_job()["completed"] == 1
    assert traces(local_aws, [pid, "ola"], skip=["PrivacyTable", "ProfilesTable"]) == {}


def test_an_order_history_imported_after_an_erasure_leaves_the_erased_out(
    local_aws: LocalAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from microtarget.aws.profile_store import DynamoProfileStore
    from microtarget.identity import Pseudonymizer
    from microtarget.profile import Profile

    from training.cli import main as cli
    from training.sources import load_events

    monkeypatch.setenv("TEST_PSEUDONYM_KEY", "a-test-key-of-enough-length")
    pids = Pseudonymizer("a-test-key-of-enough-length")
    table = boto3.resource("dynamodb", endpoint_url=local_aws.endpoint).Table(local_aws.ref("ProfilesTable"))
    erased_at = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)
    DynamoProfileStore(table).put(Profile(pids.pid("C-9"), erased_before=erased_at))
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "customer_id,date,quantity,amount\nC-9,2026-03-01,1,10\nC-1,2026-03-01,1,20\nC-9,2026-07-01,1,5\n"
    )
    out = tmp_path / "lake"
    assert cli(["import-csv", str(orders), "--out", str(out), "--key-env", "TEST_PSEUDONYM_KEY",
                "--profiles-table", local_aws.ref("ProfilesTable")]) == 0  # fmt: skip
    kept = {(e.customer_id, e.occurred_at.date().isoformat()) for e in load_events(str(out)).events}
    assert kept == {(pids.pid("C-1"), "2026-03-01"), (pids.pid("C-9"), "2026-07-01")}  # after the erasure: new
