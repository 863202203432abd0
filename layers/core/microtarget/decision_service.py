"""Decisions for raw customer ids: pseudonymize, read the profiles in one batch, decide each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from microtarget.aggregation import to_ms
from microtarget.decisions import Decision, decide
from microtarget.errors import RetryableError
from microtarget.identity import Pseudonymizer
from microtarget.ledger import Ledger
from microtarget.profile import DAY_MS
from microtarget.profile_store import ProfileStore
from microtarget.serving import ServingState


class DecisionService:
    def __init__(
        self,
        state: ServingState,
        profiles: ProfileStore,
        pseudonymizer: Pseudonymizer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ledger: Ledger | None = None,
    ) -> None:
        """`ledger`: what was sent in the last week, for frequency caps (None: no send history)."""
        self.state, self._profiles, self._pseudonymizer, self._clock = state, profiles, pseudonymizer, clock
        self._ledger = ledger

    def pseudonymize(self, customer_id: str) -> str:
        return self._pseudonymizer.pid(customer_id)

    def decide_many(self, requests: Sequence[tuple[str, str]], limit: int = 3) -> list[Decision]:
        """(raw customer id, channel) pairs → decisions keyed by pid; the raw ids go no further."""
        campaigns, models, now = self.state.campaigns(), self.state.models(), self._clock()
        if campaigns is None:
            raise RetryableError("no valid campaigns file has been loaded yet")
        pids = [self._pseudonymizer.pid(customer) for customer, _channel in requests]
        found = self._profiles.get_many(pids)
        known = [pid for pid in dict.fromkeys(pids) if pid in found]
        sent = self._ledger.sends_many(known, to_ms(now) - 7 * DAY_MS) if self._ledger and known else {}
        return [
            decide(pid, found.get(pid), channel, now, campaigns, models, sent.get(pid, ()), limit=limit)
            for pid, (_customer, channel) in zip(pids, requests, strict=True)
        ]
