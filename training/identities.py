"""Anonymous to known in the batch jobs, as ingest merges them: a visitor's events from before a
login belong to the customer the login names.

Ingest folds the anonymous profile into the known one at the first event that names both
(`anonymous_id` beside `customer_id`; microtarget.merge), and the merged profile is what folding
both ids' events into one profile gives. So the jobs replay both ids' events as one customer,
under the known pid: the rows training learns from and the snapshots scoring reads are the
profiles serving holds. The lake names both as pids (microtarget.archive). The rules are
ingest's: an id merges into the first customer that names it (by the moment of that event,
which is the stream's order for a live site), naming oneself changes nothing, and a claim that
would make a loop is ignored; an id named by an id that was merged itself lands on the last one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

import orjson

MARK = b'"anonymous_id"'  # the lines to parse: only a login's event names it
Claim = tuple[datetime, str, str, str]  # (when, event id, anonymous id, the customer it names)


def claim(line: bytes) -> Claim | None:
    """What a line says of identity, if it names an anonymous id beside its customer id."""
    if MARK not in line:
        return None
    try:
        raw = orjson.loads(line)
        anonymous, customer = raw.get("anonymous_id"), raw.get("customer_id")
        moment = datetime.fromisoformat(raw["occurred_at"])
    except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
        return None  # the replay reports a line it cannot read
    if not (isinstance(anonymous, str) and isinstance(customer, str) and anonymous and customer):
        return None
    if anonymous == customer or moment.tzinfo is None:
        return None
    return moment, str(raw.get("event_id", "")), anonymous, customer


def resolve(claims: Iterable[Claim]) -> dict[str, str]:
    """anonymous id -> the customer its events belong to (the end of any chain)."""
    merged: dict[str, str] = {}
    for _moment, _event, anonymous, customer in sorted(claims):
        if anonymous in merged or _root(merged, customer) == anonymous:
            continue  # merged already (the first claim wins), or the claim would close a loop
        merged[anonymous] = customer
    return {anonymous: _root(merged, anonymous) for anonymous in merged}


def _root(merged: dict[str, str], pid: str) -> str:
    seen = {pid}
    while pid in merged and merged[pid] not in seen:
        pid = merged[pid]
        seen.add(pid)
    return pid


def claims_in(lines: Iterable[bytes]) -> Iterator[Claim]:
    for line in lines:
        found = claim(line)
        if found is not None:
            yield found
