"""The composition roots of the personal-data side: the privacy routes (erasure requests and
receipts, access exports, consent, contact details) and the erasure job that finishes what
the requests start."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from microtarget.aggregation import apply_events
from microtarget.aws.contacts import ContactBook
from microtarget.aws.erasure_stores import CustomerStores
from microtarget.aws.erasure_sweep import ErasureSweep
from microtarget.aws.event_intake import EventIntake
from microtarget.aws.ledger import Ledger
from microtarget.aws.privacy_table import PrivacyTable
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.clock import Clock, from_ms, to_ms, utc_now
from microtarget.contacts import Contact
from microtarget.edge.privacy_models import ConsentRequest
from microtarget.edge.settings import ErasureJobSettings, PrivacySettings
from microtarget.edge.wiring import Aws
from microtarget.erasure import BY_JOB, Erasure
from microtarget.errors import PermanentError
from microtarget.privacy_export import access_export
from microtarget.profile import Profile


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls a personal-data route: the request and the caller's IAM identity (the audit log's who)."""

    request_id: str
    who: str


OUTPUT_PREFIXES = ("scores/", "audiences/")  # per-customer files kept beside the lake
FIREHOSE_ERRORS = "firehose-errors/"


class PrivacyRoot:
    def __init__(self, config: PrivacySettings, aws: Aws, clock: Clock = utc_now) -> None:
        self.pseudonymizer = pseudonymizer_from_secret(config.pseudonym_secret_id)
        self.book = PrivacyTable(aws.table(config.privacy_table))
        self.profiles = DynamoProfileStore(
            aws.table(config.profiles_table), retention_days=config.profile_retention_days
        )
        self.contacts = ContactBook(aws.table(config.contacts_table), aws.client("kms"), config.contacts_key_id, clock)
        self._contact_days = config.contact_retention_days
        self.ledger = Ledger(aws.table(config.ledger_table), retention_days=config.ledger_retention_days)
        self.customer_stores = CustomerStores(
            self.profiles, self.contacts, self.ledger, self.book, aws.client("scheduler"), config.schedule_group
        )
        self.clock, self._aws, self._stream = clock, aws, config.events_stream

    @cached_property
    def intake(self) -> EventIntake:
        return EventIntake(self._aws.client("kinesis"), self._stream, self.clock)

    def pid(self, customer_id: str) -> str:
        return self.pseudonymizer.pid(customer_id)

    def _audited(self, caller: Caller, action: str, customer_id: str) -> str:
        """Record the call (who, what, when, the pid) before it runs; the pid."""
        pid = self.pid(customer_id)
        self.book.audit(caller.request_id, caller.who, action, pid, to_ms(self.clock()))
        return pid

    def erase(self, caller: Caller, customer_id: str) -> dict[str, Any]:
        """Open (or find) the customer's erasure and clear the stores its keys reach."""
        pid, now_ms = self._audited(caller, "erase", customer_id), to_ms(self.clock())
        erasure, _new = self.book.request(pid, now_ms)
        erasure.earlier = sorted({*erasure.earlier, *self.pseudonymizer.pids(customer_id)[:-1]})
        try:
            self.customer_stores.erase(erasure, now_ms)
        finally:  # a store down half way: what was cleared stays recorded; a retry or the job does the rest
            self.book.save(erasure)
        return erasure.receipt()

    def receipt(self, erasure_id: str) -> dict[str, Any] | None:
        erasure = self.book.get(erasure_id)
        return erasure.receipt() if erasure else None

    def access(self, caller: Caller, customer_id: str) -> dict[str, Any]:
        """Everything held about the customer, for a data-subject access request."""
        pid = self._audited(caller, "access", customer_id)
        profile = self.profiles.get_many([pid]).get(pid)
        held = access_export(pid, profile, self.contacts.get(pid), self.ledger.entries(pid))
        return held | {"consent_history": [_consent_change(item) for item in self.book.consent_history(pid)]}

    def set_consent(self, caller: Caller, customer_id: str, request: ConsentRequest) -> dict[str, Any]:
        """A consent_updated event, as the site would send it: folded into the profile now (so
        decisions and dispatch honour it at once), put on the stream (the lake keeps it; ingest
        then finds it applied already) and kept in the consent history."""
        from microtarget.event_parser import parse_event

        pid, at = self._audited(caller, "consent", customer_id), request.at or self.clock()
        event_id = f"consent-{uuid.uuid4().hex}"
        raw = {"event_id": event_id, "event_type": "consent_updated", "occurred_at": at.isoformat(),
               "customer_id": customer_id, "context": {"channel": "server"}, "properties": {"consents": request.consents}}  # fmt: skip
        event, after = parse_event(json.dumps(raw).encode(), self.clock()), Profile(pid)

        def fold(current: Profile | None) -> Profile:
            nonlocal after
            after = copy.deepcopy(current) if current else Profile(pid)
            outcome = apply_events(after, [event])
            if outcome.late or outcome.erased:
                raise PermanentError("late_event", "older than what the profile has already folded", "at")
            return after

        fold(self.profiles.get_many([pid]).get(pid))  # refused before anything is written or published
        _accepted, rejected = self.intake.publish([raw])
        if rejected:
            raise rejected[0][1]
        self.profiles.update(pid, fold)
        consents = {str(channel): granted for channel, granted in request.consents.items()}
        self.book.record_consent(pid, event_id, to_ms(at), consents, request.source, caller.who)
        return {"pid": pid, "consents": after.consents(), "recorded_at": at.isoformat()}

    def store_contact(self, caller: Caller, customer_id: str, contact: Contact) -> None:
        self.contacts.put(self._audited(caller, "contact_put", customer_id), contact)

    def erase_contact(self, caller: Caller, customer_id: str) -> None:
        self.contacts.erase(self._audited(caller, "contact_delete", customer_id))


class ErasureJob(PrivacyRoot):
    def __init__(self, config: ErasureJobSettings, aws: Aws, clock: Clock = utc_now) -> None:
        super().__init__(config, aws, clock)
        queues = [config.rejected_queue_url, config.dead_letter_queue_url]
        self.sweep = ErasureSweep(aws.client("s3"), config.data_lake_bucket, aws.client("sqs"), queues)

    def run(self) -> dict[str, Any]:
        """One pass for every open erasure: finish what a request left, then search the dead
        letters, the lake and the outputs. A store is marked clean only by a pass that started
        after everything the archive could still deliver (Erasure.lake_may_close)."""
        started_ms = to_ms(self.clock())
        erasures = self.book.open_erasures()
        try:
            for erasure in erasures:
                self.customer_stores.erase(erasure, started_ms)
            self._search([e for e in erasures if e.pending(BY_JOB)], started_ms)
        finally:  # what this pass cleared stays recorded, whatever failed after it
            for erasure in erasures:
                self.book.save(erasure)
        return _summary(erasures)

    def _search(self, searching: list[Erasure], started_ms: int) -> None:
        pids = {pid for e in searching for pid in e.pids}
        if not pids:
            return
        found: dict[str, Counter[str]] = {"dead_letters": self.sweep.dead_letters(pids)}
        found["data_lake"] = self.sweep.rewrite("events/", pids)  # every partition: history is imported by order date
        found["outputs"] = sum((self.sweep.rewrite(p, pids) for p in OUTPUT_PREFIXES), Counter())
        # what Firehose could not transform: whole and base64 (the raw id inside), found by its pid
        found["data_lake"] += self.sweep.rewrite(FIREHOSE_ERRORS, pids, self._failed_record_owner)
        done_ms = to_ms(self.clock())
        for erasure in searching:
            if erasure.lake_may_close(started_ms):
                self.customer_stores.clear_again(erasure, done_ms)
            for store, counts in found.items():
                count = sum(counts[pid] for pid in erasure.pids)
                if erasure.lake_may_close(started_ms):
                    erasure.finished(store, count, done_ms)
                else:
                    erasure.removed[store] = erasure.removed.get(store, 0) + count

    def retention(self) -> dict[str, int]:
        """The sweep TTL cannot do alone: contact details whose customer is gone (no profile, a
        tombstone or an expired one) and that were stored more than contact_retention_days ago."""
        now_s = int(self.clock().timestamp())
        stale = [pid for pid, at in self.contacts.stored() if at < now_s - self._contact_days * 86_400]
        removed = 0
        for start in range(0, len(stale), 100):
            chunk = stale[start : start + 100]
            expiries = self.profiles.expiries(chunk)
            for pid in chunk:
                if expiries.get(pid, 0) < now_s:
                    removed += self.contacts.erase(pid)
        return {"contacts_removed": removed, "contacts_checked": len(stale)}

    def _failed_record_owner(self, line: bytes) -> str | None:
        """The pid of the customer a Firehose error line's record names (its rawData, base64)."""
        try:
            customer = json.loads(base64.b64decode(json.loads(line)["rawData"])).get("customer_id")
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        return self.pid(customer) if isinstance(customer, str) and customer else None


def _consent_change(item: dict[str, Any]) -> dict[str, Any]:
    return {"at": from_ms(int(item["at"])).isoformat(), "consents": item["consents"], "source": item["source"],
            "who": item["who"]}  # fmt: skip


def _summary(erasures: list[Erasure]) -> dict[str, Any]:
    return {
        "erasures": len(erasures),
        "completed": sum(e.complete for e in erasures),
        "removed": dict(sum((Counter(e.removed) for e in erasures), Counter())),
    }
