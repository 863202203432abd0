"""Request and response shapes of the decisions API (the OpenAPI document is generated from them)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

from microtarget.campaigns import Channel, Page
from microtarget.decisions import Context, Decision
from microtarget.errors import PermanentError

if TYPE_CHECKING:
    from microtarget.ports import Serving

ApiChannel = Channel  # the channels an offer can be decided for
CustomerId = Annotated[str, Field(min_length=1, max_length=256)]


class _Model(BaseModel):
    """Strict: a body is refused unless it has the types the document gives (no "3" for 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 string with its zone")
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer")
    return value


# strict mode would refuse the string itself (the body is validated as Python objects): lax, text only
Moment = Annotated[AwareDatetime, Field(strict=False), BeforeValidator(_text)]


class OfferOut(_Model):
    offer_id: str
    name: str
    channel: str
    template: str
    expected_value: float | None = Field(
        description="P(pays off) x value - cost, P being the score the offer converts with; null when not scored"
    )
    reasons: list[str]


class ContextIn(_Model):
    """Where the answer will be used; offers limited to some pages need the page."""

    page: Page | None = Field(default=None, description="the site page type (home, product, cart …); web only")
    product_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="the product on that page: the answer then lists what goes with it"
    )

    def domain(self) -> Context:
        return Context(self.page, self.product_id)


class ProductOut(_Model):
    product_id: str
    name: str
    category: list[str] = Field(description="the category path, broadest first")
    brand: str
    price: float
    currency: str
    image_url: str | None
    product_url: str | None
    available: bool
    reason: str = Field(description="why it is in the answer, e.g. bought together with the product on the page")


class DecisionOut(_Model):
    decision_id: str = Field(description="quote it when reporting what was done with the decision (/v1/exposures)")
    pid: str = Field(description="pseudonymized customer id (the raw id is never returned)")
    channel: str
    decided_at: str
    cold_start: bool = Field(description="no profile yet: decided from defaults")
    fallback: list[str] = Field(description="what degraded, e.g. a model that could not be loaded")
    scores: dict[str, float | str | None]
    model_versions: dict[str, str]
    experiments: dict[str, str]
    control: bool = Field(description="in a holdout arm: covered offers are withheld")
    withheld: str = Field(description="in a holdout arm: the offer the treatment would have been given first")
    offers: list[OfferOut]
    suppressed: dict[str, str] = Field(description="offer id -> why it was not chosen")
    context: ContextIn
    recommendations: list[str] = Field(
        description="for a site page: products that go with the page's product, else the cart, else what the "
        "customer viewed lately, else the best sellers (the reason is in products)"
    )
    products: list[ProductOut] = Field(
        description="the recommendations as the product catalog shows them (available ones only; empty without a catalog)"
    )

    @classmethod
    def of(cls, decision: Decision) -> DecisionOut:
        """The same fields as the engine's Decision (and its Choices), the time as ISO 8601."""
        return cls.model_validate({**asdict(decision), "decided_at": decision.decided_at.isoformat()})


class DecisionRequestItem(_Model):
    customer_id: CustomerId
    channel: ApiChannel = "web"
    context: ContextIn = ContextIn()


class DecisionsRequest(_Model):
    customers: Annotated[list[DecisionRequestItem], Field(min_length=1, max_length=100)]
    # JSON Schema's integers include 10.0: lax for numbers, never for text (constraints before the check)
    limit: Annotated[int, Field(ge=1, le=10, strict=False), BeforeValidator(_number)] = 3


class DecisionsResponse(_Model):
    decisions: list[DecisionOut]


class EventsRequest(_Model):
    events: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=500)]


class Rejection(_Model):
    index: int = Field(description="position of the rejected item in the request")
    code: str
    field: str | None
    message: str

    @classmethod
    def of(cls, index: int, reason: PermanentError) -> Rejection:
        return cls(index=index, code=reason.code, field=reason.field, message=reason.message)


class EventsResponse(_Model):
    accepted: int
    rejected: list[Rejection]


class ExposureIn(_Model):
    customer_id: CustomerId
    decision_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    channel: ApiChannel
    offer_id: str | None = Field(
        default=None, description="the offer sent or shown; null: the decision held the customer out (control arm)"
    )
    exposed_at: Moment | None = Field(default=None, description="when (ISO 8601 with zone); default now")


class ExposuresRequest(_Model):
    exposures: Annotated[list[ExposureIn], Field(min_length=1, max_length=100)]


class ExposuresResponse(_Model):
    recorded: int
    rejected: list[Rejection]


class ModelOut(_Model):
    version: str | None
    status: str
    metrics: dict[str, Any] = {}


class ModelsResponse(_Model):
    environment: str
    models: dict[str, ModelOut]
    campaigns_version: str | None
    problems: dict[str, str]

    @classmethod
    def of(cls, state: Serving) -> ModelsResponse:
        campaigns = state.campaigns()
        return cls(
            environment=state.environment,
            models={name: ModelOut(**asdict(status)) for name, status in state.model_status().items()},
            campaigns_version=campaigns.version if campaigns else None,
            problems=state.problems,
        )


class ExperimentResults(_Model):
    """What `python -m training results` computed for an experiment (README: Experiment results)."""

    model_config = ConfigDict(extra="allow")
    experiment: str
    as_of: str
    window_days: int
    control: str
    alpha: float
    arms: list[dict[str, Any]]
    srm: dict[str, Any] | None = Field(description="chi-squared against the configured weights; null if unknown")
    lifts: list[dict[str, Any]] = Field(description="per arm and metric: fixed, cuped, sequential, power")
    series: list[dict[str, Any]] = Field(description="one look a day: customers per arm, lift, always-valid CI")
    verdicts: list[str]
    offers: list[dict[str, Any]] = Field(
        default_factory=list, description="when the experiment covers several offers: each one's arms, lifts, verdicts"
    )
