"""The campaigns file: offers, eligibility, frequency caps and experiments, edited by marketers.

YAML or JSON, validated by pydantic; every error names the offer (or experiment) and field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from microtarget.errors import PermanentError

Channel = Literal["email", "push", "webhook", "web"]
Probability = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0, le=1000)]


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


class OfferCaps(_Strict):
    per_day: Count | None = None
    per_week: Count | None = None


class Offer(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    name: str
    channels: Annotated[list[Channel], Field(min_length=1)]
    template: str
    value: Annotated[float, Field(ge=0)]  # what a conversion is worth to the business
    cost: Annotated[float, Field(ge=0)] = 0.0
    # which score is the chance this offer pays off: a purchase nudge converts with the purchase
    # propensity; a retention offer is worth its value when the customer would otherwise leave
    converts_with: Literal["propensity", "churn_risk"] = "propensity"
    priority: int = 0  # tie-break, and the order when no model is available
    eligibility: Eligibility = Eligibility()
    caps: OfferCaps = OfferCaps()


class GlobalCaps(_Strict):
    per_day: Count = 2
    per_week: Count = 5
    per_channel_per_day: dict[Channel, Count] = {}


class Arm(_Strict):
    name: str
    weight: Annotated[float, Field(gt=0)]
    control: bool = False  # the holdout: no offer, exposure recorded
    offers: list[str] | None = None  # None: every offer the experiment covers


class Experiment(_Strict):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    offers: list[str]  # which offers the experiment covers
    arms: Annotated[list[Arm], Field(min_length=2)]

    @model_validator(mode="after")
    def _one_control_at_most(self) -> Experiment:
        if sum(arm.control for arm in self.arms) > 1:
            raise ValueError("at most one arm may be the control")
        return self


class Campaigns(_Strict):
    version: str
    offers: Annotated[list[Offer], Field(min_length=1)]
    caps: GlobalCaps = GlobalCaps()
    experiments: list[Experiment] = []

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
        return self

    def offer(self, offer_id: str) -> Offer:
        return next(offer for offer in self.offers if offer.id == offer_id)


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
        first = exc.errors(include_url=False)[0]
        raise PermanentError("invalid_campaigns", str(first["msg"]), _where(raw, first["loc"])) from None


def _where(raw: dict[str, Any], loc: tuple[Any, ...]) -> str:
    """offers[2].eligibility.min_propensity → offer 'cart-recovery' eligibility.min_propensity"""
    parts = list(loc)
    if len(parts) >= 2 and parts[0] in ("offers", "experiments") and isinstance(parts[1], int):
        items = raw.get(parts[0]) or []
        item = items[parts[1]] if parts[1] < len(items) and isinstance(items[parts[1]], dict) else {}
        label = "offer" if parts[0] == "offers" else "experiment"
        rest = ".".join(map(str, parts[2:]))
        return f"{label} {item.get('id', '#' + str(parts[1]))!r}" + (f" {rest}" if rest else "")
    return ".".join(map(str, parts)) or "file"
