"""The data lake's record: the event as sent, under the pid, or nothing for what ingest refuses."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from microtarget.archive import lake_records
from microtarget.clock import to_ms
from microtarget.identity import Pseudonymizer, is_pid

from tests.helpers.events import T0, event_dict
from training.sources import load_events, write_events

PIDS = Pseudonymizer("a-test-key-of-enough-length")


def lake_record(data: bytes, pids: Pseudonymizer, arrived, erased: dict[str, int] | None = None) -> bytes | None:
    asked = []
    [line] = lake_records([(data, arrived)], pids, lambda wanted: asked.append(set(wanted)) or (erased or {}))
    assert len(asked) == 1  # one tombstone lookup a batch
    return line


@pytest.mark.parametrize("kind", ["page_view", "purchase", "consent_updated"])
def test_a_valid_event_is_kept_whole_with_the_pid_in_place_of_the_customer_id(kind: str) -> None:
    sent = event_dict(kind, customer="jane.doe@example.com")
    line = lake_record(json.dumps(sent).encode(), PIDS, T0)
    assert line is not None and b"jane.doe" not in line
    assert orjson.loads(line) == sent | {"customer_id": PIDS.pid("jane.doe@example.com")}
    assert is_pid(orjson.loads(line)["customer_id"])


def test_the_anonymous_id_a_login_names_is_archived_as_its_pid_too(tmp_path: Path) -> None:
    sent = event_dict("page_view", customer="jane.doe@example.com") | {"anonymous_id": "cookie-7f3a91"}
    line = lake_record(json.dumps(sent).encode(), PIDS, T0)
    assert line is not None and b"cookie-7f3a91" not in line and b"jane.doe" not in line
    assert orjson.loads(line)["anonymous_id"] == PIDS.pid("cookie-7f3a91")  # the alias ingest merges from
    write_events([sent], str(tmp_path / "lake"), "history", PIDS)  # an imported history: the same
    (event,) = load_events(str(tmp_path / "lake")).events
    assert (event.customer_id, event.anonymous_id) == (PIDS.pid("jane.doe@example.com"), PIDS.pid("cookie-7f3a91"))


@pytest.mark.parametrize(
    "data",
    [
        b'{"event_id": "x", "customer_id": "jane"',  # not JSON
        json.dumps(event_dict("page_view") | {"event_type": "wishlist_add"}).encode(),
        json.dumps({k: v for k, v in event_dict("page_view").items() if k != "customer_id"}).encode(),
        json.dumps(event_dict("page_view", at=T0 + timedelta(minutes=6))).encode(),  # ahead of its arrival
        b"x" * (33 * 1024),
    ],
)
def test_what_ingest_refuses_is_not_archived(data: bytes) -> None:
    assert lake_record(data, PIDS, T0) is None


def test_an_event_from_before_its_customer_s_erasure_is_not_archived_again() -> None:
    erased = {PIDS.pid("jane"): to_ms(T0)}
    old = json.dumps(event_dict("page_view", customer="jane", at=T0 - timedelta(days=2))).encode()
    new = json.dumps(event_dict("page_view", customer="jane", at=T0 + timedelta(seconds=1))).encode()
    other = json.dumps(event_dict("page_view", customer="joe", at=T0 - timedelta(days=2))).encode()
    lines = lake_records([(d, T0 + timedelta(minutes=1)) for d in (old, new, other)], PIDS, lambda _p: erased)
    assert lines[0] is None and lines[1] is not None and lines[2] is not None


def test_only_the_archive_s_shape_counts_as_a_pid() -> None:
    assert is_pid(PIDS.pid("C-1"))
    for raw in ["C-1", "c_" + "0" * 31, "c_" + "G" * 32, "C_" + "0" * 32, PIDS.pid("C-1") + "0", ""]:
        assert not is_pid(raw)


def test_written_history_holds_pids_the_way_the_archive_writes_them(tmp_path: Path) -> None:
    events = [event_dict("purchase", customer=f"C-{i}", at=T0 - timedelta(days=i)) for i in range(6)]
    write_events(events, str(tmp_path / "lake"), "history", PIDS)
    loaded = load_events(str(tmp_path / "lake"))
    assert sorted(e.customer_id for e in loaded.events) == sorted(PIDS.pid(f"C-{i}") for i in range(6))
    lines = [lake_record(json.dumps(e).encode(), PIDS, T0) for e in events]
    assert sorted(e.model_dump(mode="json")["event_id"] for e in loaded.events) == sorted(
        orjson.loads(line)["event_id"] for line in lines if line
    )
