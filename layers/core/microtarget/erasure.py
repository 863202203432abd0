"""Erasure of one customer: what each store must lose, and the receipt that shows it did.

An erasure is requested once per customer at a time (a repeated request gets the open one's
id). The request itself writes the profile's tombstone (events from before it are dropped
wherever they come from: the stream, a late sender, a replay, the archive) and clears the
stores a customer's partition holds; the erasure job clears what must be searched (the dead
letters, the data lake and the per-customer outputs in it) and closes the receipt. The pass
that closes it also clears the customer's keys again: a write that raced the request (ingest
reacting to an event it read before the tombstone) is gone too. The
receipt names the pid, when, and how many items each store lost: never a raw id.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from microtarget.clock import HOUR_MS, from_ms

IN_REQUEST = (
    "profile",
    "contacts",
    "ledger",
    "consent_history",
    "schedules",
)  # one customer's keys: quick, done by the call
BY_JOB = ("dead_letters", "data_lake", "outputs")  # searched: the erasure job
STORES = IN_REQUEST + BY_JOB
# What the archive may still deliver after the tombstone: Firehose buffers up to 5 minutes and
# retries S3 delivery for up to 24 hours. The pass that closes an erasure starts this long after it.
LAKE_SETTLE_MS = 25 * HOUR_MS


@dataclass(slots=True)
class Erasure:
    erasure_id: str
    pid: str
    requested_at: int  # epoch ms: the tombstone's moment
    removed: dict[str, int] = field(default_factory=dict)  # store -> items removed
    done_at: dict[str, int] = field(default_factory=dict)  # store -> when it was clean
    aliases: list[str] = field(default_factory=list)  # anonymous pids merged into the customer: erased too
    earlier: list[str] = field(default_factory=list)  # the customer's pids under older keys (a rotation)

    @property
    def own_pids(self) -> list[str]:
        """The customer's own keys: the pid, and its versions a key rotation may not have moved yet."""
        return [self.pid, *self.earlier]

    @property
    def pids(self) -> list[str]:
        return [*self.own_pids, *self.aliases]

    @classmethod
    def requested(cls, pid: str, now_ms: int) -> Erasure:
        return cls("er_" + uuid.uuid4().hex, pid, now_ms)

    @property
    def complete(self) -> bool:
        return all(store in self.done_at for store in STORES)

    def pending(self, stores: Iterable[str] = STORES) -> list[str]:
        return [store for store in stores if store not in self.done_at]

    def finished(self, store: str, removed: int, now_ms: int) -> None:
        self.removed[store] = self.removed.get(store, 0) + removed
        self.done_at[store] = now_ms

    def lake_may_close(self, pass_started_ms: int) -> bool:
        """Whether a lake pass that started then saw everything the archive will ever deliver."""
        return pass_started_ms >= self.requested_at + LAKE_SETTLE_MS

    def receipt(self) -> dict[str, Any]:
        """What the data-protection officer reads (GET /v1/erasures/{id})."""
        return {
            "erasure_id": self.erasure_id,
            "pid": self.pid,
            "anonymous_ids_merged": len(self.aliases),
            "pids_under_older_keys": len(self.earlier),
            "status": "complete" if self.complete else "in_progress",
            "requested_at": from_ms(self.requested_at).isoformat(),
            "stores": {
                store: {
                    "state": "clean" if store in self.done_at else "pending",
                    "removed": self.removed.get(store, 0),
                    **({"clean_at": from_ms(self.done_at[store]).isoformat()} if store in self.done_at else {}),
                }
                for store in STORES
            },
        }


def without_lines(
    body: bytes, pids: Iterable[str], owner: Callable[[bytes], str | None] | None = None
) -> tuple[bytes, Counter[str]]:
    """`body` (JSON or CSV lines) without the lines that name any of `pids`, and how many went per
    pid; with `owner`, a line is whoever `owner` says (a line holding its record encoded)."""
    wanted, dropped = set(pids), Counter[str]()
    if owner is None:
        present = [(pid, pid.encode()) for pid in wanted if pid.encode() in body]
        if not present:
            return body, dropped
        owner = lambda line: next((pid for pid, needle in present if needle in line), None)  # noqa: E731
    kept = []
    for line in body.splitlines(keepends=True):
        who = owner(line)
        if who in wanted:
            dropped[who] += 1
        else:
            kept.append(line)
    return (b"".join(kept), dropped) if dropped else (body, dropped)
