"""Ingest a batch: bad records go to dead letters with reasons, the rest commit once per customer."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from microtarget.errors import RetryableError
from microtarget.identity import Pseudonymizer
from microtarget.ingest import IngestService, RawRecord
from microtarget.ports import Rejection, VersionConflict
from microtarget.profile import Profile

from tests.helpers.events import T0, event_dict, raw
from tests.helpers.fakes import InMemoryProfileStore, ListDeadLetters

KEY = Pseudonymizer("unit-test-key-0123456789")


def service(store: Any = None, dead_letters: Any = None) -> tuple[IngestService, Any, Any]:
    store = store or InMemoryProfileStore()
    dead_letters = dead_letters or ListDeadLetters()
    return IngestService(store, dead_letters, KEY, clock=lambda: T0 + timedelta(hours=1)), store, dead_letters


def run(ingest: IngestService, records: list[RawRecord]) -> Any:
    return ingest.commit(ingest.decode(records))


def mixed_batch() -> list[RawRecord]:
    good = [event_dict("product_view", customer=f"C-{i % 3}", minutes=i) for i in range(9)]
    bad: list[dict[str, Any] | bytes] = [
        b"not json",
        {**event_dict("page_view"), "event_type": "teleport"},
        {k: v for k, v in event_dict("page_view").items() if k != "customer_id"},
        event_dict("add_to_cart", price="free"),
        event_dict("page_view", title="x" * 40_000),
        event_dict("page_view", at=T0 + timedelta(days=3)),
        {**event_dict("page_view"), "schema_version": 9},
    ]
    records: list[dict[str, Any] | bytes] = [*good[:4], *bad, *good[4:]]
    return [raw(item, i) for i, item in enumerate(records)]


def test_bad_records_are_dead_lettered_and_the_rest_commits() -> None:
    ingest, store, dead = service()
    batch = mixed_batch()
    report = run(ingest, batch)
    assert report.accepted == 9 and sum(report.rejected.values()) == 7
    assert report.accepted + sum(report.rejected.values()) == len(batch)
    assert set(report.rejected) == {
        "invalid_json",
        "unknown_event_type",
        "missing_field",
        "invalid_field",
        "oversized",
        "timestamp_in_future",
        "unsupported_schema_version",
    }
    assert not report.failed_sequence_numbers
    assert len(store.items) == 3
    kept = {r.source["sequence_number"]: r for r in dead.rejections}
    assert kept["00000000000000000004"].data == b"not json"  # the record itself is kept
    assert all(r.reason.message for r in dead.rejections)


def test_one_write_per_customer_per_batch() -> None:
    ingest, store, _ = service()
    report = run(ingest, mixed_batch())
    assert store.writes == report.profiles_written == report.customers == 3


def test_replaying_a_batch_three_times_leaves_profiles_identical() -> None:
    ingest, store, _ = service()
    batch = mixed_batch()
    run(ingest, batch)
    snapshot = json.dumps(store.items, sort_keys=True)
    for _ in range(3):
        report = run(ingest, batch)
        assert report.accepted == 0 and report.duplicates == 9
    assert json.dumps(store.items, sort_keys=True) == snapshot


def test_raw_customer_id_never_reaches_the_store() -> None:
    ingest, store, _ = service()
    run(ingest, mixed_batch())
    stored = json.dumps(store.items)
    assert all(f"C-{i}" not in stored for i in range(3))
    assert set(store.items) == {KEY.pid(f"C-{i}") for i in range(3)}


def test_late_event_beyond_tolerance_is_dead_lettered_with_its_record() -> None:
    ingest, _, dead = service()
    run(ingest, [raw(event_dict("page_view"), 1)])
    report = run(ingest, [raw(event_dict("page_view", at=T0 - timedelta(days=5)), 2)])
    assert report.rejected == {"late_event": 1}
    assert dead.rejections[-1].source["sequence_number"] == "00000000000000000002"


class ConflictOnce(InMemoryProfileStore):
    """Another writer updates the profile between our read and our write, once."""

    def __init__(self) -> None:
        super().__init__()
        self.raced = False

    def put(self, profile: Profile) -> None:
        if not self.raced and profile.pid in self.items:
            self.raced = True
            self.items[profile.pid]["version"] += 1
            raise VersionConflict(profile.pid)
        super().put(profile)


def test_version_conflict_is_resolved_by_reading_again() -> None:
    ingest, store, _ = service(store=ConflictOnce())
    run(ingest, [raw(event_dict("page_view"), 1)])
    report = run(ingest, [raw(event_dict("purchase", minutes=5), 2)])
    assert store.raced and not report.failed_sequence_numbers
    assert store.get_many([KEY.pid("C-1")])[KEY.pid("C-1")].orders == 1


class BrokenStore(InMemoryProfileStore):
    def put_many(self, profiles: list[Profile]) -> dict[str, Exception]:
        return {profile.pid: RetryableError("throttled") for profile in profiles}


def test_failed_profile_write_reports_that_customers_records_for_retry() -> None:
    ingest, _, _ = service(store=BrokenStore())
    records = [raw(event_dict("page_view", customer="C-9"), 1), raw(b"junk", 2)]
    report = run(ingest, records)
    assert report.failed_sequence_numbers == {"00000000000000000001"}
    assert report.accepted == 0
    # and the cause is reported with the customer's pid, for the log line an operator reads
    assert [(f.cause, f.customer_pid, f.sequence_numbers) for f in report.failures] == [
        ("throttled", KEY.pid("C-9"), ["00000000000000000001"])
    ]


class DownDeadLetters(ListDeadLetters):
    def send(self, rejections: list[Rejection]) -> int:
        raise RetryableError("queue unavailable")


def test_unreachable_dead_letter_queue_fails_the_rejected_records_only() -> None:
    ingest, store, _ = service(dead_letters=DownDeadLetters())
    report = run(ingest, [raw(event_dict("page_view"), 1), raw(b"junk", 2)])
    assert report.failed_sequence_numbers == {"00000000000000000002"}
    assert len(store.items) == 1
    assert [f.cause for f in report.failures] == ["dead letters not stored: queue unavailable"]


@pytest.mark.parametrize("size", [1, 500])
def test_batch_sizes_commit_every_customer(size: int) -> None:
    ingest, store, _ = service()
    records = [raw(event_dict("page_view", customer=f"C-{i}", minutes=i % 50), i) for i in range(size)]
    report = run(ingest, records)
    assert report.accepted == size and len(store.items) == size
