"""Segments are named by what their centroids show against the whole population: a name is
earned, never handed to the nearest group; what earns none is named by its strongest trait."""

from __future__ import annotations

import numpy as np
from microtarget.features import FEATURE_NAMES

from training.models import name_segments
from training.train import _warnings

KEYS = ("days_since_first_seen", "days_since_last_purchase", "orders_90d", "avg_order_value",
        "offers_redeemed_90d", "searches_30d", "product_views_30d", "days_since_last_seen")  # fmt: skip


def centroid(*values: float) -> dict[str, float]:
    return dict.fromkeys(FEATURE_NAMES, 0.0) | dict(zip(KEYS, values, strict=True))


def test_the_planted_personas_get_their_names() -> None:
    medians = centroid(69, 38, 2, 98, 0, 1, 19, 3)
    centroids = {
        0: centroid(69, 12, 4, 105, 2, 3, 24, 1),  # redeems offers, searches
        1: centroid(69, 365, 0, 0, 0, 1, 28, 2),  # views, never buys
        2: centroid(9, 13, 1, 26, 0, 1, 16, 1),  # arrived last week
        3: centroid(69, 52, 2, 135, 0, 0, 0, 30),  # bought, then went quiet
        4: centroid(69, 6, 8, 280, 0, 0, 25, 1),  # buys often and big
    }
    assert name_segments(centroids, medians) == {
        0: "bargain hunter", 1: "window shopper", 2: "new", 3: "lapsing", 4: "loyal high-value",
    }  # fmt: skip


def test_on_a_purchase_only_history_the_most_active_group_is_never_lapsing() -> None:
    # an order export: no views, searches or offers; everyone first seen about as long ago
    medians = centroid(300, 40, 2, 80, 0, 0, 0, 40)
    centroids = {
        0: centroid(300, 5, 6, 120, 0, 0, 0, 5),  # the most active
        1: centroid(300, 40, 2, 80, 0, 0, 0, 40),
        2: centroid(300, 200, 0, 60, 0, 0, 0, 200),  # bought, long ago
    }
    names = name_segments(centroids, medians)
    assert names[0] == "loyal high-value" and names[2] == "lapsing"
    assert names[1] not in {"new", "lapsing", "bargain hunter", "window shopper"}  # nothing earned: its trait


def test_training_warns_when_churn_is_only_one_minus_propensity() -> None:
    (warning,) = _warnings("churn", np.ones(1000, bool))
    assert "1 - propensity" in warning
    assert _warnings("churn", np.arange(1000) % 3 > 0) == [] and _warnings("propensity", np.ones(10, bool)) == []
