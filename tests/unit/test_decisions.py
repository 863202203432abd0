"""decide(): eligibility, consent, caps, experiments, ranking, fallback and cold start."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from microtarget.aggregation import apply_events
from microtarget.campaigns import Experiment, parse_campaigns
from microtarget.clock import to_ms
from microtarget.decisions import Context, assign_arm, decide
from microtarget.profile import Profile
from microtarget.rules import SentOffer

from tests.helpers.events import T0, event

CATALOG = parse_campaigns((Path(__file__).resolve().parents[2] / "campaigns" / "catalog.yaml").read_text())
NOW = T0 + timedelta(hours=1)


class FixedModel:
    """Stands in for an onnxruntime session with a known score (scoring has its own tests)."""

    def __init__(self, name: str, value: float, segment_name: str = "") -> None:
        self.name, self.value, self.version, self._segment = name, value, f"{name}-v1", segment_name

    def predict(self, _features: Any) -> list[float]:
        return [self.value]

    def segment_name(self, _index: int) -> str:
        return self._segment


def models(propensity: float = 0.7, churn: float = 0.2, segment: str = "loyal high-value") -> dict[str, Any]:
    return {
        "propensity": FixedModel("propensity", propensity),
        "churn": FixedModel("churn", churn),
        "segments": FixedModel("segments", 0, segment),
    }


def shopper(consent: dict[str, bool] | None = None, cart: bool = True, orders: int = 1) -> Profile:
    profile = Profile("c_test")
    events = [event("consent_updated", consents=consent or {"email": True, "push": True}, minutes=-50)]
    events += [event("purchase", order_id=f"O{i}", at=T0 - timedelta(days=40 + i)) for i in range(orders)]
    if cart:
        events.append(event("add_to_cart", price=60.0, minutes=-10))
    apply_events(profile, events)
    return profile


def pid_in_arm(arm: str) -> str:
    experiment = CATALOG.experiments[0]
    return next(f"c_{i}" for i in range(10_000) if assign_arm(experiment, f"c_{i}") == arm)


def test_cart_recovery_is_chosen_with_reasons_and_expected_value() -> None:
    decision = decide(pid_in_arm("treatment"), shopper(), "email", NOW, CATALOG, models(segment="bargain hunter"))
    top = decision.offers[0]
    assert top.offer_id == "cart-recovery" and top.expected_value == round(0.7 * 45 - 2, 4)
    assert "cart non_empty" in top.reasons and any("experiment" in r for r in top.reasons)
    assert decision.suppressed["repeat-view-nudge"] == "not offered on email"
    assert decision.suppressed["vip-early-access"].startswith("not eligible: segments")


def test_offers_rank_by_expected_value() -> None:
    decision = decide(pid_in_arm("treatment"), shopper(), "email", NOW, CATALOG, models(segment="loyal high-value"))
    assert [c.offer_id for c in decision.offers[:2]] == ["vip-early-access", "cart-recovery"]  # 0.7x120 > 0.7x45-2


def test_no_consent_means_no_email_offer() -> None:
    decision = decide("c_x", shopper(consent={"email": False}), "email", NOW, CATALOG, models())
    assert decision.offers == [] and decision.suppressed["cart-recovery"] == "no email consent"


def test_caps_suppress_with_the_cap_named() -> None:
    sent = [SentOffer(to_ms(NOW - timedelta(hours=2)), "cart-recovery", "push")]
    decision = decide(pid_in_arm("treatment"), shopper(), "web", NOW, CATALOG, models(), sent=sent)
    assert decision.suppressed["cart-recovery"] == "offer cap per day reached (1/1)"
    email_sent = [SentOffer(to_ms(NOW - timedelta(hours=1)), "welcome", "email")]
    decision = decide("c_y", shopper(), "email", NOW, CATALOG, models(), sent=email_sent)
    assert decision.suppressed["cart-recovery"] == "email cap per day reached (1/1)"


def test_on_site_impressions_count_toward_their_offer_not_toward_the_message_caps() -> None:
    shown = [SentOffer(to_ms(NOW - timedelta(hours=h)), "vip-early-access", "web") for h in (1, 2, 3)]
    decision = decide(pid_in_arm("treatment"), shopper(), "email", NOW, CATALOG, models(), sent=shown)
    assert decision.suppressed["vip-early-access"] == "offer cap per week reached (3/1)"
    assert [choice.offer_id for choice in decision.offers] == ["cart-recovery"]  # 3 banners are not 2 messages


def viewer() -> Profile:
    """A returning customer who looked at one product three times this hour, nothing in the cart."""
    profile = shopper(cart=False)
    apply_events(profile, [event("product_view", product_id="P9", minutes=-m) for m in (30, 20, 10)])
    return profile


def test_page_rules_apply_on_the_site_to_the_context_page_only() -> None:
    nudge = "repeat-view-nudge"
    anywhere = decide("c_v", viewer(), "web", NOW, CATALOG, models())
    assert anywhere.suppressed[nudge] == "not eligible: pages ['product'] (page not given)"
    on_cart = decide("c_v", viewer(), "web", NOW, CATALOG, models(), context=Context(page="cart"))
    assert on_cart.suppressed[nudge] == "not eligible: pages ['product'] (page cart)"
    on_product = decide("c_v", viewer(), "web", NOW, CATALOG, models(), context=Context("product", "P9"))
    assert "page product" in next(c for c in on_product.offers if c.offer_id == nudge).reasons
    assert on_product.context == Context("product", "P9") and on_product.decision_id != on_cart.decision_id
    by_push = decide("c_v", viewer(), "push", NOW, CATALOG, models())
    assert nudge in [c.offer_id for c in by_push.offers]  # a push is on no page


def test_a_channel_cap_per_week_counts_that_channel_over_seven_days() -> None:
    pushes = [SentOffer(to_ms(NOW - timedelta(days=d)), "vip-early-access", "push") for d in (2, 3, 4)]
    decision = decide("c_v", viewer(), "push", NOW, CATALOG, models(), sent=pushes)
    assert decision.suppressed["repeat-view-nudge"] == "push cap per week reached (3/3)"


def test_control_arm_gets_no_covered_offer_and_is_flagged() -> None:
    decision = decide(pid_in_arm("holdout"), shopper(), "email", NOW, CATALOG, models())
    assert decision.control and decision.experiments == {"cart-recovery-2026q4": "holdout"}
    assert "holdout" in decision.suppressed["cart-recovery"]
    assert all(choice.offer_id != "cart-recovery" for choice in decision.offers)


def test_assignment_is_stable_and_splits_by_weight() -> None:
    experiment: Experiment = CATALOG.experiments[0]
    arms = Counter(assign_arm(experiment, f"c_{i}") for i in range(20_000))
    assert abs(arms["holdout"] / 20_000 - 0.1) < 0.01
    assert all(assign_arm(experiment, f"c_{i}") == assign_arm(experiment, f"c_{i}") for i in range(100))


def test_without_models_decisions_fall_back_to_rules_and_say_so() -> None:
    decision = decide("c_z", shopper(cart=False, orders=0), "email", NOW, CATALOG, {})
    assert len(decision.fallback) == 3 and decision.scores["propensity"] is None
    assert [c.offer_id for c in decision.offers] == ["welcome"] and decision.offers[0].expected_value is None
    assert "min_churn_risk" in decision.suppressed["win-back"] or "returning" in decision.suppressed["win-back"]


def test_unknown_customer_gets_a_cold_start_decision() -> None:
    decision = decide("c_new", None, "web", NOW, CATALOG, models(propensity=0.1, segment="new"))
    assert decision.cold_start and [c.offer_id for c in decision.offers] == ["welcome"]


def test_win_back_targets_churn_risk() -> None:
    lapsed = shopper(cart=False, orders=3)
    decision = decide("c_w", lapsed, "email", NOW, CATALOG, models(propensity=0.1, churn=0.8, segment="lapsing"))
    assert decision.offers[0].offer_id == "win-back"
    assert "min_churn_risk 0.6" in decision.offers[0].reasons
    assert decision.offers[0].expected_value == round(0.8 * 60 - 8, 4)  # converts_with: churn_risk


def test_a_suppression_is_classified_by_its_code_not_by_words_in_its_text() -> None:
    from microtarget.dispatch import _why_nothing
    from microtarget.rules import Reason

    # Given reasons whose text would mislead a word match ("capital", "consent form")
    decision = decide("c_x", None, "email", T0, CATALOG, {})
    decision.suppressed = {
        "a": Reason("not_eligible", "not eligible: segments ['capital city'] (segment new)"),
        "b": Reason("cap", "offer cap per day reached (1/1)"),
    }
    assert _why_nothing(decision, ["a", "b"])[:2] == ("suppressed", "not_eligible")
    decision.suppressed = {"a": Reason("channel", "not offered on email (the consent form is web only)")}
    assert _why_nothing(decision, ["a"])[:2] == ("suppressed", "channel")


def test_an_offer_expected_to_cost_more_than_it_brings_is_not_returned() -> None:
    # Given a new customer whose propensity makes the welcome offer (value 25, cost 4) worth less than nothing
    profile = Profile("c_new")
    apply_events(profile, [event("consent_updated", consents={"email": True}), event("page_view", minutes=1)])
    decision = decide("c_new", profile, "email", T0 + timedelta(minutes=5), CATALOG, models(propensity=0.1))
    assert "welcome" not in [o.offer_id for o in decision.offers]
    assert decision.suppressed["welcome"] == "expected value -1.50 is below zero"
    assert decision.suppressed["welcome"].code == "negative_value"  # type: ignore[attr-defined]
    worth_it = decide("c_new", profile, "email", T0 + timedelta(minutes=5), CATALOG, models(propensity=0.5))
    assert "welcome" in [o.offer_id for o in worth_it.offers]


class FixedUplift:
    """An uplift model with known figures per offer (the composed graph has its own tests)."""

    def __init__(self, figures: dict[str, float]) -> None:
        self.figures, self.version = figures, "uplift-v1"

    def uplifts(self, _features: Any) -> list[dict[str, float]]:
        return [dict(self.figures)]


def ranked_by_uplift(*offers: str) -> Any:
    import yaml

    document = yaml.safe_load((Path(__file__).resolve().parents[2] / "campaigns" / "catalog.yaml").read_text())
    for offer in document["offers"]:
        if offer["id"] in offers:
            offer["rank_by"] = "uplift"
    return parse_campaigns(yaml.safe_dump(document))


def test_an_offer_ranked_by_uplift_is_worth_its_incremental_value_once_the_model_has_it() -> None:
    campaigns, scores = ranked_by_uplift("cart-recovery"), models(segment="bargain hunter")
    scores["uplift"] = FixedUplift({"cart-recovery": 0.3, "win-back": 0.05})
    decision = decide(pid_in_arm("treatment"), shopper(), "email", NOW, campaigns, scores)
    top = decision.offers[0]
    assert top.offer_id == "cart-recovery" and top.expected_value == round(0.3 * 45 - 2, 4)  # not 0.7 x 45 - 2
    assert "ranked by incremental value (uplift +0.300)" in top.reasons
    assert decision.scores["uplift.cart-recovery"] == 0.3 and decision.model_versions["uplift"] == "uplift-v1"
    assert not any("uplift" in note for note in decision.fallback)


def test_a_customer_who_would_buy_anyway_is_not_sent_an_offer_ranked_by_uplift() -> None:
    scores = models(propensity=0.95, segment="bargain hunter")  # a sure thing: propensity alone would send it
    scores["uplift"] = FixedUplift({"cart-recovery": 0.02})
    decision = decide(pid_in_arm("treatment"), shopper(), "email", NOW, ranked_by_uplift("cart-recovery"), scores)
    assert "cart-recovery" not in [c.offer_id for c in decision.offers]
    assert decision.suppressed["cart-recovery"] == "expected incremental value -1.10 is below zero"


def test_uplift_ranking_reorders_offers_by_what_they_add() -> None:
    scores = models(segment="loyal high-value")  # by score x value: vip-early-access, then cart-recovery
    scores["uplift"] = FixedUplift({"vip-early-access": 0.1})
    decision = decide(pid_in_arm("treatment"), shopper(), "email", NOW, ranked_by_uplift("vip-early-access"), scores)
    assert [c.offer_id for c in decision.offers[:2]] == ["cart-recovery", "vip-early-access"]


def test_without_an_uplift_figure_the_offer_falls_back_to_score_times_value_and_says_so() -> None:
    campaigns = ranked_by_uplift("cart-recovery")
    for uplift in (None, FixedUplift({"win-back": 0.2})):  # no model yet; a model without this offer
        scores = models(segment="bargain hunter") | ({"uplift": uplift} if uplift else {})
        decision = decide(pid_in_arm("treatment"), shopper(), "email", NOW, campaigns, scores)
        assert decision.offers[0].offer_id == "cart-recovery"
        assert decision.offers[0].expected_value == round(0.7 * 45 - 2, 4)
        assert "cart-recovery: no uplift figure yet, ranked by propensity x value" in decision.fallback
