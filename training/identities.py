"""Anonymous to known in the batch jobs, as ingest merges them, moment by moment.

Ingest folds the anonymous profile into the known one at the first event that names both
(`anonymous_id` beside `customer_id`; microtarget.merge), and the merged profile is what folding
both ids' events into one profile gives. So a job groups both ids' lines together, and at each
moment it replays (a cutoff, a snapshot, an exposure) takes the profiles serving held then:
one customer with both ids' events once the login has happened, two apart before it (the
visitor a customer of its own). The lake names both as pids (microtarget.archive).

The rules are ingest's: an id merges into the first customer that names it (by the moment of
that event: the stream's order for a live site, where ingest goes by arrival), naming oneself
changes nothing, a claim that would make a loop is ignored, an id named by an id merged itself
ends on the last one (ingest follows three such hops; past them it strands the events), and an
erasure of either id after the login undoes it (ingest keeps what comes after apart).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from microtarget.errors import PermanentError
from microtarget.event_parser import parse_event

MARK = b'"anonymous_id"'  # the lines to parse: only a login's event names it
BLOCK = 64 << 10  # decompressed bytes read at once: memory stays a block, whatever the object
Claim = tuple[datetime, str, str, str]  # (when, event id, anonymous id, the customer it names)


def claim(line: bytes) -> Claim | None:
    """What a line says of identity: an event the replay accepts that names an anonymous id
    beside its customer id (validated as ingest does: the same moments count)."""
    if MARK not in line:
        return None
    try:
        event = parse_event(line, None)
    except PermanentError:
        return None  # the replay reports a line it cannot read
    if event.anonymous_id is None or event.anonymous_id == event.customer_id:
        return None
    return event.occurred_at, event.event_id, event.anonymous_id, event.customer_id


@dataclass(frozen=True)
class Logins:
    """The merges the lake's logins made: anonymous id -> (the customer it named, when, in epoch ms)."""

    merged: dict[str, tuple[str, int]] = field(default_factory=dict)

    def root(self, pid: str) -> str:
        """Whose events these become in the end: the key a job groups an id's lines by."""
        return _follow(pid, lambda p: self.merged[p][0] if p in self.merged else None)

    def at(self, pids: Iterable[str], moment_ms: int, erased: Mapping[str, int]) -> dict[str, str]:
        """Each id's profile as of a moment: the merges made by then (at or before it), except one an
        erasure since undid (a tombstone of either id after the login: ingest keeps them apart)."""

        def parent(pid: str) -> str | None:
            if pid not in self.merged:
                return None
            known, when = self.merged[pid]
            undone = max(erased.get(pid, -1), erased.get(known, -1)) > when
            return known if when <= moment_ms and not undone else None

        return {pid: _follow(pid, parent) for pid in pids}


def resolve(claims: Iterable[Claim]) -> Logins:
    """The merges, by ingest's rules: an id merges into the first customer that names it (by the
    moment of that event), never into itself, and not when that would close a loop."""
    merged: dict[str, tuple[str, int]] = {}
    for moment, _event, anonymous, customer in sorted(claims):
        logins = Logins(merged)
        if anonymous in merged or logins.root(customer) == anonymous:
            continue
        merged[anonymous] = (customer, int(moment.timestamp() * 1000))
    return Logins(merged)


def _follow(pid: str, parent: Callable[[str], str | None]) -> str:
    seen = {pid}
    while (up := parent(pid)) is not None and up not in seen:
        pid = up
        seen.add(pid)
    return pid


def object_claims(location: str, opened: Callable[[str], AbstractContextManager[Any]]) -> list[Claim]:
    """The logins in one object (`opened` gives its decompressed stream), read in blocks: only a
    block that names an anonymous id is split into lines (decompressing is most of the cost)."""
    found: list[Claim] = []
    tail = b""
    with opened(location) as stream:
        while chunk := stream.read(BLOCK):
            block = tail + chunk
            cut = block.rfind(b"\n") + 1
            if MARK in block:
                found += claims_in(line for line in block[:cut].split(b"\n") if MARK in line)
            tail = block[cut:]
    return found + list(claims_in([tail]))


def read_logins(objects: list[str], opened: Callable[[str], AbstractContextManager[Any]]) -> Logins:
    """The merges the logins in these objects made (about 1 s per million events on one core,
    most of it decompressing: measured on a 10,000-customer lake)."""
    return resolve(claim for location in objects for claim in object_claims(location, opened))


def claims_in(lines: Iterable[bytes]) -> Iterator[Claim]:
    for line in lines:
        found = claim(line)
        if found is not None:
            yield found
