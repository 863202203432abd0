"""The stores an erasure clears by the customer's own keys, inside the request: the profile
(replaced by its tombstone), the contact details, the ledger partition and the pending
schedules. Each step is idempotent: a crashed request is finished by the erasure job."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from microtarget.aggregation import DEFAULT_TOLERANCE_MS, day_of
from microtarget.aws.calls import call_aws
from microtarget.aws.contacts import ContactBook
from microtarget.aws.ledger import Ledger
from microtarget.aws.trigger_queue import schedule_prefix
from microtarget.erasure import IN_REQUEST, Erasure
from microtarget.errors import RetryableError
from microtarget.ports import ProfileStore, VersionConflict
from microtarget.profile import Profile

TOMBSTONE_ATTEMPTS = 5


class CustomerStores:
    def __init__(
        self, profiles: ProfileStore, contacts: ContactBook, ledger: Ledger, scheduler: Any, schedule_group: str
    ) -> None:
        self._profiles, self._contacts, self._ledger = profiles, contacts, ledger
        self._scheduler, self._group = scheduler, schedule_group

    def erase(self, erasure: Erasure, now_ms: int) -> None:
        """Clear every store of IN_REQUEST not clean yet, marking each on the erasure."""
        for store in erasure.pending(IN_REQUEST):
            erasure.finished(store, getattr(self, f"_erase_{store}")(erasure), now_ms)

    def _erase_profile(self, erasure: Erasure) -> int:
        """Replace the profile by a tombstone: empty, erased_before the request (a conditional
        write: a concurrent ingest write re-reads and then finds the tombstone)."""
        for _attempt in range(TOMBSTONE_ATTEMPTS):
            current = self._profiles.get_many([erasure.pid]).get(erasure.pid)
            if current is not None and current.first_seen is not None:  # the lake holds nothing older
                erasure.lake_from = day_of(current.first_seen - DEFAULT_TOLERANCE_MS)
            stone = Profile(erasure.pid, version=current.version if current else 0, erased_before=erasure.requested_at)
            try:
                self._profiles.put(stone)
            except VersionConflict:
                continue
            return 1 if current is not None and current.last_seen is not None else 0
        raise RetryableError("the profile kept changing while its tombstone was written")

    def _erase_contacts(self, erasure: Erasure) -> int:
        return self._contacts.erase(erasure.pid)

    def _erase_ledger(self, erasure: Erasure) -> int:
        return self._ledger.erase(erasure.pid)

    def _erase_schedules(self, erasure: Erasure) -> int:
        """Delete the customer's pending schedules (their names start with part of the pid)."""
        removed = 0
        pages = self._scheduler.get_paginator("list_schedules").paginate(
            GroupName=self._group, NamePrefix=schedule_prefix(erasure.pid)
        )
        for page in call_aws("trigger schedules", lambda: list(pages)):
            for listed in page.get("Schedules", []):
                schedule = call_aws(
                    "trigger schedules", self._scheduler.get_schedule, Name=listed["Name"], GroupName=self._group
                )
                if json.loads(schedule["Target"].get("Input") or "{}").get("pid") == erasure.pid:
                    call_aws("trigger schedules", self._delete, name=listed["Name"])
                    removed += 1
        return removed

    def _delete(self, name: str) -> None:
        with contextlib.suppress(self._scheduler.exceptions.ResourceNotFoundException):  # it fired meanwhile
            self._scheduler.delete_schedule(Name=name, GroupName=self._group)
