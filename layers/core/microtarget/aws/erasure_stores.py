"""The stores an erasure clears by the customer's own keys, inside the request: the profile
(replaced by its tombstone), the contact details, the ledger partition, the consent history
and the pending schedules. Each step is idempotent: a crashed request is finished by the erasure job."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from microtarget.aws.calls import call_aws
from microtarget.aws.contacts import ContactBook
from microtarget.aws.ledger import Ledger
from microtarget.aws.privacy_table import PrivacyTable
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.trigger_queue import schedule_prefix
from microtarget.erasure import IN_REQUEST, Erasure
from microtarget.profile import Profile


class CustomerStores:
    def __init__(
        self, profiles: DynamoProfileStore, contacts: ContactBook, ledger: Ledger, privacy: PrivacyTable,
        scheduler: Any, schedule_group: str,
    ) -> None:  # fmt: skip
        self._profiles, self._contacts, self._ledger, self._privacy = profiles, contacts, ledger, privacy
        self._scheduler, self._group = scheduler, schedule_group

    def erase(self, erasure: Erasure, now_ms: int) -> None:
        """Clear every store of IN_REQUEST not clean yet, marking each on the erasure."""
        for store in erasure.pending(IN_REQUEST):
            erasure.finished(store, getattr(self, f"_erase_{store}")(erasure), now_ms)

    def clear_again(self, erasure: Erasure, now_ms: int) -> None:
        """The keys a racing writer may have written to after the request: ledger, schedules."""
        for store in ("ledger", "schedules"):
            erasure.finished(store, getattr(self, f"_erase_{store}")(erasure), now_ms)

    def _erase_profile(self, erasure: Erasure) -> int:
        """Replace the profile by a tombstone: empty, erased_before the request (a conditional
        write: a concurrent ingest write re-reads and then finds the tombstone)."""

        def tombstone(pid: str) -> Callable[[Profile | None], Profile]:
            return lambda current: Profile(pid, version=current.version if current else 0,
                                           erased_before=erasure.requested_at)  # fmt: skip

        # the profile, and under older keys the ones the rekey job has not moved yet
        befores = [self._profiles.update(pid, tombstone(pid)) for pid in erasure.own_pids]
        held = sum(1 for before in befores if before is not None and before.last_seen is not None)
        merged = {alias for before in befores if before for alias in before.aliases}
        erasure.aliases = sorted({*erasure.aliases, *merged} - set(erasure.own_pids))
        for alias in erasure.aliases:  # the anonymous ids merged into the customer: their link goes too
            self._profiles.update(alias, tombstone(alias))
        return held + len(erasure.aliases)

    def _erase_consent_history(self, erasure: Erasure) -> int:
        return sum(self._privacy.erase_consent_history(pid) for pid in erasure.own_pids)

    def _erase_contacts(self, erasure: Erasure) -> int:
        return sum(self._contacts.erase(pid) for pid in erasure.own_pids)

    def _erase_ledger(self, erasure: Erasure) -> int:
        return sum(self._ledger.erase(pid) for pid in erasure.own_pids)

    def _erase_schedules(self, erasure: Erasure) -> int:
        return sum(self._erase_schedules_of(pid) for pid in erasure.own_pids)

    def _erase_schedules_of(self, pid: str) -> int:
        """Delete the customer's pending schedules (their names start with part of the pid)."""
        removed = 0
        pages = self._scheduler.get_paginator("list_schedules").paginate(
            GroupName=self._group, NamePrefix=schedule_prefix(pid)
        )
        for page in call_aws("trigger schedules", lambda: list(pages)):
            for listed in page.get("Schedules", []):
                schedule = call_aws(
                    "trigger schedules", self._scheduler.get_schedule, Name=listed["Name"], GroupName=self._group
                )
                if json.loads(schedule["Target"].get("Input") or "{}").get("pid") == pid:
                    call_aws("trigger schedules", self._delete, name=listed["Name"])
                    removed += 1
        return removed

    def _delete(self, name: str) -> None:
        with contextlib.suppress(self._scheduler.exceptions.ResourceNotFoundException):  # it fired meanwhile
            self._scheduler.delete_schedule(Name=name, GroupName=self._group)
