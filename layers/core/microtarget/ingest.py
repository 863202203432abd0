"""Ingest one stream batch: decode and validate each record, then per customer apply the
events in order and write the profile once. Knows nothing of Lambda or Kinesis shapes."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import orjson

from microtarget.aggregation import DEFAULT_TOLERANCE_MS, apply_events
from microtarget.clock import Clock, utc_now
from microtarget.errors import PermanentError, RetryableError
from microtarget.event_parser import parse_event
from microtarget.identity import Pseudonymizer
from microtarget.ingest_records import BatchReport, CustomerResult, Decoded, Failure, RawRecord
from microtarget.merge import plan_merges, read_resolving
from microtarget.ports import DeadLetterSink, ProfileStore, Rejection, VersionConflict
from microtarget.profile import Profile
from microtarget.reactions import Change, ReactionReport, Reactions
from microtarget.rekey import carry_forward

__all__ = ["BatchReport", "CustomerResult", "Decoded", "Failure", "IngestService", "RawRecord"]

CONFLICT_RETRIES = 3


class IngestService:
    def __init__(
        self,
        store: ProfileStore,
        dead_letters: DeadLetterSink,
        pseudonymizer: Pseudonymizer,
        tolerance_ms: int = DEFAULT_TOLERANCE_MS,
        clock: Clock = utc_now,
        reactions: Reactions | None = None,
        from_lake: bool = False,
    ) -> None:
        """`reactions` (triggers, attribution) run before each profile write; None: profiles only.
        `from_lake`: the records are the data lake's, keyed by pid already (a backfill from it)."""
        self._store, self._dead_letters, self._pseudonymizer = store, dead_letters, pseudonymizer
        self._from_lake = from_lake
        self._tolerance_ms, self.clock, self.reactions = tolerance_ms, clock, reactions

    def decode(self, records: Iterable[RawRecord]) -> list[Decoded]:
        """Validate each record against one reading of the clock; a bad one becomes a rejection
        with its reason, never an exception."""
        now, decoded = self.clock(), []
        pid = self._pseudonymizer.lake_pid if self._from_lake else self._pseudonymizer.pid
        for record in records:
            try:
                event = parse_event(record.data, now)
            except PermanentError as reason:
                rejection = Rejection(reason, record.data, record.source, self._owner(record.data))
                decoded.append(Decoded(record, rejection=rejection))
                continue
            anonymous = event.anonymous_id
            merge_from = pid(anonymous) if anonymous and anonymous != event.customer_id else None
            decoded.append(Decoded(record, pid=pid(event.customer_id), event=event, merge_from=merge_from))
        return decoded

    def _owner(self, data: bytes) -> str | None:
        """The pid of a refused record's customer, if it names one (a string `customer_id`)."""
        try:
            customer = orjson.loads(data).get("customer_id")
        except (orjson.JSONDecodeError, AttributeError):
            return None
        return self._pseudonymizer.pid(customer) if isinstance(customer, str) and customer else None

    def commit(self, decoded: list[Decoded]) -> BatchReport:
        """Apply the valid events per customer (one write each) and dead-letter the rest."""
        report = BatchReport()
        groups: dict[str, list[Decoded]] = {}
        for item in decoded:
            if item.pid is not None:
                groups.setdefault(item.pid, []).append(item)
        report.customers = len(groups)
        settled, failed, refused = self._settle(groups, report)
        rejections = [item.rejection for item in decoded if item.rejection is not None]
        for result in settled.values():
            report.accepted += len(result.applied)
            report.duplicates += result.duplicates
            report.erased += result.erased
            report.profiles_written += 1 if result.applied else 0
            report.compacted += result.compacted
            rejections += result.late
        for pid, reason in refused.items():
            rejections += [Rejection(reason, item.record.data, item.record.source, pid) for item in groups[pid]]
        for pid, cause in failed.items():
            sequence_numbers = [item.record.sequence_number for item in groups[pid]]
            report.failed_sequence_numbers.update(sequence_numbers)
            report.failures.append(Failure(cause, pid, sequence_numbers))
        if rejections:
            try:
                report.rejected_before = self._dead_letters.send(rejections)
            except RetryableError as error:
                sequence_numbers = [r.source["sequence_number"] for r in rejections]
                report.failed_sequence_numbers.update(sequence_numbers)
                report.failures.append(Failure(f"dead letters not stored: {error}", None, sequence_numbers))
        report.rejected.update(r.reason.code for r in rejections)
        return report

    def _settle(
        self, groups: dict[str, list[Decoded]], report: BatchReport
    ) -> tuple[dict[str, CustomerResult], dict[str, str], dict[str, PermanentError]]:
        """Read, apply, react, conditionally write; on a version conflict re-read and re-apply.
        Returns the settled customers, those to retry (with the cause), and those whose write
        can never succeed."""
        settled: dict[str, CustomerResult] = {}
        failed: dict[str, str] = {}
        refused: dict[str, PermanentError] = {}
        pending = set(groups)
        for _attempt in range(CONFLICT_RETRIES):
            try:
                stored = read_resolving(self._store.get_many, groups, pending)
            except RetryableError as error:
                failed |= dict.fromkeys(pending, str(error))
                pending = set()
                break
            carried = (
                {}
                if self._from_lake
                else carry_forward(groups, pending, stored, self._store.get_many, self._pseudonymizer)
            )
            merges = plan_merges(groups, pending, stored, self._tolerance_ms)
            for pid, stub in carried.items():  # the old item becomes an alias in the same transaction
                merges.setdefault(pid, (stored[pid], []))[1].append(stub)
            results = {}
            for pid in pending:
                try:
                    if pid in merges:  # folded from the merged state, never from a re-read that lacks it
                        results[pid] = self._apply(merges[pid][0], groups[pid], _copier(merges[pid][0]))
                    else:
                        results[pid] = self._apply(stored.get(pid) or Profile(pid), groups[pid])
                except RetryableError as error:  # re-reading the profile to isolate a poison record failed
                    failed[pid] = str(error)
            unreacted = self._react(results, report)
            failed |= dict.fromkeys(unreacted, "reactions (triggers, attribution) failed")
            results = {pid: result for pid, result in results.items() if pid not in unreacted}
            failures = self._store.put_many([r.profile for p, r in results.items() if r.applied and p not in merges])
            for pid in merges.keys() & results.keys():  # the known profile and its aliases: one transaction
                try:
                    self._store.put_merged(results[pid].profile, merges[pid][1])
                except (VersionConflict, PermanentError, RetryableError) as error:
                    failures[pid] = error
            conflicts = {pid for pid, error in failures.items() if isinstance(error, VersionConflict)}
            refused |= {pid: error for pid, error in failures.items() if isinstance(error, PermanentError)}
            failed |= {pid: str(e) for pid, e in failures.items() if pid not in conflicts and pid not in refused}
            settled.update({pid: result for pid, result in results.items() if pid not in failures})
            pending = conflicts
            if not pending:
                break
        return settled, failed | dict.fromkeys(pending, "version conflicts on every retry"), refused

    def _apply(
        self, profile: Profile, items: list[Decoded], fresh: Callable[[], Profile] | None = None
    ) -> CustomerResult:
        try:
            return self._fold(profile, items)
        except Exception:  # a value no check foresaw must not fail every customer of the batch
            pid = profile.pid
            return self._fold_isolating(
                pid, items, fresh or (lambda: self._store.get_many({pid}).get(pid) or Profile(pid))
            )

    def _fold_isolating(self, pid: str, items: list[Decoded], fresh: Callable[[], Profile]) -> CustomerResult:
        """Find the records that break folding one at a time (on a fresh copy of the stored profile,
        refolded after each failure), reject them with their reason, and fold the rest as usual."""
        good: list[Decoded] = []
        poisoned: list[Rejection] = []
        working = fresh()
        for item in items:
            try:
                apply_events(working, [item.event] if item.event else [], self._tolerance_ms)
                good.append(item)
            except Exception as error:
                reason = PermanentError("unprocessable", f"folding it failed ({type(error).__name__}: {error})")
                poisoned.append(Rejection(reason, item.record.data, item.record.source, pid))
                working = fresh()
                apply_events(working, [g.event for g in good if g.event], self._tolerance_ms)
        try:
            result = self._fold(fresh(), good)
        except Exception as error:  # the records break it only together: none of them can be folded
            reason = PermanentError("unprocessable", f"folding them failed ({type(error).__name__}: {error})")
            result = CustomerResult(
                fresh(), [], 0, [Rejection(reason, i.record.data, i.record.source, pid) for i in good], []
            )
        result.late.extend(poisoned)
        return result

    def _fold(self, profile: Profile, items: list[Decoded]) -> CustomerResult:
        records = {id(item.event): item.record for item in items if item.event is not None}
        events = [item.event for item in items if item.event is not None]
        before = self.reactions.before(profile, events) if self.reactions else None
        outcome = apply_events(profile, events, self._tolerance_ms)
        late = [Rejection(why, records[id(ev)].data, records[id(ev)].source, profile.pid) for ev, why in outcome.late]
        return CustomerResult(
            profile, outcome.applied, outcome.duplicates, late, outcome.applied_ms, before, outcome.compacted,
            outcome.erased,
        )  # fmt: skip

    def _react(self, results: dict[str, CustomerResult], report: BatchReport) -> set[str]:
        """Fire triggers and link conversions; the customers whose reactions failed."""
        if self.reactions is None:
            return set()
        changes = [Change(r.profile, r.applied, r.applied_ms, r.churn_before) for r in results.values() if r.applied]
        reacted: ReactionReport = self.reactions.react(changes)
        report.triggers.update(reacted.fired)
        report.stale_triggers += reacted.stale
        report.conversions += reacted.conversions
        return reacted.failed


def _copier(profile: Profile) -> Callable[[], Profile]:
    snapshot = copy.deepcopy(profile)
    return lambda: copy.deepcopy(snapshot)
