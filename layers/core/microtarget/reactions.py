"""What ingest does with a customer's freshly folded events before it commits the profile:
fire the campaigns' triggers onto the trigger queue and link conversions in the ledger.

Both happen before the profile write on purpose. If either fails, the profile is not written
and the records are retried: the events are then new again and fire the same trigger ids and
the same conversion keys, which the queue (schedule names), dispatch (idempotency) and the
ledger (deterministic keys) absorb. Writing the profile first would lose them on a retry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from microtarget.clock import DAY_MS, Clock, from_ms, to_ms, utc_now
from microtarget.errors import RetryableError
from microtarget.events import Event
from microtarget.features import feature_vector
from microtarget.ports import DecisionLog, Serving, TriggerSink
from microtarget.profile import Profile
from microtarget.triggers import TriggerMessage, evaluate


@dataclass(slots=True)
class Change:
    profile: Profile  # after the events
    applied: list[Event]
    applied_ms: list[int]
    churn_before: np.ndarray | None = None  # features as of the previous event, when churn rules exist


@dataclass(slots=True)
class ReactionReport:
    fired: Counter[str] = field(default_factory=Counter)  # by trigger kind
    stale: int = 0
    conversions: int = 0
    failed: set[str] = field(default_factory=set)  # pids whose reactions could not be handed over


class Reactions:
    def __init__(
        self,
        state: Serving,
        queue: TriggerSink,
        ledger: DecisionLog,
        clock: Clock = utc_now,
    ) -> None:
        self.state, self.queue, self.ledger, self.clock = state, queue, ledger, clock
        self._absence_for: object = object()  # the campaigns file _absence_ms was worked out from
        self._absence_ms: float | None = None

    def before(self, profile: Profile, events: Sequence[Event]) -> np.ndarray | None:
        """The churn model's view of a returning customer before the batch: only when a churn
        rule exists and these events come after at least its minimum absence."""
        absence = self._churn_absence_ms()
        if profile.orders == 0 or profile.last_seen is None or absence is None or not events:
            return None
        if to_ms(max(e.occurred_at for e in events)) - profile.last_seen < absence:
            return None
        return feature_vector(profile, from_ms(profile.last_seen))

    def react(self, changes: Sequence[Change]) -> ReactionReport:
        report = ReactionReport()
        campaigns = self.state.campaigns()
        if campaigns is None:
            return report  # no campaigns file yet: nothing to fire (the API reports the problem)
        now_ms = to_ms(self.clock())
        churn = self._churn_scores(changes)
        owners: dict[str, str] = {}
        messages: list[TriggerMessage] = []
        for change in changes:
            pid = change.profile.pid
            scores = churn.get(pid, (None, None))
            result = evaluate(campaigns.triggers, change.profile, change.applied, now_ms, scores, change.applied_ms)
            report.stale += result.stale
            for message in result.fired:
                owners[message.trigger_id] = pid
                report.fired[message.kind] += 1
            messages += result.fired
            try:
                report.conversions += len(self.ledger.attribute(pid, change.applied, campaigns.attribution_days))
            except RetryableError:
                report.failed.add(pid)
        report.failed |= {owners[trigger] for trigger in self.queue.send(messages, now_ms)}
        return report

    def _churn_absence_ms(self) -> float | None:
        """Asked once per customer: worked out once per campaigns file."""
        campaigns = self.state.campaigns()
        if campaigns is not self._absence_for:
            gaps = [t.min_absence_days for t in campaigns.triggers if t.kind == "churn_risk"] if campaigns else []
            self._absence_for, self._absence_ms = campaigns, (min(gaps) * DAY_MS if gaps else None)
        return self._absence_ms

    def _churn_scores(self, changes: Sequence[Change]) -> dict[str, tuple[float | None, float | None]]:
        model = self.state.models().get("churn")
        scored = [c for c in changes if c.churn_before is not None and c.profile.last_seen is not None]
        if model is None or not scored:
            return {}
        before = np.vstack([c.churn_before for c in scored if c.churn_before is not None])
        after = np.vstack([feature_vector(c.profile, from_ms(c.profile.last_seen or 0)) for c in scored])
        p_before, p_after = model.predict(before), model.predict(after)
        return {c.profile.pid: (float(b), float(a)) for c, b, a in zip(scored, p_before, p_after, strict=True)}
