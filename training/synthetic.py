"""Seeded synthetic site traffic: v1 events for N customers over D days, with planted types.

Each customer follows a persona (loyal high-value, bargain hunter, window shopper, lapsing,
new) whose sessions, views, carts, checkouts, purchases, price range and e-mail habits
differ. The persona is returned beside the events as ground truth and never appears in them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Persona:
    name: str
    share: float
    sessions_per_day: float
    views_per_session: float
    cart_rate: float  # per product view
    checkout_rate: float  # per session that ends with items in the cart
    purchase_rate: float  # per checkout
    price_range: tuple[float, float]  # quantiles of the catalog's price distribution
    search_rate: float
    email_open_rate: float  # per weekly newsletter
    email_click_rate: float  # per open
    redeem_rate: float = 0.0  # per purchase
    lapse: bool = False  # activity fades out after a lapse day in the first half
    new: bool = False  # first visit in the last quarter of the window
    # the chance to buy within a week of an offer's exposure: held out, and sent it. Loyal
    # customers buy anyway (no uplift), bargain hunters are the ones an offer moves most
    answers: tuple[float, float] = (0.10, 0.15)


# fmt: off
PERSONAS: tuple[Persona, ...] = (
    Persona("loyal_high_value", 0.15, 0.16, 4, 0.40, 0.80, 0.90, (0.65, 1.0), 0.1, 0.7, 0.45, answers=(0.45, 0.45)),
    Persona("bargain_hunter", 0.25, 0.11, 6, 0.18, 0.60, 0.70, (0.0, 0.3), 0.9, 0.5, 0.30, redeem_rate=0.6,
            answers=(0.08, 0.40)),
    Persona("window_shopper", 0.25, 0.12, 8, 0.04, 0.10, 0.25, (0.3, 0.9), 0.3, 0.15, 0.05, answers=(0.05, 0.12)),
    Persona("lapsing", 0.20, 0.14, 4, 0.30, 0.70, 0.85, (0.35, 0.9), 0.2, 0.3, 0.10, lapse=True, answers=(0.06, 0.10)),
    Persona("new", 0.15, 0.25, 5, 0.20, 0.50, 0.65, (0.1, 0.8), 0.4, 0.4, 0.20, new=True, answers=(0.15, 0.25)),
)
# fmt: on
ANSWERS = {persona.name: persona.answers for persona in PERSONAS}
CATEGORIES = ("shoes", "outerwear", "tops", "denim", "accessories", "bags", "sport", "home", "beauty", "kids")


@dataclass(slots=True)
class SyntheticTraffic:
    events: list[dict[str, Any]]
    truth: dict[str, str]  # customer_id -> persona name (ground truth, kept out of the events)
    start: datetime
    end: datetime
    complements: dict[str, list[str]] = field(default_factory=dict)  # planted "bought together" pairs
    products: list[tuple[str, str, float]] = field(default_factory=list)  # (id, category, price) the shop sells


@dataclass(slots=True)
class _Shopper:
    customer_id: str
    persona: Persona
    activity: float
    first_day: int
    lapse_day: int
    cart: dict[str, tuple[str, float, int]] = field(default_factory=dict)
    orders: int = 0


class _Catalog:
    COMPLEMENT_RATE = 0.35  # an item in the cart brings one of its complements along

    def __init__(self, rng: random.Random, size: int = 240) -> None:
        self.products = sorted(
            (
                (f"P{i:05d}", CATEGORIES[i % len(CATEGORIES)], round(math.exp(rng.gauss(3.6, 0.7)), 2))
                for i in range(size)
            ),
            key=lambda product: product[2],
        )
        self.by_id = {product[0]: product for product in self.products}
        planted = random.Random(size)  # the same pairs whatever the traffic seed (shards agree)
        self.complements = {
            f"P{i:05d}": [f"P{j:05d}" for j in planted.sample([k for k in range(size) if k != i], 2)]
            for i in range(size)
        }

    def pick(self, rng: random.Random, price_range: tuple[float, float]) -> tuple[str, str, float]:
        low, high = (int(q * (len(self.products) - 1)) for q in price_range)
        return self.products[rng.randint(low, high)]


def generate(
    customers: int, days: int, seed: int = 7, end: datetime | None = None, first_index: int = 0, iso: bool = True
) -> SyntheticTraffic:
    """Events of `customers` shoppers over the `days` whole UTC days before `end`'s day and that
    day up to `end`, sorted by time.

    Days are calendar days: sessions fall at the same hours of the day (shoppers' habits)
    whatever the hour of `end`, and the first day starts at midnight, so `days` days of history
    are there at any hour. `first_index` numbers the customers, so shards generated apart never
    share an id; with `iso=False` occurred_at stays a datetime (in-process training skips format
    and parse)."""
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be at least 1")
    rng = random.Random(seed)
    end = (end or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    start = (end - timedelta(days=days)).replace(hour=0, minute=0, second=0)
    calendar_days = math.ceil((end - start) / timedelta(days=1))  # with the part of `end`'s day
    catalog = _Catalog(rng)
    weights = [persona.share for persona in PERSONAS]
    events: list[dict[str, Any]] = []
    truth: dict[str, str] = {}
    for index in range(first_index, first_index + customers):
        persona = rng.choices(PERSONAS, weights)[0]
        first = rng.randint(int(days * 0.75), days - 1) if persona.new else 0  # a whole day: seen before `end`
        shopper = _Shopper(
            customer_id=f"C{seed:03d}{index:07d}",
            persona=persona,
            activity=math.exp(rng.gauss(0, 0.25)),
            first_day=first,
            lapse_day=rng.randint(max(1, days // 6), max(1, days // 2)),
        )
        truth[shopper.customer_id] = persona.name
        events.extend(_customer_events(rng, catalog, shopper, start, calendar_days))
    events = [event for event in events if event["_at"] < end]
    events.sort(key=lambda event: event["_at"])
    for event in events:
        moment = event.pop("_at")
        event["occurred_at"] = moment.isoformat(timespec="milliseconds") if iso else moment
    return SyntheticTraffic(events, truth, start, end, catalog.complements, catalog.products)


def _customer_events(
    rng: random.Random, catalog: _Catalog, shopper: _Shopper, start: datetime, days: int
) -> Iterator[dict[str, Any]]:
    persona, first_session = shopper.persona, True
    for day in range(shopper.first_day, days):
        rate = persona.sessions_per_day * shopper.activity
        if persona.lapse and day > shopper.lapse_day:
            rate *= math.exp(-(day - shopper.lapse_day) / 4.0)
        day_start = start + timedelta(days=day)
        if day % 7 == 3 and not first_session and rng.random() < persona.email_open_rate:
            yield from _email(rng, shopper, catalog, day_start)
        for _ in range(_poisson(rng, rate) if day > shopper.first_day else max(1, _poisson(rng, rate))):
            at = day_start + timedelta(hours=rng.choice(_HOURS), minutes=rng.random() * 60)
            yield from _session(rng, catalog, shopper, at, first_session)
            first_session = False


_HOURS = (7, 8, 9, 12, 12, 13, 17, 18, 19, 19, 20, 20, 21, 21, 22, 23)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _event(rng: random.Random, shopper: _Shopper, kind: str, at: datetime, session: str | None, **props: Any) -> dict:
    event: dict[str, Any] = {
        "event_id": f"{rng.getrandbits(128):032x}",
        "event_type": kind,
        "_at": at,
        "customer_id": shopper.customer_id,
        "properties": props,
        "context": {"channel": "web", "device": "mobile" if rng.random() < 0.6 else "desktop", "locale": "en-GB"},
    }
    if session is not None:
        event["session_id"] = session
    return event


def _session(
    rng: random.Random, catalog: _Catalog, shopper: _Shopper, at: datetime, first: bool
) -> Iterator[dict[str, Any]]:
    persona = shopper.persona
    session = f"{rng.getrandbits(64):016x}"

    def tick() -> datetime:
        nonlocal at
        at += timedelta(seconds=rng.uniform(15, 120))
        return at

    yield _event(rng, shopper, "page_view", at, session, title="Home")
    if first:
        consents = {"email": rng.random() < 0.8, "push": rng.random() < 0.5}
        yield _event(rng, shopper, "consent_updated", tick(), session, consents=consents)
    if rng.random() < persona.search_rate:
        yield _event(rng, shopper, "search", tick(), session, query=rng.choice(CATEGORIES), results=rng.randint(0, 80))
    for _ in range(1 + _poisson(rng, persona.views_per_session - 1)):
        product_id, category, price = catalog.pick(rng, persona.price_range)
        yield _event(
            rng, shopper, "product_view", tick(), session, product_id=product_id, category=category, price=price
        )
        if rng.random() < persona.cart_rate:
            yield from _add(rng, shopper, tick(), session, product_id, category, price)
            if rng.random() < catalog.COMPLEMENT_RATE:
                other, other_category, other_price = catalog.by_id[rng.choice(catalog.complements[product_id])]
                props = {"product_id": other, "category": other_category, "price": other_price}
                yield _event(rng, shopper, "product_view", tick(), session, **props)
                yield from _add(rng, shopper, tick(), session, other, other_category, other_price)
    if shopper.cart and rng.random() < 0.1:
        product_id, (category, price, quantity) = rng.choice(sorted(shopper.cart.items()))
        del shopper.cart[product_id]
        props = {"product_id": product_id, "category": category, "price": price, "quantity": quantity}
        yield _event(rng, shopper, "remove_from_cart", tick(), session, **props)
    if shopper.cart and rng.random() < persona.checkout_rate:
        value = round(sum(price * quantity for _c, price, quantity in shopper.cart.values()), 2)
        items = sum(quantity for *_rest, quantity in shopper.cart.values())
        yield _event(rng, shopper, "checkout_started", tick(), session, cart_value=value, items=items)
        if rng.random() < persona.purchase_rate:
            yield from _purchase(rng, shopper, tick(), session, value)


def _add(
    rng: random.Random, shopper: _Shopper, at: datetime, session: str, product_id: str, category: str, price: float
) -> Iterator[dict]:
    quantity = 1 if rng.random() < 0.8 else 2
    held = shopper.cart.get(product_id, (category, price, 0))[2]
    shopper.cart[product_id] = (category, price, held + quantity)
    props = {"product_id": product_id, "category": category, "price": price, "quantity": quantity}
    yield _event(rng, shopper, "add_to_cart", at, session, **props)


def _purchase(rng: random.Random, shopper: _Shopper, at: datetime, session: str, value: float) -> Iterator[dict]:
    shopper.orders += 1
    order_id = f"O{shopper.customer_id[1:]}-{shopper.orders:04d}"
    lines = [
        {"product_id": product_id, "category": category, "price": price, "quantity": quantity}
        for product_id, (category, price, quantity) in sorted(shopper.cart.items())
    ]
    shopper.cart.clear()
    yield _event(rng, shopper, "purchase", at, session, order_id=order_id, revenue=value, items=lines)
    if rng.random() < shopper.persona.redeem_rate:
        offer = rng.choice(("WELCOME10", "CART5", "SALE20"))
        yield _event(
            rng, shopper, "offer_redeemed", at + timedelta(seconds=1), session, offer_id=offer, order_id=order_id
        )


def _email(rng: random.Random, shopper: _Shopper, catalog: _Catalog, day_start: datetime) -> Iterator[dict]:
    at = day_start + timedelta(hours=10, minutes=rng.random() * 300)
    message = f"newsletter-{day_start:%Y%m%d}"
    opened = _event(rng, shopper, "email_open", at, None, message_id=message, campaign_id="weekly")
    opened["context"]["channel"] = "email"
    yield opened
    if rng.random() < shopper.persona.email_click_rate:
        click_at = at + timedelta(minutes=rng.uniform(1, 20))
        clicked = _event(rng, shopper, "email_click", click_at, None, message_id=message, campaign_id="weekly")
        clicked["context"]["channel"] = "email"
        yield clicked
        yield from _session(rng, catalog, shopper, click_at + timedelta(seconds=5), False)
