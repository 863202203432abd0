"""Scoring a batch of customers in one ONNX run per model gives each what scoring it alone does:
the same features and segments exactly, probabilities within float32 rounding (onnxruntime's
batched kernels sum in another order)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from microtarget.aggregation import apply_events
from microtarget.features import FEATURE_NAMES
from microtarget.profile import Profile
from microtarget.scoring import load_model, score_many

from tests.helpers.events import T0, event
from tests.helpers.models import fitted_classifier, fitted_segmenter
from training.export import convert


def loaded(name: str, estimator: Any, kind: str) -> Any:
    body = convert(estimator)
    manifest = {"version": f"{name}-1", "kind": kind, "sha256": hashlib.sha256(body).hexdigest(),
                "feature_names": list(FEATURE_NAMES), "segment_names": {"0": "a", "1": "b", "2": "c", "3": "d"}}  # fmt: skip
    return load_model(name, manifest, body)


def test_one_run_for_a_batch_scores_every_customer_as_alone() -> None:
    models = {
        "propensity": loaded("propensity", fitted_classifier("gradient_boosting")[0], "classifier"),
        "churn": loaded("churn", fitted_classifier("logistic", seed=2)[0], "classifier"),
        "segments": loaded("segments", fitted_segmenter()[0], "segmenter"),
    }
    profiles = []
    for i in range(60):  # customers from barely seen to busy buyers
        profile = Profile(f"c_{i}")
        kinds = ["product_view"] * (i % 7) + ["add_to_cart"] * (i % 3) + ["purchase"] * (i % 4)
        apply_events(
            profile,
            [event(k, customer=f"C{i}", at=T0 - timedelta(days=j % 40), minutes=j) for j, k in enumerate(kinds)],
        )
        profiles.append(profile)
    batch = score_many(profiles, T0, models)
    alone = [score_many([profile], T0, models)[0] for profile in profiles]
    for (values, scores, versions, fallback), (values1, scores1, versions1, fallback1) in zip(
        batch, alone, strict=True
    ):
        assert (values, versions, fallback, scores["segment"]) == (values1, versions1, fallback1, scores1["segment"])
        assert abs(scores["propensity"] - scores1["propensity"]) <= 2e-6
        assert abs(scores["churn_risk"] - scores1["churn_risk"]) <= 2e-6
    assert len({s[1]["propensity"] for s in batch}) > 5 and {s[1]["segment"] for s in batch} <= set("abcd")
