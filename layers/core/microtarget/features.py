"""The only feature code: (profile, now) → the model's feature vector, float32.

Ingest, the decision path and training all call `feature_vector`; training builds each
profile by replaying events through `aggregation.apply_events` up to a cutoff, then calls
this same function with now = cutoff. Change a feature → bump FEATURE_SPEC_VERSION.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from microtarget.aggregation import day_of
from microtarget.clock import DAY_MS, to_ms
from microtarget.profile import Profile

FEATURE_SPEC_VERSION = "1"
MAX_DAYS = 365.0

FEATURE_NAMES: tuple[str, ...] = (
    "days_since_last_purchase",
    "days_since_first_seen",
    "days_since_last_seen",
    "orders_total",
    "revenue_total",
    "avg_order_value",
    "orders_30d",
    "orders_90d",
    "revenue_90d",
    "page_views_7d",
    "product_views_7d",
    "product_views_30d",
    "searches_30d",
    "add_to_cart_7d",
    "add_to_cart_30d",
    "sessions_7d",
    "sessions_30d",
    "active_days_30d",
    "email_opens_30d",
    "email_clicks_30d",
    "offers_redeemed_90d",
    "cart_items",
    "cart_value",
    "checkout_abandoned",
    "view_to_cart_rate_30d",
)


def _window(profile: Profile, now_ms: int, days: int) -> dict[str, float]:
    """Sum the daily buckets of the `days` days ending at `now` (inclusive)."""
    first, last = day_of(now_ms - (days - 1) * DAY_MS), day_of(now_ms)
    totals: dict[str, float] = {"active": 0.0}
    for day, bucket in profile.days.items():
        if first <= day <= last:
            totals["active"] += 1.0
            for key, value in bucket.items():
                totals[key] = totals.get(key, 0.0) + value
    return totals


def pre_exposure(profile: Profile | None, at_ms: int) -> dict[str, float]:
    """What experiment results adjust for (CUPED): orders and revenue in the 90 days before the day
    of an exposure, so nothing the exposure caused (that day or later) is in it."""
    window = _window(profile, at_ms - DAY_MS, 90) if profile is not None else {}
    return {"orders_90d": window.get("p", 0.0), "revenue_90d": window.get("r", 0.0) / 100.0}


def _days_since(now_ms: int, ts: int | None) -> float:
    if ts is None:
        return MAX_DAYS
    return min(MAX_DAYS, max(0.0, (now_ms - ts) / DAY_MS))


def feature_dict(profile: Profile, now: datetime) -> dict[str, float]:
    now_ms = to_ms(now)
    w7, w30, w90 = (_window(profile, now_ms, days) for days in (7, 30, 90))
    cart = profile.cart()
    views30, carts30 = w30.get("pv", 0.0), w30.get("c", 0.0)
    abandoned = profile.checkout_at is not None and profile.checkout_at > (profile.last_purchase_at or 0)
    return {
        "days_since_last_purchase": _days_since(now_ms, profile.last_purchase_at),
        "days_since_first_seen": _days_since(now_ms, profile.first_seen),
        "days_since_last_seen": _days_since(now_ms, profile.last_seen),
        "orders_total": float(profile.orders),
        "revenue_total": profile.revenue_cents / 100.0,
        "avg_order_value": profile.revenue_cents / 100.0 / profile.orders if profile.orders else 0.0,
        "orders_30d": w30.get("p", 0.0),
        "orders_90d": w90.get("p", 0.0),
        "revenue_90d": w90.get("r", 0.0) / 100.0,
        "page_views_7d": w7.get("v", 0.0),
        "product_views_7d": w7.get("pv", 0.0),
        "product_views_30d": views30,
        "searches_30d": w30.get("q", 0.0),
        "add_to_cart_7d": w7.get("c", 0.0),
        "add_to_cart_30d": carts30,
        "sessions_7d": w7.get("s", 0.0),
        "sessions_30d": w30.get("s", 0.0),
        "active_days_30d": w30["active"],
        "email_opens_30d": w30.get("eo", 0.0),
        "email_clicks_30d": w30.get("ec", 0.0),
        "offers_redeemed_90d": w90.get("or", 0.0),
        "cart_items": float(sum(line.quantity for line in cart.values())),
        "cart_value": sum(line.quantity * (line.price_cents or 0) for line in cart.values()) / 100.0,
        "checkout_abandoned": 1.0 if abandoned else 0.0,
        "view_to_cart_rate_30d": carts30 / views30 if views30 else 0.0,
    }


def feature_vector(profile: Profile, now: datetime) -> np.ndarray:
    """The model input for one customer: float32, in FEATURE_NAMES order."""
    return as_vector(feature_dict(profile, now))


def as_vector(values: dict[str, float]) -> np.ndarray:
    """feature_dict's values in FEATURE_NAMES order, float32 (for callers that need both)."""
    return np.fromiter((values[name] for name in FEATURE_NAMES), dtype=np.float32, count=len(FEATURE_NAMES))
