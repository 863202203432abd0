"""Event contract v1: one pydantic discriminated union, the single source of truth.

`schemas/event-v1.schema.json` is generated from `EVENT_ADAPTER` (`make schema`) and a
test fails when the committed file drifts from these models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_VERSION: Literal[1] = 1
Id = Annotated[str, Field(min_length=1, max_length=128)]
Money = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Quantity = Annotated[int, Field(ge=1, le=10_000)]
Channel = Literal["email", "push", "webhook", "sms"]
# Any moment the contract admits can be folded: day buckets and windows reach 90 days before it.
Moment = Annotated[
    AwareDatetime,
    Field(
        ge=datetime(2000, 1, 1, tzinfo=UTC),
        lt=datetime(2100, 1, 1, tzinfo=UTC),
        description="ISO 8601 with zone, from 2000-01-01 to 2099-12-31 UTC; ingest also refuses one more "
        "than 5 minutes ahead of its clock or more than 3 years behind it",
    ),
]
Count = Annotated[int, Field(ge=0, le=1_000_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Context(_Strict):
    channel: Literal["web", "app", "email", "pos", "server"] = "web"
    device: Annotated[str, Field(max_length=64)] | None = None
    locale: Annotated[str, Field(max_length=35)] | None = None
    page: Annotated[str, Field(max_length=2048)] | None = None


class PageViewProperties(_Strict):
    title: Annotated[str, Field(max_length=512)] | None = None
    referrer: Annotated[str, Field(max_length=2048)] | None = None


class ProductProperties(_Strict):
    product_id: Id
    category: Id | None = None
    price: Money | None = None


class CartProperties(ProductProperties):
    quantity: Quantity = 1


class SearchProperties(_Strict):
    query: Annotated[str, Field(min_length=1, max_length=256)]
    results: Count | None = None


class CheckoutProperties(_Strict):
    cart_value: Money | None = None
    items: Count | None = None


class LineItem(_Strict):
    product_id: Id
    category: Id | None = None
    price: Money
    quantity: Quantity = 1


class PurchaseProperties(_Strict):
    order_id: Id
    revenue: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    items: Annotated[list[LineItem], Field(max_length=200)] = []


class EmailProperties(_Strict):
    message_id: Id | None = None
    campaign_id: Id | None = None
    offer_id: Id | None = None
    url: Annotated[str, Field(max_length=2048)] | None = None


class OfferRedeemedProperties(_Strict):
    offer_id: Id
    order_id: Id | None = None
    decision_id: Id | None = None


class ConsentProperties(_Strict):
    """Consent per channel; channels not named keep their previous state."""

    consents: Annotated[dict[Channel, bool], Field(min_length=1)]


class _EventBase(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    event_id: Id
    occurred_at: Moment
    customer_id: Annotated[str, Field(min_length=1, max_length=256)]
    anonymous_id: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=256,
            description="the id the visitor had before this event identified them (a login): their "
            "anonymous profile is merged into customer_id's, once",
        ),
    ] = None
    session_id: Id | None = None
    context: Context = Context()


class PageView(_EventBase):
    event_type: Literal["page_view"]
    properties: PageViewProperties = PageViewProperties()


class ProductView(_EventBase):
    event_type: Literal["product_view"]
    properties: ProductProperties


class Search(_EventBase):
    event_type: Literal["search"]
    properties: SearchProperties


class AddToCart(_EventBase):
    event_type: Literal["add_to_cart"]
    properties: CartProperties


class RemoveFromCart(_EventBase):
    event_type: Literal["remove_from_cart"]
    properties: CartProperties


class CheckoutStarted(_EventBase):
    event_type: Literal["checkout_started"]
    properties: CheckoutProperties = CheckoutProperties()


class Purchase(_EventBase):
    event_type: Literal["purchase"]
    properties: PurchaseProperties


class EmailOpen(_EventBase):
    event_type: Literal["email_open"]
    properties: EmailProperties = EmailProperties()


class EmailClick(_EventBase):
    event_type: Literal["email_click"]
    properties: EmailProperties = EmailProperties()


class OfferRedeemed(_EventBase):
    event_type: Literal["offer_redeemed"]
    properties: OfferRedeemedProperties


class ConsentUpdated(_EventBase):
    event_type: Literal["consent_updated"]
    properties: ConsentProperties


Event = Annotated[
    (
        PageView
        | ProductView
        | Search
        | AddToCart
        | RemoveFromCart
        | CheckoutStarted
        | Purchase
        | EmailOpen
        | EmailClick
        | OfferRedeemed
        | ConsentUpdated
    ),
    Field(discriminator="event_type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout_started",
    "purchase",
    "email_open",
    "email_click",
    "offer_redeemed",
    "consent_updated",
)


def json_schema() -> dict[str, object]:
    """The published JSON Schema of one v1 event."""
    schema = EVENT_ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://microtarget.dev/schemas/event-v1.schema.json"
    schema["title"] = "microtarget event v1"
    return schema
