"""Training's replay gives exactly the feature vector that ingest + serving compute."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.events import EVENT_ADAPTER
from microtarget.features import FEATURE_NAMES, feature_dict, feature_vector

from local.pipeline import IngestPipeline
from tests.helpers.events import NOW, with_logins
from training import build
from training.dataset import replay_customer
from training.sources import write_events
from training.synthetic import generate


def test_training_replay_matches_the_profile_ingest_built(pipeline: IngestPipeline) -> None:
    # Given the same synthetic events, streamed through Kinesis and ingest into DynamoDB
    traffic = generate(30, 3, seed=17, end=NOW)
    pipeline.send_events(traffic.events)
    pipeline.run()
    profiles = pipeline.profiles()
    pseudonymizer = pseudonymizer_from_secret(pipeline.aws.ref("PseudonymSecret"))
    now = NOW
    # When training replays each customer's events up to now
    by_customer = defaultdict(list)
    for event in traffic.events:
        by_customer[event["customer_id"]].append(EVENT_ADAPTER.validate_python(event))
    compared = 0
    for customer, events in by_customer.items():
        training = replay_customer(customer, events, [now], timedelta(days=14)).features[0]
        serving = feature_vector(profiles[pseudonymizer.pid(customer)], now)
        # Then every feature is bit-for-bit the same
        differing = [name for name, a, b in zip(FEATURE_NAMES, training, serving, strict=True) if a != b]
        assert differing == [], customer
        assert np.array_equal(training, serving)
        compared += 1
    assert compared == len(traffic.truth)


def test_a_visit_merged_at_login_is_the_customer_training_and_scoring_replay(
    pipeline: IngestPipeline, tmp_path: Path
) -> None:
    # Given traffic where a third of the customers browsed anonymously, then logged in, archived as
    # the lake holds it, and streamed through ingest (which merges the visit at the login) in two
    # parts: up to a moment between the logins, then the rest
    events, logged_in = with_logins(generate(60, 3, seed=23, end=NOW).events, every=3)
    pseudonymizer = pseudonymizer_from_secret(pipeline.aws.ref("PseudonymSecret"))
    write_events(events, str(tmp_path / "lake"), "part", pseudonymizer)
    at = {id(e): datetime.fromisoformat(e["occurred_at"]) for e in events}
    logins = sorted(at[id(e)] for e in events if e.get("anonymous_id"))
    middle = logins[len(logins) // 2]
    assert len(logged_in) >= 5 and logins[0] < middle < logins[-1]
    before = [e for e in events if at[id(e)] < middle]
    for part, moment in ((before, middle), ([e for e in events if at[id(e)] >= middle], NOW)):
        pipeline.send_events(part)
        pipeline.run()
        profiles = pipeline.profiles()
        # When scoring replays the whole lake as of that moment (logins after it in the lake too)
        as_of = moment - timedelta(microseconds=1)
        shots, _read = build.snapshots(str(tmp_path / "lake"), as_of, workers=1)
        replayed = dict(zip(shots.pids, shots.values.tolist(), strict=True))
        # Then every customer, and every visitor not logged in yet, has exactly the features serving has
        served = {pid: feature_dict(p, as_of) for pid, p in profiles.items() if not p.alias_of and p.first_seen}
        assert set(replayed) == set(served), moment
        for pid, values in replayed.items():
            assert values == [served[pid][name] for name in FEATURE_NAMES], pid
    merged = [pseudonymizer.pid(a) for a in logged_in]
    assert all(profiles[a].alias_of for a in merged) and not set(merged) & set(replayed)
