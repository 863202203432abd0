"""Training's replay gives exactly the feature vector that ingest + serving compute."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import numpy as np
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.events import EVENT_ADAPTER
from microtarget.features import FEATURE_NAMES, feature_vector

from local.pipeline import IngestPipeline
from tests.helpers.events import NOW
from training.dataset import replay_customer
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
