"""Anonymous to known: a visitor's anonymous profile folded into the customer's once they identify
(an event with `anonymous_id` beside `customer_id`).

The result is what folding the anonymous events into the known profile would have given:
counters add up, times take their min or max, the cart and the views merge in time order,
consent keeps the latest answer per channel, and the de-duplication memory is the union, so a
replayed anonymous event is a duplicate on the known profile too. A session seen under both
ids counts once. The anonymous pid then becomes an alias (`alias_of`): later events under it
land on the known profile, and the two writes are one transaction (microtarget.aws.profile_store).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, MutableMapping
from typing import Any, Protocol

from microtarget.aggregation import DEFAULT_TOLERANCE_MS, prune
from microtarget.profile import MAX_RECENT_VIEWS, Profile


class Identified(Protocol):
    """A decoded record, as far as identity goes (microtarget.ingest.Decoded)."""

    merge_from: str | None
    event: Any


MAX_ALIAS_HOPS = 3  # an anonymous id merged into a customer who was later identified again


def merge_into(known: Profile, anonymous: Profile, tolerance_ms: int = DEFAULT_TOLERANCE_MS) -> None:
    """Fold `anonymous` into `known` in place, and record it among `known.aliases`."""
    shared_sessions = set(known.sessions) & set(anonymous.sessions)
    for day, counts in anonymous.days.items():
        bucket = known.days.setdefault(day, {})
        for counter, value in counts.items():
            bucket[counter] = bucket.get(counter, 0) + value
    for key in shared_sessions:  # "day|session": that day's session count had it twice
        shared = known.days.get(key.split("|", 1)[0])
        if shared and shared.get("s", 0) > 0:
            shared["s"] -= 1
    known.orders += anonymous.orders
    known.revenue_cents += anonymous.revenue_cents
    known.items += anonymous.items
    known.offers_redeemed += anonymous.offers_redeemed
    known.first_seen = _least(known.first_seen, anonymous.first_seen)
    known.last_seen = _most(known.last_seen, anonymous.last_seen)
    if anonymous.last_purchase_at is not None and (known.last_purchase_at or -1) < anonymous.last_purchase_at:
        known.last_purchase_at, known.last_order_id = anonymous.last_purchase_at, anonymous.last_order_id
    known.checkout_at = _most(known.checkout_at, anonymous.checkout_at)
    known.email_last_open_at = _most(known.email_last_open_at, anonymous.email_last_open_at)
    known.email_last_click_at = _most(known.email_last_click_at, anonymous.email_last_click_at)
    known.dedup_floor = max(known.dedup_floor, anonymous.dedup_floor)
    known.cart_cleared_at = max(known.cart_cleared_at, anonymous.cart_cleared_at)
    known.cart_log = [line for line in _union(known.cart_log, anonymous.cart_log) if line[0] > known.cart_cleared_at]
    known.recent_views = _union(known.recent_views, anonymous.recent_views)[-MAX_RECENT_VIEWS:]
    for ts, product_id in anonymous.bought:
        known.remember_bought(product_id, ts)
    for channel, state in anonymous.consent.items():
        current = known.consent.get(channel)
        if current is None or (state[1], state[2]) > (current[1], current[2]):
            known.consent[channel] = state
    known.seen = {**anonymous.seen, **known.seen}
    known.sessions = {**anonymous.sessions, **known.sessions}
    known.aliases = sorted({*known.aliases, anonymous.pid, *anonymous.aliases})
    if known.last_seen is not None:
        prune(known, tolerance_ms)


def read_resolving(
    read: Callable[[Collection[str]], dict[str, Profile]],
    groups: MutableMapping[str, list[Any]],
    pending: set[str],
) -> dict[str, Profile]:
    """The stored profiles of the pending customers and of the anonymous ids they name; a group
    whose pid is an alias moves to the profile it points to (its events land there)."""
    stored = read(pending | _named(groups, pending))
    for _hop in range(MAX_ALIAS_HOPS):
        moved = {pid: stored[pid].alias_of for pid in pending if pid in stored and stored[pid].alias_of}
        if not moved:
            break
        for pid, target in moved.items():
            assert target is not None
            groups.setdefault(target, []).extend(groups.pop(pid))
            pending.discard(pid)
            pending.add(target)
        missing = (set(moved.values()) | _named(groups, pending)) - set(stored)
        stored |= read({pid for pid in missing if pid is not None})
    return stored


def plan_merges(
    groups: MutableMapping[str, list[Any]], pending: set[str], stored: dict[str, Profile], tolerance_ms: int
) -> dict[str, tuple[Profile, list[Profile]]]:
    """For each customer whose records name an anonymous id not merged yet: the known profile with
    the anonymous one folded in, and the alias items to write with it. The anonymous id's own
    records in this batch join the known customer's. Two customers of one batch naming the same
    anonymous id: the one whose event naming it happened first gets it (as training.identities)."""
    plans: dict[str, tuple[Profile, list[Profile]]] = {}
    first: dict[str, tuple[Any, str, str]] = {}  # anonymous pid -> (when, event id, customer) of its first claim
    for pid in pending:
        for item in groups.get(pid, ()):
            if item.merge_from and item.merge_from != pid and item.event is not None:
                claim = (item.event.occurred_at, item.event.event_id, pid)
                first[item.merge_from] = min(first.get(item.merge_from, claim), claim)
    for pid in sorted(pending):
        if pid not in groups:
            continue
        named = sorted(
            {i.merge_from for i in groups[pid] if i.merge_from and first.get(i.merge_from, (0, 0, pid))[2] == pid}
        )
        fresh = [a for a in named if a not in stored or stored[a].alias_of is None]  # else merged already (first wins)
        if not fresh:
            continue
        known, aliases = stored.get(pid) or Profile(pid), []
        for anonymous_pid in fresh:
            anonymous = stored.get(anonymous_pid)
            if anonymous is not None:
                merge_into(known, anonymous, tolerance_ms)
            known.aliases = sorted({*known.aliases, anonymous_pid})
            version = anonymous.version if anonymous else 0
            aliases.append(Profile(anonymous_pid, version=version, alias_of=pid, erased_before=known.erased_before))
            if anonymous_pid in groups and anonymous_pid in pending:
                groups[pid].extend(groups.pop(anonymous_pid))
                pending.discard(anonymous_pid)
        plans[pid] = (known, aliases)
    return plans


def _named(groups: MutableMapping[str, list[Any]], pending: Collection[str]) -> set[str]:
    return {item.merge_from for pid in pending for item in groups.get(pid, ()) if item.merge_from}


def _union(ours: list[list], theirs: list[list]) -> list[list]:
    """Two time-ordered logs of [ts, digest, …] as one, each event once."""
    merged = {line[1] or f"{line[0]}|{line[2]}": line for line in theirs + ours}
    return sorted(merged.values(), key=lambda line: (line[0], line[1]))


def _least(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _most(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)
