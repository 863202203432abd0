"""No value the contract admits can poison a batch: out-of-range values are rejected with a reason,
and a record that still breaks folding is dead-lettered alone while everyone else commits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from microtarget import aggregation
from microtarget.errors import PermanentError
from microtarget.events import json_schema
from microtarget.profile import Profile

from tests.helpers.events import event_dict, raw
from tests.helpers.fakes import InMemoryProfileStore
from tests.helpers.schema_strategy import from_schema
from tests.unit.test_ingest_service import KEY, run, service


def others() -> list[dict[str, Any]]:
    return [event_dict("product_view", customer=f"C-{i}", minutes=i) for i in range(2, 9)]


@pytest.mark.parametrize(
    ("occurred_at", "code"),
    [
        ("0001-01-01T00:00:00Z", "invalid_field"),
        ("9999-12-31T23:59:59+14:00", "invalid_field"),
        ("2020-01-01T00:00:00Z", "timestamp_too_old"),
    ],
)
def test_a_timestamp_out_of_range_is_rejected_and_the_rest_commits(occurred_at: str, code: str) -> None:
    ingest, store, dead = service()
    poison = {**event_dict("purchase", customer="C-1", order_id="O-1", revenue=10.0), "occurred_at": occurred_at}
    report = run(ingest, [raw(e, i) for i, e in enumerate([poison, *others()])])
    assert (report.accepted, dict(report.rejected), report.failed_sequence_numbers) == (7, {code: 1}, set())
    assert [r.reason.field for r in dead.rejections] == ["occurred_at"]
    assert len(store.get_many(ingest._pseudonymizer.pid(f"C-{i}") for i in range(2, 9))) == 7


def test_a_record_that_breaks_folding_is_dead_lettered_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a search whose folding raises (a value no check foresaw), beside the same customer's views
    real = aggregation._APPLY["search"]

    def explode(profile: Any, event: Any, *rest: Any) -> None:
        if event.properties.query == "boom":
            raise OverflowError("date value out of range")
        real(profile, event, *rest)

    monkeypatch.setitem(aggregation._APPLY, "search", explode)
    ingest, store, dead = service()
    mine = [event_dict("product_view", customer="C-1", minutes=m) for m in (1, 3)]
    poison = event_dict("search", customer="C-1", minutes=2, query="boom")
    fine = event_dict("search", customer="C-1", minutes=4, query="boots")
    report = run(ingest, [raw(e, i) for i, e in enumerate([*mine, poison, fine, *others()])])
    # Then only the poison record is rejected, with its cause; C-1's other events and everyone else commit
    assert (report.accepted, dict(report.rejected), report.failed_sequence_numbers) == (10, {"unprocessable": 1}, set())
    assert json.loads(dead.rejections[0].data)["event_id"] == poison["event_id"]
    assert "OverflowError" in dead.rejections[0].reason.message
    profile = store.get_many([ingest._pseudonymizer.pid("C-1")])[ingest._pseudonymizer.pid("C-1")]
    assert sum(b.get("pv", 0) for b in profile.days.values()) == 2
    assert sum(b.get("q", 0) for b in profile.days.values()) == 1


_SCHEMA = json_schema()
_valid = st.builds(
    lambda m, c: event_dict("product_view", customer=f"V-{c}", minutes=m), st.integers(0, 50), st.integers(0, 5)
)
_records = st.lists(st.one_of(from_schema(_SCHEMA), _valid, st.binary(max_size=64)), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_records)
def test_any_records_the_schema_allows_mixed_with_traffic_never_fail_the_batch(records: list[Any]) -> None:
    ingest, _store, _dead = service()
    report = run(ingest, [raw(r, i) for i, r in enumerate(records)])
    assert report.failed_sequence_numbers == set()
    assert report.accepted + report.duplicates + sum(report.rejected.values()) == len(records)


def test_a_year_one_timestamp_is_refused_by_the_contract_itself() -> None:
    from microtarget.events import EVENT_ADAPTER
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="greater than or equal to 2000"):
        EVENT_ADAPTER.validate_python({**event_dict("page_view"), "occurred_at": "0001-01-01T00:00:00Z"})


class RefusingStore(InMemoryProfileStore):
    """DynamoDB refusing one customer's item for its size, as it does past 400 KB."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    def put_many(self, profiles: list[Profile]) -> dict[str, Exception]:
        too_large = PermanentError("profile_too_large", "DynamoDB refused the profile item for its size")
        failures: dict[str, Exception] = {p.pid: too_large for p in profiles if p.pid == self.refused}
        return failures | super().put_many([p for p in profiles if p.pid != self.refused])


def test_a_profile_refused_for_its_size_dead_letters_its_records_instead_of_retrying_forever() -> None:
    ingest, _store, dead = service(RefusingStore(KEY.pid("C-1")))
    mine = [event_dict("product_view", customer="C-1", minutes=m) for m in (1, 2)]
    report = run(ingest, [raw(e, i) for i, e in enumerate([*mine, *others()])])
    assert report.failed_sequence_numbers == set()
    assert (report.accepted, dict(report.rejected)) == (7, {"profile_too_large": 2})
    assert {json.loads(r.data)["event_id"] for r in dead.rejections} == {e["event_id"] for e in mine}
