from __future__ import annotations

from datetime import timedelta

import numpy as np
from microtarget.aggregation import apply_events
from microtarget.features import FEATURE_NAMES, MAX_DAYS, feature_dict, feature_vector
from microtarget.profile import Profile

from tests.helpers.events import T0, event


def test_vector_is_float32_in_feature_name_order() -> None:
    vector = feature_vector(Profile("p"), T0)
    assert vector.dtype == np.float32 and vector.shape == (len(FEATURE_NAMES),)
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)


def test_empty_profile_has_neutral_features() -> None:
    values = feature_dict(Profile("p"), T0)
    assert values["days_since_last_purchase"] == MAX_DAYS
    assert values["orders_total"] == 0 and values["cart_value"] == 0


def test_features_from_a_known_history() -> None:
    profile = Profile("p")
    apply_events(
        profile,
        [
            event("purchase", at=T0 - timedelta(days=40), revenue=100.0, order_id="O1"),
            event("purchase", at=T0 - timedelta(days=3), revenue=50.0, order_id="O2"),
            event("product_view", at=T0 - timedelta(days=1)),
            event("product_view", at=T0 - timedelta(days=1), minutes=1),
            event("add_to_cart", at=T0 - timedelta(days=1), minutes=2, price=20.0, quantity=2),
            event("checkout_started", at=T0 - timedelta(days=1), minutes=3),
        ],
    )
    values = feature_dict(profile, T0)
    assert values["orders_total"] == 2 and values["revenue_total"] == 150.0 and values["avg_order_value"] == 75.0
    assert values["orders_30d"] == 1 and values["orders_90d"] == 2 and values["revenue_90d"] == 150.0
    assert values["days_since_last_purchase"] == 3.0
    assert values["product_views_7d"] == 2 and values["add_to_cart_7d"] == 1
    assert values["view_to_cart_rate_30d"] == 0.5
    assert values["cart_items"] == 2 and values["cart_value"] == 40.0 and values["checkout_abandoned"] == 1.0


def test_windows_are_relative_to_now() -> None:
    profile = Profile("p")
    apply_events(profile, [event("product_view")])
    assert feature_dict(profile, T0)["product_views_7d"] == 1
    assert feature_dict(profile, T0 + timedelta(days=8))["product_views_7d"] == 0
