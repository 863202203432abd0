"""Drift (PSI over the baseline's bins) and live performance, on distributions whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from training import monitoring
from training.evaluate import binning


def test_psi_is_the_textbook_sum_over_bins() -> None:
    expected, actual = [0.25, 0.25, 0.5], [0.5, 0.25, 0.25]
    by_hand = (0.5 - 0.25) * np.log(0.5 / 0.25) + 0 + (0.25 - 0.5) * np.log(0.25 / 0.5)
    assert monitoring.psi(expected, actual) == pytest.approx(by_hand, abs=1e-12)
    assert monitoring.psi(expected, expected) == 0.0
    assert np.isfinite(monitoring.psi([0.5, 0.5, 0.0], [0.0, 0.5, 0.5]))  # an empty bin is floored, not infinite


def test_a_resample_is_stable_and_a_shifted_feature_drifts() -> None:
    rng = np.random.default_rng(1)
    train = rng.gamma(2.0, 3.0, 20_000)
    bins = binning(train)
    assert len(bins["edges"]) == 9 and sum(bins["fractions"]) == pytest.approx(1.0)
    same = monitoring.column_drift(bins, rng.gamma(2.0, 3.0, 5_000))
    moved = monitoring.column_drift(bins, rng.gamma(2.0, 3.0, 5_000) * 1.4)  # spend up 40 %
    shifted = monitoring.column_drift(bins, rng.gamma(2.0, 3.0, 5_000) + 3.0)  # half a standard deviation and more
    assert same["level"] == "stable" and same["psi"] < 0.02
    assert moved["level"] == "watch" and 0.1 < moved["psi"] < 0.25
    assert shifted["level"] == "drift" and shifted["psi"] > 0.25


def test_a_feature_with_ties_keeps_the_shares_training_saw() -> None:
    """Most customers have no order in 30 days: the deciles collapse to few edges, and the first
    bin holds the 70 % of zeros; the same mix live is stable, twice the buyers drifts."""
    rng = np.random.default_rng(2)

    def orders(n: int, buyers: float) -> np.ndarray:
        return np.where(rng.random(n) < buyers, rng.integers(1, 4, n), 0).astype(float)

    bins = binning(orders(20_000, 0.3))
    assert bins["edges"][0] == 0.5 and bins["fractions"][0] == pytest.approx(0.7, abs=0.02)  # between 0 and 1
    assert len(bins["edges"]) < 9
    assert monitoring.column_drift(bins, orders(5_000, 0.3))["level"] == "stable"
    assert monitoring.column_drift(bins, orders(5_000, 0.6))["level"] == "drift"


def test_the_same_rows_scored_in_float32_do_not_cross_an_edge() -> None:
    """Half the customers share one row, so one score; training's float64 score and serving's
    float32 one differ in the 7th digit. An edge on that score would move the whole group."""
    rng = np.random.default_rng(3)
    scores = np.concatenate([np.full(5_000, 0.3125), rng.uniform(0, 1, 5_000)])
    bins = binning(scores)
    assert all(abs(edge - 0.3125) > 1e-6 for edge in bins["edges"])
    served = scores.astype(np.float32).astype(np.float64) + 2e-7  # a float32 run, a hair apart
    assert monitoring.column_drift(bins, served)["psi"] < 1e-3


def test_nothing_to_compare_is_unknown_not_drift() -> None:
    bins = binning(np.arange(100.0))
    assert monitoring.column_drift(bins, np.array([])) == {"psi": None, "level": "unknown"}
    assert monitoring.column_drift(binning(np.array([])), np.arange(10.0))["level"] == "unknown"
    assert monitoring.category_drift({"a": 3}, {})["level"] == "unknown"
    constant = binning(np.full(50, 2.0))  # one narrow bin around the value
    assert monitoring.column_drift(constant, np.full(20, 2.0))["psi"] == 0.0
    assert monitoring.column_drift(constant, np.full(20, 1.0))["level"] == "drift"  # a move either way shows
    assert monitoring.column_drift(constant, np.full(20, 3.0))["level"] == "drift"


def test_segment_shares_drift_when_the_mix_changes() -> None:
    baseline = {"new": 500, "loyal": 300, "lapsing": 200}
    same = monitoring.category_drift(baseline, {"new": 50, "loyal": 30, "lapsing": 20})
    assert same["psi"] == 0.0 and same["shares"]["new"] == {"baseline": 0.5, "live": 0.5}
    shifted = monitoring.category_drift(baseline, {"new": 20, "loyal": 20, "lapsing": 60})
    assert shifted["level"] == "drift"
    unseen = monitoring.category_drift(baseline, {"new": 50, "loyal": 30, "vip": 20})
    assert unseen["shares"]["vip"] == {"baseline": 0.0, "live": 0.2} and unseen["level"] == "drift"


def _decisions(n: int, seed: int, informative: bool, version: str = "v1") -> list[monitoring.Scored]:
    rng = np.random.default_rng(seed)
    scores = rng.beta(2, 5, n)
    bought = rng.random(n) < (scores if informative else 0.3)  # calibrated: P(buy) is the score
    return [monitoring.Scored(version, float(s), bool(b)) for s, b in zip(scores, bought, strict=True)]


def test_live_performance_as_tested_below_test_and_too_few() -> None:
    expected = {"v1": {"roc_auc": 0.70}}
    good = monitoring.live_performance(_decisions(4000, 3, True), expected, "purchase", 0.05)["v1"]
    assert good["status"] == "as tested" and 0.65 < good["roc_auc"] < 0.75
    assert good["calibration_error"] < 0.03 and good["decisions"] == 4000
    assert good["auc_shortfall"] == pytest.approx(0.70 - good["roc_auc"], abs=1e-4)
    noise = monitoring.live_performance(_decisions(4000, 4, False), expected, "purchase", 0.05)["v1"]
    assert noise["status"] == "below test" and abs(noise["roc_auc"] - 0.5) < 0.05
    few = monitoring.live_performance(_decisions(150, 5, True), expected, "purchase", 0.05)["v1"]
    assert few["status"].startswith("too few") and "roc_auc" not in few
    other = monitoring.live_performance(_decisions(400, 6, True, "v0"), expected, "purchase", 0.05)["v0"]
    assert other["status"] == "no manifest for this version" and "roc_auc" in other


def test_churn_counts_no_purchase_as_its_positive() -> None:
    rows = [monitoring.Scored("v1", 1 - r.score, r.purchased) for r in _decisions(4000, 7, True)]
    churn = monitoring.live_performance(rows, {"v1": {"roc_auc": 0.7}}, "no purchase", 0.05)["v1"]
    assert churn["roc_auc"] > 0.65 and churn["positives"] == sum(not r.purchased for r in rows)


def test_calibration_error_measures_the_gap_between_score_and_rate() -> None:
    rng = np.random.default_rng(8)
    scores = rng.uniform(0.05, 0.6, 50_000)
    labels = (rng.random(len(scores)) < scores).astype(float)
    assert monitoring.calibration_error(labels, scores) < 0.01
    assert monitoring.calibration_error(labels, np.minimum(scores + 0.2, 1.0)) == pytest.approx(0.2, abs=0.01)
