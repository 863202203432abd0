"""Apply v1 events to a profile: the one aggregation shared by ingest, serving and training.

Order-independent by construction inside the late-event tolerance: counters are sums,
times are min/max, the cart and the view window are kept as time-ordered logs, consent is
last-writer-wins by event time. A repeated event id is recognised by its digest and changes
nothing; an event older than (newest applied - tolerance) is rejected as late.
"""

from __future__ import annotations

import hashlib
from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from microtarget.clock import DAY_MS, to_ms
from microtarget.errors import PermanentError
from microtarget.profile import BUCKET_DAYS, MAX_CART_LOG, MAX_RECENT_VIEWS, MAX_SEEN, MAX_SESSIONS, Profile

if TYPE_CHECKING:  # the event models cost ~15 ms to build: only code that parses events loads them
    from microtarget.events import Event

DEFAULT_TOLERANCE_MS = 72 * 3_600_000


@dataclass(slots=True, frozen=True)
class Outcome:
    applied: list[Event]  # in event-time order
    duplicates: int
    late: list[tuple[Event, PermanentError]]
    applied_ms: list[int] = field(default_factory=list)  # their times (epoch ms), computed once here
    compacted: bool = False  # a bounded collection overflowed and its oldest detail was folded or dropped
    erased: int = 0  # from before the customer's erasure: dropped, neither applied nor dead-lettered


def digest(text: str) -> str:
    """A short stable digest of an id (64 bits: collisions are negligible per customer)."""
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def day_of(ts: int) -> str:
    return _day_name(ts // DAY_MS)


@lru_cache(maxsize=1024)
def _day_name(day_number: int) -> str:
    return datetime.fromtimestamp(day_number * 86_400, UTC).date().isoformat()


@lru_cache(maxsize=8192)
def _session_digest(session_id: str) -> str:
    return digest(session_id)


def cents(amount: float | None) -> int | None:
    return None if amount is None else round(amount * 100)


def apply_events(profile: Profile, events: Iterable[Event], tolerance_ms: int = DEFAULT_TOLERANCE_MS) -> Outcome:
    """Apply events (any order) to the profile in place; return what happened to each."""
    ordered = sorted(((to_ms(e.occurred_at), e.event_id, e) for e in events), key=lambda item: item[:2])
    applied: list[Event] = []
    applied_ms: list[int] = []
    duplicates = 0
    late: list[tuple[Event, PermanentError]] = []
    erased, erased_before = 0, profile.erased_before or 0
    for ts, event_id, event in ordered:
        if ts < erased_before:
            erased += 1
            continue
        key = digest(event_id)
        if key in profile.seen:
            duplicates += 1
            continue
        if profile.last_seen is not None and ts < max(profile.last_seen - tolerance_ms, profile.dedup_floor):
            hours = tolerance_ms // 3_600_000
            reason = PermanentError("late_event", f"older than the {hours} h tolerance", "occurred_at")
            late.append((event, reason))
            continue
        _apply_one(profile, event, ts, key)
        applied.append(event)
        applied_ms.append(ts)
    compacted = prune(profile, tolerance_ms) if applied else False
    return Outcome(applied, duplicates, late, applied_ms, compacted, erased)


def _apply_one(profile: Profile, event: Event, ts: int, key: str) -> None:
    profile.seen[key] = ts
    profile.first_seen = ts if profile.first_seen is None else min(profile.first_seen, ts)
    profile.last_seen = ts if profile.last_seen is None else max(profile.last_seen, ts)
    day = day_of(ts)
    bucket = profile.days.setdefault(day, {})
    if event.session_id is not None:
        session_key = f"{day}|{_session_digest(event.session_id)}"
        if session_key not in profile.sessions:
            profile.sessions[session_key] = (ts // DAY_MS + 1) * DAY_MS
            _add(bucket, "s")
    _APPLY[event.event_type](profile, event, ts, key, bucket)


def _add(bucket: dict[str, int], counter: str, amount: int = 1) -> None:
    bucket[counter] = bucket.get(counter, 0) + amount


def _page_view(profile: Profile, event: Event, ts: int, key: str, bucket: dict[str, int]) -> None:
    _add(bucket, "v")


def _product_view(profile: Profile, event: Event, ts: int, key: str, bucket: dict[str, int]) -> None:
    _add(bucket, "pv")
    props = event.properties
    insort(profile.recent_views, [ts, key, props.product_id, props.category])  # type: ignore[union-attr]
    if len(profile.recent_views) > MAX_RECENT_VIEWS:
        del profile.recent_views[0]


def _search(profile: Profile, event: Event, ts: int, key: str, bucket: dict[str, int]) -> None:
    _add(bucket, "q")


def _cart(profile: Profile, event: Event, ts: int, key: str, bucket: dict[str, int]) -> None:
    props = event.properties
    adding = event.event_type == "add_to_cart"
    _add(bucket, "c" if adding else "rc")
    if ts <= profile.cart_cleared_at:
        return  # this cart was already bought
    delta = props.quantity if adding else -props.quantity  # type: ignore[union-attr]
    insort(profile.cart_log, [ts, key, props.product_id, delta, cents(props.price)], key=lambda line: line[:2])  # type: ignore[union-attr]


def _checkout(profile: Profile, event: Event, ts: int, key: str, bucket: dict[str, int]) -> None:
    _add(bucket, "co")
    profile.checkout_at = max(profile.checkout_at or 0, ts)


def _purchase(profile: Profile, event: Event, ts: int, key: str, bucket: dict[str, int]) -> None:
    props = event.properties
    revenue = cents(props.revenue) or 0  # type: ignore[union-attr]
    items: int = sum(line.quantity for line in props.items)  # type: ignore[union-attr,misc]
    _add(bucket, "p")
    _add(bucket, "r", revenue)
    _add(bucket, "i", items)
    profile.orders += 1
    profile.revenue_cents += revenue
    profile.items += items
    if profile.last_purchase_at is None or ts >= profile.last_purchase_at:
        profile.last_purchase_at = ts
        profile.last_order_id = props.order_id  # type: ignore[union-attr]
    for product_id in dict.fromkeys(line.product_id for line in props.items):  # type: ignore[union-attr]
        profile.remember_bought(product_id, ts)
    profile.cart_cleared_at = max(profile.cart_cleared_at, ts)
    profile.cart_log = [line for line in profile.cart_log if line[0] > profile.cart_cleared_at]


def _email(profile: Profile, event: Event, ts: int, key: str, bucket: dict[str, int]) -> None:
    if event.event_type == "email_open":
        _add(bucket, "eo")
        profile.email_last_open_at = max(profile.email_last_open_at or 0, ts)
    else:
        _add(bucket, "ec")
        profile.email_last_click_at = max(profile.email_last_click_at or 0, ts)


def _offer_redeemed(profile: Profile, event: Event, ts: int, key: str, bucket: dict[str, int]) -> None:
    _add(bucket, "or")
    profile.offers_redeemed += 1


def _consent(profile: Profile, event: Event, ts: int, key: str, bucket: dict[str, int]) -> None:
    for channel, granted in event.properties.consents.items():  # type: ignore[union-attr]
        current = profile.consent.get(channel)
        if current is None or (ts, key) > (current[1], current[2]):
            profile.consent[channel] = [granted, ts, key]


_APPLY = {
    "page_view": _page_view,
    "product_view": _product_view,
    "search": _search,
    "add_to_cart": _cart,
    "remove_from_cart": _cart,
    "checkout_started": _checkout,
    "purchase": _purchase,
    "email_open": _email,
    "email_click": _email,
    "offer_redeemed": _offer_redeemed,
    "consent_updated": _consent,
}


def prune(profile: Profile, tolerance_ms: int) -> bool:
    """Forget what can no longer matter (dedup keys behind the late horizon, old buckets) and
    keep every collection within its count; True when a count bound had to fold or drop detail."""
    assert profile.last_seen is not None
    horizon = profile.last_seen - tolerance_ms
    compacted = False
    if len(profile.seen) > MAX_SEEN:  # a flood: shrink the tolerance rather than the guarantee
        horizon = max(horizon, sorted(profile.seen.values())[-MAX_SEEN] + 1)
        profile.dedup_floor = max(profile.dedup_floor, horizon)
        compacted = True
    profile.seen = {key: ts for key, ts in profile.seen.items() if ts >= horizon}
    profile.sessions = {key: end for key, end in profile.sessions.items() if end >= horizon}
    if len(profile.sessions) > MAX_SESSIONS:  # keep the newest days' sessions (keys start with the day)
        profile.sessions = dict(sorted(profile.sessions.items())[-MAX_SESSIONS:])
        compacted = True
    if len(profile.cart_log) > MAX_CART_LOG:
        _fold_cart_log(profile)
        compacted = True
    oldest_day = day_of(profile.last_seen - (BUCKET_DAYS - 1) * DAY_MS)
    profile.days = {day: bucket for day, bucket in profile.days.items() if day >= oldest_day}
    return compacted


def _fold_cart_log(profile: Profile) -> None:
    """Fold all but the newest change into one line per open product (the same cart), keeping
    the newest lines; the newest change stays as it came, since the cart trigger and its
    re-check name the cart by it."""
    *older, newest = profile.cart_log
    profile.cart_log = older
    lines = sorted(profile.cart().values(), key=lambda line: line.added_at)[-(MAX_CART_LOG - 1) :]
    profile.cart_log = [[line.added_at, "", line.product_id, line.quantity, line.price_cents] for line in lines]
    profile.cart_log.append(newest)
