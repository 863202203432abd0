"""The uplift model's parts: the Qini figures, the per-exposure features, the gate on outcomes,
and the composed ONNX graph that serving loads."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from microtarget.clock import to_ms
from microtarget.features import FEATURE_NAMES
from microtarget.scoring import ModelRejected, load_model

from tests.helpers.events import T0, event
from training.jobs import ExposureTask, exposure_key
from training.registry import gate
from training.uplift import TooFewOutcomes, fit_offer, held_out, qini_coefficient, qini_curve
from training.uplift_cmd import build
from training.uplift_data import Exposed


def test_the_qini_curve_counts_buyers_found_less_the_control_scaled_to_the_treated() -> None:
    score = np.array([0.9, 0.8, 0.7, 0.6])
    treated, converted = np.array([True, False, True, False]), np.array([1, 0, 0, 1])
    x, q = qini_curve(score, treated, converted)
    # top 1: one treated buyer; top 2 and 3: still one, no control buyer; all 4: 1 - 1 x 2/2 = 0
    assert x.tolist() == [0, 0.25, 0.5, 0.75, 1] and q.tolist() == [0, 0.25, 0.25, 0.25, 0]
    assert qini_coefficient(score, treated, converted) == pytest.approx(0.1875)  # trapezoids, less a flat random line


def test_tied_scores_move_together_so_a_constant_score_has_no_skill() -> None:
    rng = np.random.default_rng(1)
    treated, converted = rng.random(500) < 0.5, rng.random(500) < 0.2
    x, _q = qini_curve(np.zeros(500), treated, converted)
    assert len(x) == 2 and qini_coefficient(np.zeros(500), treated, converted) == pytest.approx(0.0)


def test_ranking_the_persuadable_first_beats_ranking_the_likely_buyers_first() -> None:
    rng = np.random.default_rng(2)
    n = 20_000
    kind = rng.integers(0, 2, n)  # 0: buys anyway (no uplift), 1: buys only when sent
    treated = rng.random(n) < 0.5
    converted = np.where(kind == 0, rng.random(n) < 0.5, treated & (rng.random(n) < 0.3))
    true_uplift, propensity = np.where(kind == 1, 0.3, 0.0), np.where(kind == 0, 0.5, 0.15)
    assert (
        qini_coefficient(true_uplift, treated, converted) > 0.01 > 0 > qini_coefficient(propensity, treated, converted)
    )


def test_features_are_taken_just_before_each_exposure_and_an_erasure_drops_what_it_covers() -> None:
    parsed = [event("product_view", product_id=f"P{i}", minutes=-60 + 10 * i) for i in range(6)]
    pid = parsed[0].customer_id
    third, fifth = to_ms(parsed[2].occurred_at), to_ms(parsed[4].occurred_at)
    shots = ExposureTask({pid: (third, fifth)}).run(pid, parsed)
    assert shots.pids == [exposure_key(pid, third), exposure_key(pid, fifth)]
    column = FEATURE_NAMES.index("product_views_30d")
    assert shots.values[:, column].tolist() == [2, 4]  # strictly before: the view at the moment is not in
    erased = ExposureTask({pid: (fifth,)}, {pid: to_ms(parsed[3].occurred_at)}).run(pid, parsed)
    assert erased.values[:, column].tolist() == [1]  # only the view after the erasure's moment
    assert ExposureTask({pid: (to_ms(T0 - timedelta(days=1)),)}).run(pid, parsed).pids == []  # not a customer yet


def test_held_out_customers_are_the_same_in_every_run_and_about_thirty_percent() -> None:
    pids = [f"p_{i}" for i in range(5_000)]
    assert held_out(pids).tolist() == held_out(list(pids)).tolist()
    assert 0.28 < held_out(pids).mean() < 0.32


def planted(offer: str, n: int = 3_000, seed: int = 0) -> Exposed:
    """Customers whose response to the offer grows with feature 3 (the others are noise)."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 3.0, size=(n, len(FEATURE_NAMES))).astype(np.float32)
    treated = rng.random(n) < 0.5
    chance = 0.15 + np.where(treated, 0.04 * np.clip(x[:, 3] - 4, 0, 10), 0.0)
    converted = rng.random(n) < np.clip(chance, 0, 0.9)
    return Exposed(offer, [f"{offer}-{i}" for i in range(n)], np.zeros(n, np.int64), treated, converted,
                   np.full(n, np.nan), x)  # fmt: skip


def test_the_composed_graph_gives_each_offer_the_difference_scikit_learn_gives() -> None:
    found = {"cart-recovery": planted("cart-recovery"), "win-back": planted("win-back", seed=1)}
    fits = [fit_offer(data) for data in found.values()]
    manifest = build(fits, found, 7, "2026-11-01T00:00:00+00:00", {}, 20)
    body = manifest.pop("_onnx")
    model = load_model("uplift", manifest, body)
    rows = found["win-back"].features[:200]
    got = model.predict(rows)
    expected = np.column_stack([fit.uplift(rows) for fit in fits])
    assert got.shape == (200, 2) and np.abs(got - expected).max() < 1e-5
    assert list(model.uplifts(rows[:1])[0]) == ["cart-recovery", "win-back"]
    assert manifest["parity"]["max_abs_diff"] < 1e-5 and manifest["metrics"]["validation"]["qini"] > 0
    assert not gate(manifest, None)  # beats ranking by the (unrecorded, so constant) propensity
    lower = manifest | {"baseline_metrics": {"validation": {"qini": 1.0}}}
    assert gate(lower, None) == [
        f"validation qini {manifest['metrics']['validation']['qini']:.4f} does not beat the baseline's 1.0000"
    ]
    promoted = manifest | {"version": "v0", "offers": ["cart-recovery"], "metrics": {"validation": {"qini": 9.0}}}
    assert not gate(manifest, promoted)  # a mean over other offers is no yardstick: only the baseline counts
    assert gate(manifest, promoted | {"offers": manifest["offers"]})  # over the same offers it is
    with pytest.raises(ModelRejected, match="2 columns"):
        load_model("uplift", manifest | {"offers": ["cart-recovery"]}, body)


def test_an_offer_without_enough_buyers_and_non_buyers_in_each_arm_gets_no_model() -> None:
    data = planted("cart-recovery", n=200)
    with pytest.raises(TooFewOutcomes, match=r"cart-recovery: .*control \d+ bought / \d+ did not; needs 50"):
        fit_offer(data, min_outcomes=50)


def test_each_exposure_counts_once_labelled_by_what_happened_and_only_dispatchs() -> None:
    from microtarget.aws.ledger import item_of
    from microtarget.campaigns import parse_campaigns
    from microtarget.outcomes import LedgerEntry

    from tests.helpers.uplift import CAMPAIGNS
    from training.uplift_data import exposed

    campaigns = parse_campaigns(
        CAMPAIGNS
        + """  - id: everything
    offers: "*"
    arms:
      - {name: in, weight: 0.9}
      - {name: out, weight: 0.1, control: true}
"""
    )
    at = to_ms(T0)
    items = [  # held out by the global holdout though in the deal's treatment arm: held out, once
        item_of(LedgerEntry("p1", "d1", at, "holdout", offer_id="weekend-deal",
                            experiments={"weekend-2026": "treatment", "everything": "out"})),
        item_of(LedgerEntry("p2", "d2", at, "sent", offer_id="weekend-deal",
                            experiments={"weekend-2026": "treatment", "everything": "in"})),
        item_of(LedgerEntry("p3", "d3", at, "sent", offer_id="weekend-deal", source="api",
                            experiments={"weekend-2026": "treatment", "everything": "in"})),  # a tool's: left out
    ]  # fmt: skip
    (data,) = exposed(items, campaigns, T0 + timedelta(days=8)).values()
    assert data.pids == ["p1", "p2"] and data.treated.tolist() == [False, True]
