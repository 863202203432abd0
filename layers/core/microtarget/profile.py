"""The behavioral profile of one pseudonymized customer, and its storage shape.

Times are epoch milliseconds (UTC), money is integer cents, days are ISO dates (UTC):
integers only, so the DynamoDB item needs no float handling and sums are exact.
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass, field, fields
from typing import Any

import orjson

BUCKET_DAYS = 90
# Every collection is bounded by count as well as time, so one customer id shared by a crowd (a
# "guest" id, a bot) cannot grow the item past DynamoDB's 400 KB: with every string at its
# contract maximum the state stays under 64 KB (tests/unit/test_profile_bounds.py, make bench).
MAX_RECENT_VIEWS = 50
MAX_CART_LOG = 50  # past it the log is folded into one line per open product
MAX_SEEN = 500  # event digests kept for exactly-once; past it older events count as late
MAX_SESSIONS = 100  # session keys kept for counting sessions; past it the oldest are forgotten
MAX_BOUGHT = 50  # distinct products bought, the newest kept: what recommendations leave out
MAX_ITEM_BYTES = 64 * 1024

# Daily bucket counters: v page views, pv product views, q searches, c add-to-cart,
# rc remove-from-cart, co checkouts, p purchases, r revenue cents, i items,
# s sessions, eo e-mail opens, ec e-mail clicks, or offers redeemed.


@dataclass(slots=True)
class CartLine:
    product_id: str
    quantity: int
    price_cents: int | None
    added_at: int


@dataclass(slots=True)
class Profile:
    pid: str
    version: int = 0
    first_seen: int | None = None
    last_seen: int | None = None
    orders: int = 0
    revenue_cents: int = 0
    items: int = 0
    offers_redeemed: int = 0
    last_purchase_at: int | None = None
    last_order_id: str | None = None
    checkout_at: int | None = None
    email_last_open_at: int | None = None
    email_last_click_at: int | None = None
    cart_cleared_at: int = 0
    dedup_floor: int = 0  # raised only when a flood overflows `seen`: older events count as late
    # set by an erasure (the tombstone): events from before it are dropped, never folded again
    erased_before: int | None = None
    # an anonymous profile merged into a known one: its events land there (microtarget.merge)
    alias_of: str | None = None
    aliases: list[str] = field(default_factory=list)  # the anonymous pids merged into this one
    days: dict[str, dict[str, int]] = field(default_factory=dict)
    # [ts, event digest, product_id, category]: the newest product views, oldest first.
    recent_views: list[list[Any]] = field(default_factory=list)
    # [ts, product_id]: the latest purchase of each of the newest distinct products bought, oldest first.
    bought: list[list[Any]] = field(default_factory=list)
    # [ts, event digest, product_id, quantity delta, price cents or None] since the cart was last emptied.
    cart_log: list[list[Any]] = field(default_factory=list)
    # channel -> [granted, ts, event digest]: last writer (by event time) wins.
    consent: dict[str, list[Any]] = field(default_factory=dict)
    # What was already applied, for exactly-once: event digest -> ts, and "day|session digest" -> day end.
    seen: dict[str, int] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)

    def cart(self) -> dict[str, CartLine]:
        """The open cart, folded from the cart log (kept in event-time order by aggregation)."""
        lines: dict[str, CartLine] = {}
        for ts, _digest, product_id, delta, price in self.cart_log:
            line = lines.get(product_id) or CartLine(product_id, 0, price, ts)
            if line.quantity == 0:
                line.added_at = ts
            line.quantity = max(0, line.quantity + delta)
            line.price_cents = price if price is not None else line.price_cents
            lines[product_id] = line
        return {pid: line for pid, line in lines.items() if line.quantity > 0}

    def remember_bought(self, product_id: str, ts: int) -> None:
        """Record a purchase of `product_id` at `ts`: one line a product, its latest purchase, in
        time order, the oldest forgotten past MAX_BOUGHT (so a replay or a late event changes nothing
        it should not, and the order events arrive in does not matter)."""
        for index, (at, product) in enumerate(self.bought):
            if product == product_id:
                if at >= ts:
                    return
                del self.bought[index]
                break
        insort(self.bought, [ts, product_id])
        if len(self.bought) > MAX_BOUGHT:
            del self.bought[0]

    def bought_since(self, ts: int) -> set[str]:
        return {product for at, product in self.bought if at >= ts}

    def consents(self) -> dict[str, bool]:
        return {channel: bool(state[0]) for channel, state in self.consent.items()}

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item: key, version, a few scalars people query, and the state as JSON.

        The state is one compact JSON string rather than nested maps: orjson reads and writes
        it in ~40 µs, where boto3's type (de)serializer walks thousands of map entries in Python.
        Keys are sorted so the same profile is always the same item.
        """
        state = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("pid", "version")}
        summary = {name: getattr(self, name) for name in SUMMARY if getattr(self, name) is not None}
        return {
            "pid": self.pid,
            "version": self.version,
            **summary,
            "state": orjson.dumps(state, option=orjson.OPT_SORT_KEYS).decode(),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Profile:
        state = orjson.loads(item["state"]) if "state" in item else {}
        return cls(pid=item["pid"], version=int(item.get("version", 0)), **state)


def item_bytes(item: dict[str, Any]) -> int:
    """The size DynamoDB counts for a profile item: attribute names plus values (UTF-8 strings,
    numbers at about one byte per two digits)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        size += len(value.encode()) if isinstance(value, str) else len(str(value)) // 2 + 1
    return size


# Top-level attributes beside the JSON state, for people and queries.
SUMMARY = ("first_seen", "last_seen", "orders", "revenue_cents", "last_purchase_at", "erased_before", "alias_of")
