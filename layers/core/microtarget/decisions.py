"""decide(): profile → features → scores → eligible offers → consent, caps, experiments → ranked
offers with the reasons for each choice and each suppression. No HTTP or Lambda types here."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from microtarget.campaigns import Arm, Campaigns, Experiment, Offer
from microtarget.clock import to_ms
from microtarget.features import feature_dict
from microtarget.profile import Profile
from microtarget.rules import CONSENT_FREE_CHANNELS, History, Reason, SentOffer, blocked, eligible
from microtarget.scoring import LoadedModel, Scored, score_many, uplift_key


@dataclass(frozen=True, slots=True)
class Context:
    """Where the answer will be used: the site page and the product on it (both optional)."""

    page: str | None = None
    product_id: str | None = None


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
    context: Context = field(default_factory=Context)
    recommendations: list[str] = field(default_factory=list)  # go with the context's product
    products: list[dict] = field(default_factory=list)  # the recommendations as the catalog shows them
    withheld: str = ""  # in a control arm: the offer the treatment would have been given first

    @property
    def segment(self) -> str | None:
        """The customer's segment by name, when the segment model scored them."""
        segment = self.scores.get("segment")
        return segment if isinstance(segment, str) else None

    def __post_init__(self) -> None:
        if not self.decision_id:  # the same customer, channel, place and moment: the same decision
            where = f"{self.context.page or ''}|{self.context.product_id or ''}"
            moment = f"{self.pid}|{self.channel}|{where}|{to_ms(self.decided_at)}"
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


def arm_of(experiment: Experiment, pid: str) -> Arm:
    name = assign_arm(experiment, pid)
    return next(arm for arm in experiment.arms if arm.name == name)


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
    context: Context | None = None,
    scored: Scored | None = None,
) -> Decision:
    """`triggered`: asked by dispatch for a fired trigger (trigger-only offers may be chosen).
    `scored`: the customer's features and scores, already computed for a batch (score_many)."""
    context = context or Context()
    current = profile or Profile(pid)
    if profile is None:  # an empty profile's scores mean nothing: decide on rules and defaults
        values = feature_dict(current, now)
        scores: dict[str, float | str | None] = {"propensity": None, "churn_risk": None, "segment": None}
        versions: dict[str, str] = {}
        fallback = ["cold start: no profile yet, rules only"]
    else:
        values, scores, versions, fallback = scored or score_many([profile], now, models)[0]
    decision = Decision(pid, channel, now, profile is None, scores, versions, fallback, {}, False, context=context)
    candidates: list[tuple[Offer, list[str]]] = []
    history = History.of(sent, to_ms(now), consented=current.consents().get(channel, False))
    on_site = channel in CONSENT_FREE_CHANNELS
    for offer in campaigns.offers:
        why_not = Reason("trigger_only", "sent only by its trigger") if offer.trigger_only and not triggered else None
        why_not = why_not or blocked(offer, channel, campaigns, history)
        matched = [] if why_not else eligible(offer.eligibility, values, scores, on_site, context.page)
        if isinstance(matched, Reason):
            why_not = matched
        if why_not:
            decision.suppressed[offer.id] = why_not
        elif isinstance(matched, list):
            candidates.append((offer, matched))
    eligible_offers = candidates
    candidates = _experiments(candidates, campaigns, decision)
    if decision.control:  # ranked as the treatment's are, so each offer's holdout is its own
        held = [o for o, _ in eligible_offers if _code(decision.suppressed.get(o.id)) == "holdout"]
        held = [o for o in held if (_expected_value(o, scores) or 0.0) >= 0]
        decision.withheld = min(held, key=lambda o: _rank_key(o, scores)).id if held else ""
    for offer, _reasons in candidates:
        value, basis = _expected_value(offer, scores), _basis(offer, scores, decision)
        if value is not None and value < 0:  # it would cost more than it is expected to bring
            decision.suppressed[offer.id] = Reason("negative_value", f"{basis} {value:.2f} is below zero")
    candidates = [(o, r) for o, r in candidates if o.id not in decision.suppressed]
    ranked = sorted(candidates, key=lambda item: _rank_key(item[0], scores))
    for offer, reasons in ranked[:limit]:
        value = _expected_value(offer, scores)
        if _by_uplift(offer, scores):
            reasons = [*reasons, f"ranked by incremental value (uplift {scores[uplift_key(offer.id)]:+.3f})"]
        decision.offers.append(Choice(offer.id, offer.name, channel, offer.template, value, reasons))
    for offer, _reasons in ranked[limit:]:
        decision.suppressed[offer.id] = Reason("ranked", f"ranked below the top {limit}")
    return decision


def _experiments(candidates: list[tuple[Offer, list[str]]], campaigns: Campaigns, decision: Decision) -> list:
    kept = []
    for offer, reasons in candidates:
        verdict: Reason | None = None
        for experiment in campaigns.experiments:
            if offer.id not in experiment.offers:
                continue
            arm = arm_of(experiment, decision.pid)
            decision.experiments.setdefault(experiment.id, arm.name)
            if arm.control:
                decision.control = True
                verdict = Reason("holdout", f"holdout: control arm of experiment {experiment.id}")
            elif arm.withholds(offer.id):
                verdict = Reason("withheld", f"experiment {experiment.id} arm {arm.name} does not show it")
            else:
                reasons = [*reasons, f"experiment {experiment.id} arm {arm.name}"]
        if verdict:
            decision.suppressed[offer.id] = verdict
        else:
            kept.append((offer, reasons))
    return kept


def _code(reason: object) -> str:
    return reason.code if isinstance(reason, Reason) else ""


def _by_uplift(offer: Offer, scores: dict) -> bool:
    return offer.rank_by == "uplift" and isinstance(scores.get(uplift_key(offer.id)), float)


def _expected_value(offer: Offer, scores: dict) -> float | None:
    """P(pays off) x value - cost, P from the score the offer names; None when it is not scored.
    An offer ranked by uplift, once the model has its figure: the incremental value, uplift x
    value - cost (a customer who buys anyway is worth nothing more for being sent it)."""
    if _by_uplift(offer, scores):
        return round(scores[uplift_key(offer.id)] * offer.value - offer.cost, 4)
    probability = scores[offer.converts_with]
    return round(probability * offer.value - offer.cost, 4) if isinstance(probability, float) else None


def _basis(offer: Offer, scores: dict, decision: Decision) -> str:
    """What the offer's value is, noting on the decision an uplift-ranked offer that falls back."""
    if _by_uplift(offer, scores):
        return "expected incremental value"
    if offer.rank_by == "uplift":
        note = f"{offer.id}: no uplift figure yet, ranked by {offer.converts_with} x value"
        if note not in decision.fallback:
            decision.fallback.append(note)
    return "expected value"


def _rank_key(offer: Offer, scores: dict) -> tuple[float, int, str]:
    value = _expected_value(offer, scores)
    return (-(value if value is not None else 0.0), -offer.priority, offer.id)
