"""The v1 contract: every type round-trips, and the committed JSON Schema matches the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from microtarget.events import EVENT_ADAPTER, EVENT_TYPES, json_schema

from tests.helpers.events import DEFAULT_PROPERTIES, event_dict

ROOT = Path(__file__).resolve().parents[2]


def test_every_event_type_has_a_sample_and_a_model() -> None:
    assert set(DEFAULT_PROPERTIES) == set(EVENT_TYPES)
    mapping = json_schema()["discriminator"]["mapping"]
    assert set(mapping) == set(EVENT_TYPES)


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_event_round_trips_through_json(kind: str) -> None:
    # Given a valid event of this type
    original = EVENT_ADAPTER.validate_python(event_dict(kind))
    # When it is serialized and parsed again
    again = EVENT_ADAPTER.validate_json(EVENT_ADAPTER.dump_json(original))
    # Then nothing changed, the zone included
    assert again == original
    assert again.occurred_at.utcoffset() is not None


def test_committed_json_schema_matches_the_models() -> None:
    committed = json.loads((ROOT / "schemas" / "event-v1.schema.json").read_text())
    assert committed == json_schema(), "schema drifted: run `make schema` and commit the result"


def test_sample_events_for_sam_local_invoke_are_kinesis_events() -> None:
    for path in sorted((ROOT / "events").glob("kinesis-*.json")):
        records = json.loads(path.read_text())["Records"]
        assert records, path
        assert all(r["eventSource"] == "aws:kinesis" and "data" in r["kinesis"] for r in records), path
