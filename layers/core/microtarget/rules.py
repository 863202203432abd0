"""Why an offer may not be chosen: its channel, consent, frequency caps and eligibility rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from microtarget.campaigns import Campaigns, Eligibility, Offer
from microtarget.clock import DAY_MS

CONSENT_FREE_CHANNELS = {"web"}  # on-site placements are not marketing messages: no consent, no message caps


class Reason(str):
    """Why an offer was not chosen: the text people read (answers, the ledger) and a `code`
    programs branch on (channel, consent, cap, not_eligible, trigger_only, holdout, withheld,
    negative_value, ranked), so nothing has to match words in the text."""

    code: str

    def __new__(cls, code: str, text: str) -> Reason:
        reason = super().__new__(cls, text)
        reason.code = code
        return reason

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]  # copies keep the code
        return self.code, str(self)


@dataclass(frozen=True, slots=True)
class SentOffer:
    at_ms: int
    offer_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class History:
    """What was sent in the last day and week, and the channel's consent: once per decision."""

    day: list[SentOffer]
    week: list[SentOffer]
    consented: bool

    @classmethod
    def of(cls, sent: Sequence[SentOffer], now_ms: int, consented: bool) -> History:
        week = [s for s in sent if s.at_ms > now_ms - 7 * DAY_MS]
        return cls([s for s in week if s.at_ms > now_ms - DAY_MS], week, consented)


def blocked(offer: Offer, channel: str, campaigns: Campaigns, history: History) -> Reason | None:
    if channel not in offer.channels:
        return Reason("channel", f"not offered on {channel}")
    if channel not in CONSENT_FREE_CHANNELS and not history.consented:
        return Reason("consent", f"no {channel} consent")
    day, week = history.day, history.week
    caps, mine = campaigns.caps, offer.caps
    checks = (  # an offer's own caps count it on every channel; the caps on all offers count messages
        (mine.per_day, sum(s.offer_id == offer.id for s in day), "offer cap per day"),
        (mine.per_week, sum(s.offer_id == offer.id for s in week), "offer cap per week"),
        (caps.per_day, sum(s.channel not in CONSENT_FREE_CHANNELS for s in day), "cap on all offers per day"),
        (caps.per_week, sum(s.channel not in CONSENT_FREE_CHANNELS for s in week), "cap on all offers per week"),
        (caps.per_channel_per_day.get(channel), sum(s.channel == channel for s in day), f"{channel} cap per day"),
        (caps.per_channel_per_week.get(channel), sum(s.channel == channel for s in week), f"{channel} cap per week"),
    )
    for limit, used, label in checks:
        if limit is not None and used >= limit:
            return Reason("cap", f"{label} reached ({used}/{limit})")
    return None


def eligible(
    rules: Eligibility, values: dict[str, float], scores: dict, on_site: bool = False, page: str | None = None
) -> list[str] | Reason:
    """The rules that matched, or the first that did not (a Reason). Page rules apply to
    on-site decisions only, against the page the request's context names."""
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
            return Reason("not_eligible", f"not eligible: {name} {threshold} ({label})")
        matched.append(f"{name} {threshold}")
    if rules.cart != "any" and (values["cart_items"] > 0) != (rules.cart == "non_empty"):
        return Reason("not_eligible", f"not eligible: cart {rules.cart}")
    if rules.customer != "any" and (values["orders_total"] > 0) != (rules.customer == "returning"):
        return Reason("not_eligible", f"not eligible: {rules.customer} customers only")
    if rules.pages is not None and on_site:
        if page not in rules.pages:
            return Reason("not_eligible", f"not eligible: pages {rules.pages} (page {page or 'not given'})")
        matched.append(f"page {page}")
    matched += [f"cart {rules.cart}"] if rules.cart != "any" else []
    matched += [f"{rules.customer} customer"] if rules.customer != "any" else []
    return matched


def _score_at_least(score: object, threshold: float) -> bool:
    return isinstance(score, float) and score >= threshold


def _score_at_most(score: object, threshold: float) -> bool:
    return isinstance(score, float) and score <= threshold
