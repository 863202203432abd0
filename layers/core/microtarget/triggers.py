"""Trigger rules: which moments in a customer's profile deserve a message, and whether they
still do when the timer fires.

Ingest calls `evaluate` right after folding a customer's new events. Every fired moment gets
a deterministic id (customer, rule, the state that caused it), so a re-processed batch fires
the same id again and dispatch's idempotency turns it into one message. Times are event time:
a replay computes the same due time, only the delay left until then differs.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from microtarget.aggregation import day_of, digest
from microtarget.campaigns import Trigger, TriggerKind
from microtarget.clock import MINUTE_MS, to_ms
from microtarget.events import Event
from microtarget.profile import Profile

CART_EVENTS = ("add_to_cart", "remove_from_cart")


class TriggerMessage(BaseModel):
    """What travels on the trigger queue: pseudonymized, no contact details, no raw ids."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trigger_id: Annotated[str, Field(pattern=r"^t[0-9a-f]{32}$")]
    rule: str
    kind: TriggerKind
    pid: Annotated[str, Field(min_length=1, max_length=64)]
    channel: str
    moment_ms: int  # when the moment happened (event time)
    anchor: str  # the state that fired it: the cart change, the view, the order, the day
    due_ms: int
    expires_ms: int
    products: list[str] = []
    deferrals: Annotated[int, Field(ge=0, le=10)] = 0  # times quiet hours held it back

    @property
    def idempotency_key(self) -> str:
        return f"{self.trigger_id}.{self.deferrals}"


@dataclass(slots=True)
class Evaluation:
    fired: list[TriggerMessage] = field(default_factory=list)
    stale: int = 0  # moments whose message would already have expired (history, long outages)


def owner_of(body: str) -> str | None:
    """The pid a (possibly malformed) trigger message names, for its dead letter."""
    try:
        pid = json.loads(body).get("pid")
    except (ValueError, AttributeError):
        return None
    return pid if isinstance(pid, str) and pid else None


def trigger_id(pid: str, rule: str, anchor: str) -> str:
    return "t" + hashlib.blake2b(f"{pid}|{rule}|{anchor}".encode(), digest_size=16).hexdigest()


def evaluate(
    rules: Sequence[Trigger],
    profile: Profile,
    applied: Sequence[Event],
    now_ms: int,
    churn: tuple[float | None, float | None] = (None, None),
    applied_ms: Sequence[int] | None = None,
) -> Evaluation:
    """The moments the newly applied events created. `churn` = (score before, score after);
    `applied_ms`: the events' times when the caller has them (apply_events does)."""
    result = Evaluation()
    stamps = applied_ms if applied_ms is not None else [to_ms(e.occurred_at) for e in applied]
    for rule in rules:
        for moment, anchor, products in _moments(rule, profile, applied, stamps, churn):
            due = moment + rule.after_minutes * MINUTE_MS
            expires = due + rule.expires_after_minutes * MINUTE_MS
            if expires < now_ms:
                result.stale += 1
                continue
            message = TriggerMessage.model_construct(  # built from validated state: no re-validation
                trigger_id=trigger_id(profile.pid, rule.id, anchor),
                rule=rule.id,
                kind=rule.kind,
                pid=profile.pid,
                channel=rule.channel,
                moment_ms=moment,
                anchor=anchor,
                due_ms=due,
                expires_ms=expires,
                products=products,
                deferrals=0,
            )
            result.fired.append(message)
    return result


def _moments(
    rule: Trigger,
    profile: Profile,
    applied: Sequence[Event],
    stamps: Sequence[int],
    churn: tuple[float | None, float | None],
) -> list[tuple[int, str, list[str]]]:
    """(moment, anchor, products) for each time this rule fires on these events."""
    if rule.kind == "repeat_views":
        return _repeat_views(rule, profile, applied, stamps)
    if rule.kind == "cart_abandonment":
        return _cart_left(profile, applied)
    if rule.kind == "post_purchase":
        return [
            (ts, digest(e.event_id), [line.product_id for line in e.properties.items])
            for e, ts in zip(applied, stamps, strict=True)
            if e.event_type == "purchase"
        ]
    before, after = churn
    assert rule.threshold is not None and profile.last_seen is not None
    if before is not None and after is not None and before < rule.threshold <= after:
        return [(profile.last_seen, day_of(profile.last_seen), [])]
    return []


def _repeat_views(
    rule: Trigger, profile: Profile, applied: Sequence[Event], stamps: Sequence[int]
) -> list[tuple[int, str, list[str]]]:
    """Fires on the view that brings a product to exactly `min_views` inside the window, so
    five views in ten minutes are one moment, not three. A late view can complete a window
    after its end, so every view a new one could be counted by is checked."""
    assert rule.min_views is not None and rule.within_minutes is not None
    window, needed = rule.within_minutes * MINUTE_MS, rule.min_views
    new: dict[str, list[int]] = {}  # product -> times of its views among the new events
    for event, ts in zip(applied, stamps, strict=True):
        if event.event_type == "product_view":
            new.setdefault(event.properties.product_id, []).append(ts)
    if not new:
        return []
    viewed: dict[str, list[tuple[int, str]]] = {}  # time-ordered, like recent_views
    for ts, key, product, *_rest in profile.recent_views:
        if product in new:
            viewed.setdefault(product, []).append((ts, key))
    moments = []
    for product, mine in new.items():
        times = viewed.get(product, [])
        if len(times) < needed:
            continue
        mine.sort()
        start = 0
        for index, (ts, key) in enumerate(times):
            while times[start][0] <= ts - window:
                start += 1
            touched = bisect_right(mine, ts) > bisect_right(mine, ts - window)  # a new view in this window
            if touched and index - start + 1 == needed:
                moments.append((ts, key, [product]))
    return moments


def _cart_left(profile: Profile, applied: Sequence[Event]) -> list[tuple[int, str, list[str]]]:
    """The cart's newest change happened in these events and the cart is not empty: start the
    timer from it. A later change starts a new timer and the older one finds itself superseded."""
    if not profile.cart_log or not any(e.event_type in CART_EVENTS for e in applied):
        return []
    ts, key = profile.cart_log[-1][0], profile.cart_log[-1][1]
    if key not in {digest(e.event_id) for e in applied if e.event_type in CART_EVENTS}:
        return []  # the newest change came earlier: its timer is already running
    if (profile.checkout_at or 0) > ts:
        return []
    cart = profile.cart()
    return [(ts, key, sorted(cart))] if cart else []


def still_holds(message: TriggerMessage, profile: Profile) -> str | None:
    """Re-checked when the timer fires, against the current profile: None, or why not anymore."""
    if message.kind == "cart_abandonment":
        if profile.cart_cleared_at >= message.moment_ms:
            return "purchased since the cart was left"
        if (profile.checkout_at or 0) > message.moment_ms:
            return "checkout started since"
        if not profile.cart():
            return "cart emptied since"
        if profile.cart_log[-1][1] != message.anchor:
            return "cart changed since (a newer timer is running)"
    if message.kind == "repeat_views" and (profile.last_purchase_at or 0) > message.moment_ms:
        return "purchased since"
    return None
