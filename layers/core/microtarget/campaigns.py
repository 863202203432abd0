"""The campaigns file: offers, eligibility, frequency caps, experiments, triggers and quiet
hours, edited by marketers.

YAML or JSON, validated by pydantic; every error names the offer (or experiment) and field.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from microtarget.clock import DAY_MS
from microtarget.errors import PermanentError
from microtarget.validation import TimeZoneName, first_problem

MessageChannel = Literal["email", "push", "webhook"]  # what dispatch sends through
Channel = Literal[MessageChannel, "web"]  # and what the site asks the API about
Probability = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0, le=1000)]
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # an offer's or experiment's id (what the API's paths take too)
Page = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$")]  # a site page type: home, product, cart …


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Eligibility(_Strict):
    segments: list[str] | None = None
    min_propensity: Probability | None = None
    max_propensity: Probability | None = None
    min_churn_risk: Probability | None = None
    max_churn_risk: Probability | None = None
    cart: Literal["any", "non_empty", "empty"] = "any"
    min_cart_value: Annotated[float, Field(ge=0)] | None = None
    customer: Literal["any", "new", "returning"] = "any"
    min_days_since_last_purchase: Annotated[float, Field(ge=0)] | None = None
    max_days_since_last_purchase: Annotated[float, Field(ge=0)] | None = None
    min_product_views_7d: Annotated[int, Field(ge=0)] | None = None
    pages: Annotated[list[Page], Field(min_length=1)] | None = None  # on the site: only on these pages


class OfferCaps(_Strict):
    per_day: Count | None = None
    per_week: Count | None = None


class Offer(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    name: str
    channels: Annotated[list[Channel], Field(min_length=1)]
    template: str
    value: Annotated[float, Field(ge=0)]  # what a conversion is worth to the business
    cost: Annotated[float, Field(ge=0)] = 0.0
    # which score is the chance this offer pays off: a purchase nudge converts with the purchase
    # propensity; a retention offer is worth its value when the customer would otherwise leave
    converts_with: Literal["propensity", "churn_risk"] = "propensity"
    # "uplift": rank by the incremental value (uplift x value - cost) once the uplift model has a
    # figure for this offer; score x value - cost until then
    rank_by: Literal["expected_value", "uplift"] = "expected_value"
    priority: int = 0  # tie-break, and the order when no model is available
    trigger_only: bool = False  # sent only when one of its triggers fires, never offered through the API
    eligibility: Eligibility = Eligibility()
    caps: OfferCaps = OfferCaps()


class GlobalCaps(_Strict):
    per_day: Count = 2
    per_week: Count = 5
    per_channel_per_day: dict[Channel, Count] = {}
    per_channel_per_week: dict[Channel, Count] = {}


class Arm(_Strict):
    name: str
    weight: Annotated[float, Field(gt=0)]
    control: bool = False  # the holdout: no offer, exposure recorded
    offers: list[str] | None = None  # None: every offer the experiment covers

    def withholds(self, offer_id: str) -> bool:
        """The one rule for what a customer in this arm is not shown (by dispatch, the API, reports)."""
        return self.control or (self.offers is not None and offer_id not in self.offers)


class Experiment(_Strict):
    id: Annotated[str, Field(pattern=ID_PATTERN)]
    offers: list[str]  # which offers the experiment covers; "*" in the file: every offer (a global holdout)
    arms: Annotated[list[Arm], Field(min_length=2)]
    # the customers per arm the always-valid test is tuned for: its interval is tightest there
    # (results, `python -m training results`); about the sample the experiment expects to reach
    expected_customers_per_arm: Annotated[int, Field(ge=100, le=100_000_000)] = 5000

    @model_validator(mode="after")
    def _one_control_at_most(self) -> Experiment:
        if sum(arm.control for arm in self.arms) > 1:
            raise ValueError("at most one arm may be the control")
        return self


TriggerKind = Literal["repeat_views", "cart_abandonment", "churn_risk", "post_purchase"]
Minutes = Annotated[int, Field(ge=0, le=60 * 24 * 60)]


class Trigger(_Strict):
    """A moment that matters → a message on one channel, the best of `offers` by expected value.

    repeat_views: the same product viewed `min_views` times within `within_minutes`;
    cart_abandonment: items in the cart and no checkout or purchase for `after_minutes`;
    churn_risk: the churn score crosses `threshold` upwards when the customer shows up again;
    post_purchase: `after_minutes` after an order (cross-sell what goes with it).
    """

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    kind: TriggerKind
    channel: MessageChannel
    offers: Annotated[list[str], Field(min_length=1)]
    after_minutes: Minutes = 0  # wait this long after the moment, then re-check and send
    expires_after_minutes: Minutes = 24 * 60  # a message that could not go out by then is dropped
    min_views: Annotated[int, Field(ge=2, le=50)] | None = None
    within_minutes: Annotated[int, Field(ge=1, le=24 * 60)] | None = None
    threshold: Probability | None = None
    # churn_risk: only a customer coming back after this long away is re-scored (a score that
    # drifts up mid-session is noise, not a customer slipping away)
    min_absence_days: Annotated[float, Field(ge=0, le=365)] = 1.0

    @model_validator(mode="after")
    def _kind_fields(self) -> Trigger:
        needed = {"repeat_views": ("min_views", "within_minutes"), "churn_risk": ("threshold",)}
        for name in needed.get(self.kind, ()):
            if getattr(self, name) is None:
                raise ValueError(f"{self.kind} triggers need {name}")
        if self.kind == "cart_abandonment" and self.after_minutes < 1:
            raise ValueError("cart_abandonment needs after_minutes >= 1 (how long a cart sits idle)")
        return self


class QuietHours(_Strict):
    """No e-mail or push between start and end in the customer's time zone: held until end."""

    start: time
    end: time
    timezone: TimeZoneName = "UTC"  # for customers whose contact record names no time zone


class Recommending(_Strict):
    """What recommendations leave out besides the moment's own products and unavailable ones: what
    the customer bought in the last `exclude_bought_days` days (0: anything may be recommended
    again; the profile remembers the 50 products bought last, so that bounds a long window too)."""

    exclude_bought_days: Annotated[int, Field(ge=0, le=3650)] = 30

    def bought_since(self, now_ms: int) -> int | None:
        """The moment from which a product bought is left out (None: nothing bought is)."""
        return now_ms - self.exclude_bought_days * DAY_MS if self.exclude_bought_days else None


class Campaigns(_Strict):
    version: str
    offers: Annotated[list[Offer], Field(min_length=1)]
    caps: GlobalCaps = GlobalCaps()
    experiments: list[Experiment] = []
    triggers: list[Trigger] = []
    quiet_hours: QuietHours | None = None
    attribution_days: Annotated[int, Field(ge=1, le=90)] = 7  # a conversion counts for the decision before it
    site_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$")] = "https://shop.example.com"  # links in messages
    recommendations: Recommending = Recommending()

    @model_validator(mode="before")
    @classmethod
    def _every_offer(cls, data: Any) -> Any:
        """`offers: "*"` is every offer of the file: a global holdout that no new offer escapes."""
        if not isinstance(data, dict) or not isinstance(data.get("experiments"), list):
            return data
        if not isinstance(data.get("offers"), list):
            return data  # validation names what is wrong with the offers
        ids = [o["id"] for o in data.get("offers") or [] if isinstance(o, dict) and "id" in o]
        experiments = [e | {"offers": ids} if isinstance(e, dict) and e.get("offers") == "*" else e
                       for e in data["experiments"]]  # fmt: skip
        return data | {"experiments": experiments}

    @model_validator(mode="after")
    def _references(self) -> Campaigns:
        ids = [offer.id for offer in self.offers]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"offer ids must be unique: {duplicated}")
        for experiment in self.experiments:
            for name in experiment.offers + [o for arm in experiment.arms for o in (arm.offers or [])]:
                if name not in ids:
                    raise ValueError(f"experiment {experiment.id!r} names unknown offer {name!r}")
        for trigger in self.triggers:
            for name in trigger.offers:
                if name not in ids:
                    raise ValueError(f"trigger {trigger.id!r} names unknown offer {name!r}")
                if trigger.channel not in self.offer(name).channels:
                    raise ValueError(f"trigger {trigger.id!r}: offer {name!r} is not offered on {trigger.channel}")
        trigger_ids = [trigger.id for trigger in self.triggers]
        if len(set(trigger_ids)) != len(trigger_ids):
            raise ValueError("trigger ids must be unique")
        return self

    def offer(self, offer_id: str) -> Offer:
        return next(offer for offer in self.offers if offer.id == offer_id)

    def trigger(self, trigger_id: str) -> Trigger | None:
        return next((trigger for trigger in self.triggers if trigger.id == trigger_id), None)

    def only(self, offer_ids: list[str]) -> Campaigns:
        """The same file with only these offers (what a trigger may choose from)."""
        return self.model_copy(update={"offers": [offer for offer in self.offers if offer.id in offer_ids]})


def parse_campaigns(text: str | bytes) -> Campaigns:
    """Parse YAML or JSON; a PermanentError names the offer/experiment and the field."""
    try:
        raw: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PermanentError("invalid_campaigns", f"not YAML or JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise PermanentError("invalid_campaigns", "the file must be a mapping with version and offers")
    try:
        return Campaigns.model_validate(raw)
    except ValidationError as exc:
        _type, message, loc = first_problem(exc)
        raise PermanentError("invalid_campaigns", message, _where(raw, loc)) from None


def _where(raw: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """offers[2].eligibility.min_propensity → offer 'cart-recovery' eligibility.min_propensity"""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] in _LABELS and isinstance(parts[1], int):
        items = raw.get(parts[0]) or []
        item = items[parts[1]] if parts[1] < len(items) and isinstance(items[parts[1]], dict) else {}
        label = _LABELS[parts[0]]
        rest = ".".join(map(str, parts[2:]))
        return f"{label} {item.get('id', '#' + str(parts[1]))!r}" + (f" {rest}" if rest else "")
    return ".".join(map(str, parts)) or "file"


_LABELS = {"offers": "offer", "experiments": "experiment", "triggers": "trigger"}
