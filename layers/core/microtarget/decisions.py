"""decide(): profile → features → scores → eligible offers → consent, caps, experiments → ranked
offers with the reasons for each choice and each suppression. No HTTP or Lambda types here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from microtarget.aggregation import to_ms
from microtarget.campaigns import Campaigns, Eligibility, Experiment, Offer
from microtarget.features import as_vector, feature_dict
from microtarget.profile import DAY_MS, Profile
from microtarget.scoring import LoadedModel

CONSENT_FREE_CHANNELS = {"web"}  # on-site placements are not marketing messages: no consent, no message caps


@dataclass(frozen=True, slots=True)
class SentOffer:
    at_ms: int
    offer_id: str
    channel: str


@dataclass(slots=True)
class Choice:
    offer_id: str
    name: str
    channel: str
    template: str
    expected_value: float | None
    reasons: list[str]


@dataclass(slots=True)
class Decision:
    pid: str
    channel: str
    decided_at: datetime
    cold_start: bool
    scores: dict[str, float | str | None]
    model_versions: dict[str, str]
    fallback: list[str]
    experiments: dict[str, str]
    control: bool
    offers: list[Choice] = field(default_factory=list)
    suppressed: dict[str, str] = field(default_factory=dict)
    decision_id: str = ""  # what a campaign tool quotes when it reports acting on the decision

    def __post_init__(self) -> None:
        if not self.decision_id:  # the same customer, channel and moment: the same decision
            moment = f"{self.pid}|{self.channel}|{to_ms(self.decided_at)}"
            self.decision_id = hashlib.blake2b(moment.encode(), digest_size=12).hexdigest()


def assign_arm(experiment: Experiment, pid: str) -> str:
    """Deterministic: the same experiment and customer give the same arm in every function."""
    point = int(hashlib.sha256(f"{experiment.id}:{pid}".encode()).hexdigest()[:15], 16) / 16**15
    total = sum(arm.weight for arm in experiment.arms)
    running = 0.0
    for arm in experiment.arms:
        running += arm.weight / total
        if point < running:
            return arm.name
    return experiment.arms[-1].name


def decide(
    pid: str,
    profile: Profile | None,
    channel: str,
    now: datetime,
    campaigns: Campaigns,
    models: Mapping[str, LoadedModel],
    sent: Sequence[SentOffer] = (),
    limit: int = 3,
    triggered: bool = False,
) -> Decision:
    """`triggered`: asked by dispatch for a fired trigger (trigger-only offers may be chosen)."""
    current = profile or Profile(pid)
    values = feature_dict(current, now)
    if profile is None:  # an empty profile's scores mean nothing: decide on rules and defaults
        scores, versions = {"propensity": None, "churn_risk": None, "segment": None}, {}
        fallback = ["cold start: no profile yet, rules only"]
    else:
        scores, versions, fallback = _score(as_vector(values), models)
    decision = Decision(pid, channel, now, profile is None, scores, versions, fallback, {}, False)
    candidates: list[tuple[Offer, list[str]]] = []
    history = _History.of(sent, to_ms(now), consented=current.consents().get(channel, False))
    for offer in campaigns.offers:
        why_not = "sent only by its trigger" if offer.trigger_only and not triggered else None
        why_not = why_not or _blocked(offer, channel, campaigns, history)
        matched = None if why_not else _eligible(offer.eligibility, values, scores)
        if why_not or isinstance(matched, str):
            decision.suppressed[offer.id] = why_not or str(matched)
        else:
            candidates.append((offer, matched or []))
    candidates = _experiments(candidates, campaigns, decision)
    ranked = sorted(candidates, key=lambda item: _rank_key(item[0], scores))
    for offer, reasons in ranked[:limit]:
        value = _expected_value(offer, scores)
        decision.offers.append(Choice(offer.id, offer.name, channel, offer.template, value, reasons))
    for offer, _reasons in ranked[limit:]:
        decision.suppressed[offer.id] = f"ranked below the top {limit}"
    return decision


def _score(row: np.ndarray, models: Mapping[str, LoadedModel]) -> tuple[dict, dict, list[str]]:
    scores: dict[str, float | str | None] = {"propensity": None, "churn_risk": None, "segment": None}
    versions, fallback = {}, []
    for name, key in (("propensity", "propensity"), ("churn", "churn_risk"), ("segments", "segment")):
        model = models.get(name)
        if model is None:
            fallback.append(f"{name} model unavailable: rules only")
            continue
        value = model.predict(row)[0]
        scores[key] = model.segment_name(int(value)) if name == "segments" else round(float(value), 6)
        versions[name] = model.version
    return scores, versions, fallback


@dataclass(frozen=True, slots=True)
class _History:
    """What was sent in the last day and week, and the channel's consent: once per decision."""

    day: list[SentOffer]
    week: list[SentOffer]
    consented: bool

    @classmethod
    def of(cls, sent: Sequence[SentOffer], now_ms: int, consented: bool) -> _History:
        week = [s for s in sent if s.at_ms > now_ms - 7 * DAY_MS]
        return cls([s for s in week if s.at_ms > now_ms - DAY_MS], week, consented)


def _blocked(offer: Offer, channel: str, campaigns: Campaigns, history: _History) -> str | None:
    if channel not in offer.channels:
        return f"not offered on {channel}"
    if channel not in CONSENT_FREE_CHANNELS and not history.consented:
        return f"no {channel} consent"
    day, week = history.day, history.week
    caps, mine = campaigns.caps, offer.caps
    checks = (  # an offer's own caps count it on every channel; the caps on all offers count messages
        (mine.per_day, sum(s.offer_id == offer.id for s in day), "offer cap per day"),
        (mine.per_week, sum(s.offer_id == offer.id for s in week), "offer cap per week"),
        (caps.per_day, sum(s.channel not in CONSENT_FREE_CHANNELS for s in day), "cap on all offers per day"),
        (caps.per_week, sum(s.channel not in CONSENT_FREE_CHANNELS for s in week), "cap on all offers per week"),
        (caps.per_channel_per_day.get(channel), sum(s.channel == channel for s in day), f"{channel} cap per day"),
    )
    for limit, used, label in checks:
        if limit is not None and used >= limit:
            return f"{label} reached ({used}/{limit})"
    return None


def _eligible(rules: Eligibility, values: dict[str, float], scores: dict) -> list[str] | str:
    """The rules that matched, or the first that did not (as a string)."""
    matched: list[str] = []
    checks = [
        ("segments", rules.segments, lambda v: scores["segment"] in v, f"segment {scores['segment']}"),
        ("min_propensity", rules.min_propensity, lambda v: _score_at_least(scores["propensity"], v), "propensity"),
        ("max_propensity", rules.max_propensity, lambda v: _score_at_most(scores["propensity"], v), "propensity"),
        ("min_churn_risk", rules.min_churn_risk, lambda v: _score_at_least(scores["churn_risk"], v), "churn risk"),
        ("max_churn_risk", rules.max_churn_risk, lambda v: _score_at_most(scores["churn_risk"], v), "churn risk"),
        ("min_cart_value", rules.min_cart_value, lambda v: values["cart_value"] >= v, "cart value"),
        (
            "min_days_since_last_purchase",
            rules.min_days_since_last_purchase,
            lambda v: values["days_since_last_purchase"] >= v,
            "days since last purchase",
        ),
        (
            "max_days_since_last_purchase",
            rules.max_days_since_last_purchase,
            lambda v: values["days_since_last_purchase"] <= v,
            "days since last purchase",
        ),
        ("min_product_views_7d", rules.min_product_views_7d, lambda v: values["product_views_7d"] >= v, "views 7d"),
    ]
    for name, threshold, test, label in checks:
        if threshold is None:
            continue
        if not test(threshold):
            return f"not eligible: {name} {threshold} ({label})"
        matched.append(f"{name} {threshold}")
    if rules.cart != "any" and (values["cart_items"] > 0) != (rules.cart == "non_empty"):
        return f"not eligible: cart {rules.cart}"
    if rules.customer != "any" and (values["orders_total"] > 0) != (rules.customer == "returning"):
        return f"not eligible: {rules.customer} customers only"
    matched += [f"cart {rules.cart}"] if rules.cart != "any" else []
    matched += [f"{rules.customer} customer"] if rules.customer != "any" else []
    return matched


def _score_at_least(score: object, threshold: float) -> bool:
    return isinstance(score, float) and score >= threshold


def _score_at_most(score: object, threshold: float) -> bool:
    return isinstance(score, float) and score <= threshold


def _experiments(candidates: list[tuple[Offer, list[str]]], campaigns: Campaigns, decision: Decision) -> list:
    kept = []
    for offer, reasons in candidates:
        verdict = None
        for experiment in campaigns.experiments:
            if offer.id not in experiment.offers:
                continue
            arm_name = decision.experiments.setdefault(experiment.id, assign_arm(experiment, decision.pid))
            arm = next(a for a in experiment.arms if a.name == arm_name)
            if arm.control:
                decision.control = True
                verdict = f"holdout: control arm of experiment {experiment.id}"
            elif arm.offers is not None and offer.id not in arm.offers:
                verdict = f"experiment {experiment.id} arm {arm.name} does not show it"
            else:
                reasons = [*reasons, f"experiment {experiment.id} arm {arm.name}"]
        if verdict:
            decision.suppressed[offer.id] = verdict
        else:
            kept.append((offer, reasons))
    return kept


def _expected_value(offer: Offer, scores: dict) -> float | None:
    """P(pays off) x value - cost, P from the score the offer names; None when it is not scored."""
    probability = scores[offer.converts_with]
    return round(probability * offer.value - offer.cost, 4) if isinstance(probability, float) else None


def _rank_key(offer: Offer, scores: dict) -> tuple[float, int, str]:
    value = _expected_value(offer, scores)
    return (-(value if value is not None else 0.0), -offer.priority, offer.id)
