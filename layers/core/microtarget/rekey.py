"""Key rotation: what becomes of a customer's items once the pseudonymization key has a newer
version (microtarget.identity). Each item under an older pid moves to the pid's newest version
(`Pseudonymizer.forward`); no raw id is needed, and a customer is never split in two:

- a profile is folded into the newest pid's profile (the customer may have come back since the
  rotation, under the new pid) the way a login folds an anonymous visit in, and the old item
  becomes an alias of it, so a straggler writing under the old pid lands there too (a
  tombstone's moment moves, and the old one stays a tombstone, linked to nothing);
- an alias (an anonymous id merged into a customer) gets its newest pid as an alias as well, so
  the visitor's next anonymous event finds the customer;
- any text (a lake line, a ledger attribute, an output file) has each older pid replaced.

Every step is idempotent: a second run finds nothing under an older pid but aliases, already
moved, and a crash between two steps is finished by the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from microtarget.identity import ANY_PID, Pseudonymizer, pid_version
from microtarget.merge import merge_into
from microtarget.profile import Profile

Forward = Callable[[str], str]


def is_older(pid: str, version: int) -> bool:
    found = pid_version(pid)
    return found is not None and found < version


def moved_profile(old: Profile, current: Profile | None, forward: Forward) -> tuple[Profile, Profile]:
    """(`current` with `old` folded in, the alias item that replaces `old`). `current`: the profile
    under the newest pid (None: there is none yet), or the customer an anonymous id of `old`'s
    has since been merged into."""
    target = current if current is not None else Profile(forward(old.pid))
    erased = max(old.erased_before or 0, target.erased_before or 0) or None
    merge_into(target, old)
    own = {target.pid, old.pid} if forward(old.pid) == target.pid else {target.pid}
    # both versions of each anonymous id: an erasure then clears the old alias items too
    target.aliases = sorted({*target.aliases, *map(forward, target.aliases)} - own)
    target.erased_before = erased
    # a tombstone links to nothing: no event of the erased past may follow it, and no trace of
    # the erased customer's pids stays linked
    link = target.pid if old.last_seen is not None else None
    return target, Profile(old.pid, version=old.version, alias_of=link, erased_before=erased)


def moved_alias(old: Profile, forward: Forward) -> Profile | None:
    """The newest pid of an alias item, as an alias of the newest pid of what it points to; None
    when there is nothing to write (an alias a rotation made: it points to its own newest pid)."""
    assert old.alias_of is not None
    own, target = forward(old.pid), forward(old.alias_of)
    return None if own == target else Profile(own, alias_of=target, erased_before=old.erased_before)


def forward_text(text: str, forward: Forward, version: int) -> str:
    """`text` with every pid older than `version` replaced by its newest version."""
    return ANY_PID.sub(lambda m: forward(m[0]) if is_older(m[0], version) else m[0], text)


def carry_forward(
    groups: Mapping[str, Sequence[Any]], pending: set[str], stored: dict[str, Profile],
    read: Callable[[Collection[str]], dict[str, Profile]], pids: Pseudonymizer,
) -> dict[str, Profile]:  # fmt: skip
    """What ingest does for a customer of a batch with no profile under the newest pid yet: the
    profile they had under an older key, which the rekey job has not moved, becomes theirs
    (in `stored`) before the batch is folded, so nothing is split, no event from before an
    erasure comes back and no redelivered record counts twice. Returns the alias items that
    replace the old ones, by pid. `groups`: each pid's decoded records (their events hold the
    raw id)."""
    if pids.version == 1:
        return {}
    older = {}
    for pid in pending - stored.keys():
        raw = next((item.event.customer_id for item in groups[pid] if item.event is not None), None)
        if raw is not None:
            older[pid] = pids.pids(raw)[:-1]
    found = read({p for candidates in older.values() for p in candidates}) if older else {}
    stubs = {}
    for pid, candidates in older.items():
        old = next((found[p] for p in reversed(candidates) if p in found and found[p].alias_of is None), None)
        if old is not None:
            stored[pid], stubs[pid] = moved_profile(old, None, pids.forward)
    return stubs
