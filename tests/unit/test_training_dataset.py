"""Point-in-time datasets: features see only the past, labels only the window after the cutoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from microtarget.events import EVENT_ADAPTER

from tests.helpers.events import T0, event_dict
from training.dataset import plan_timeline, replay_customer
from training.synthetic import generate

CUTOFF = T0 + timedelta(days=30)
HORIZON = timedelta(days=14)


def history(after: list[dict] | None = None) -> list:
    before = [event_dict("product_view", at=T0 + timedelta(days=d), event_id=f"v{d}") for d in range(0, 30, 3)] + [
        event_dict("purchase", at=T0 + timedelta(days=10), event_id="buy-1", order_id="O-1", revenue=80.0)
    ]
    return [EVENT_ADAPTER.validate_python(e) for e in before + (after or [])]


def test_events_after_the_cutoff_never_change_its_features() -> None:
    clean = replay_customer("c", history(), [CUTOFF], HORIZON)
    # Given wild post-cutoff events: huge purchases, a consent change, a flood of views
    later = [
        event_dict("purchase", at=CUTOFF + timedelta(minutes=1), event_id="x1", order_id="O-9", revenue=99_999.0),
        event_dict("consent_updated", at=CUTOFF + timedelta(days=1), event_id="x2", consents={"email": False}),
        *[event_dict("product_view", at=CUTOFF + timedelta(hours=h), event_id=f"x-v{h}") for h in range(1, 50)],
    ]
    corrupted = replay_customer("c", history(later), [CUTOFF], HORIZON)
    # Then the features are identical; only the label (from after the cutoff) differs
    assert np.array_equal(clean.features, corrupted.features)
    assert (clean.purchased[0], corrupted.purchased[0]) == (0, 1)


def test_labels_look_only_inside_the_horizon() -> None:
    outside = [event_dict("purchase", at=CUTOFF + HORIZON + timedelta(minutes=1), event_id="late", order_id="O-2")]
    rows = replay_customer("c", history(outside), [CUTOFF], HORIZON)
    assert rows.purchased[0] == 0 and rows.had_purchased[0]


def test_customers_unknown_at_a_cutoff_get_no_row() -> None:
    rows = replay_customer("c", history(), [T0 - timedelta(days=1), CUTOFF], HORIZON)
    assert rows.cutoff.tolist() == [1]


def test_timeline_orders_windows_and_refuses_short_history() -> None:
    end = T0 + timedelta(days=80)
    timeline = plan_timeline(T0, end, horizon_days=14, train_cutoffs=3, step_days=7)
    assert timeline.test_cutoff == end - HORIZON and timeline.valid_cutoff == end - 2 * HORIZON
    assert timeline.train_cutoffs[-1] + HORIZON <= timeline.valid_cutoff
    assert list(timeline.train_cutoffs) == sorted(timeline.train_cutoffs)
    with pytest.raises(ValueError, match="too short"):
        plan_timeline(T0, T0 + timedelta(days=40))


@pytest.mark.parametrize("hour", [0, 3, 6, 7, 16, 17, 20, 23])
def test_generated_days_are_enough_history_at_any_hour_of_the_end(hour: int) -> None:
    # Given a user's `generate --days 70` ending at any hour (here on a fixed day)
    end = datetime(2026, 11, 1, hour, 37, 12, tzinfo=UTC)
    events = generate(60, 70, seed=4, end=end).events
    moments = [datetime.fromisoformat(e["occurred_at"]) for e in events]
    # Then the traffic reaches back to the first day's morning, and `train` can plan 70 days on
    # it from its first to its last event (before 07:00 the last one is the evening before)
    assert min(moments).date() == (end - timedelta(days=70)).date() and max(moments) < end
    plan_timeline(min(moments), max(moments))
    with pytest.raises(ValueError, match="days of events is too short: 70 days are needed"):
        plan_timeline(min(moments) + timedelta(days=2), max(moments))  # two days fewer never do
