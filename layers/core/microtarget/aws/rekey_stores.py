"""The rekey job's passes over the stores (what each item becomes: microtarget.rekey).

Profiles, contact details (re-sealed under the new pid's encryption context), the ledger, the
consent history and open erasures move by key; the data lake and the outputs beside it are
rewritten object by object, and a version still holding an older pid is deleted. Each pass can
take a slice of the tables (DynamoDB's parallel scan segments) and stops when its time is up;
running it again finishes the rest.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from microtarget.aws.calls import call_aws
from microtarget.aws.contacts import ContactBook
from microtarget.aws.ledger import Ledger
from microtarget.aws.privacy_table import PrivacyTable
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.errors import RetryableError
from microtarget.identity import Pseudonymizer
from microtarget.ports import VersionConflict
from microtarget.profile import Profile
from microtarget.rekey import forward_text, is_older, moved_alias, moved_profile

TimeLeft = Callable[[], float]  # seconds this run may still take
MARGIN_S = 30.0
STAGES = ("contacts", "ledger", "consent", "profiles", "lake")  # contacts and sends before the profiles:
# a message that follows a moved profile then finds its customer's address and send history


class OutOfTime(Exception):
    """The run's time is up; what it moved stays moved, `RekeyStores.resume` says where it was."""


class RekeyStores:
    def __init__(
        self, pids: Pseudonymizer, profiles: DynamoProfileStore, tables: dict[str, Any], contacts: ContactBook,
        ledger: Ledger, book: PrivacyTable, s3: Any, bucket: str,
    ) -> None:  # fmt: skip
        """`tables`: the profiles, contacts, ledger and privacy tables (boto3 Table), by stage name."""
        self._pids, self._profiles, self._tables, self._contacts = pids, profiles, tables, contacts
        self._ledger, self._book, self._s3, self._bucket = ledger, book, s3, bucket
        self.moved: Counter[str] = Counter()
        self.resume: dict[str, Any] = {}  # {"stage", "start"}: where a run that ran out of time was

    def run(self, segment: int, segments: int, time_left: TimeLeft, resume: dict[str, Any] | None = None) -> None:
        """Every stage from `resume` on (a run's own answer when it ran out of time); the lake
        and open erasures are passed by segment 0 only."""
        first = STAGES.index(resume["stage"]) if resume else 0
        if segment == 0:
            self._erasures()  # first: an open erasure must also search what this run moves
        for stage in STAGES[first:]:
            start = resume["start"] if resume and stage == resume["stage"] else None
            if stage == "lake":
                if segment == 0:
                    self._lake(("events/", "scores/", "audiences/"), time_left, start)
                continue
            for item in self._scan(stage, segment, segments, time_left, start):
                self.moved[stage] += getattr(self, f"_move_{stage}")(item)

    def _older(self, pid: str) -> bool:
        return is_older(pid, self._pids.version)

    def _scan(self, stage: str, segment: int, segments: int, time_left: TimeLeft, start: Any) -> Iterator[dict]:
        """The items of the stage's table that name an older pid, each customer once a page."""
        field = "consent_pid" if stage == "consent" else "pid"
        scan: dict[str, Any] = {"ProjectionExpression": "pid, alias_of" if stage == "profiles" else field,
                                "Segment": segment, "TotalSegments": segments}  # fmt: skip
        table = self._tables["privacy" if stage == "consent" else stage]
        if start:
            scan["ExclusiveStartKey"] = start
        while True:
            self.resume = {"stage": stage, "start": scan.get("ExclusiveStartKey")}
            page = call_aws("rekey", table.scan, **scan)
            seen: set[str] = set()
            for item in page["Items"]:  # the scan is cheap; what costs is the work on an item
                pid = item.get(field)
                alias = item.get("alias_of")
                if pid and pid not in seen and self._older(pid) and (alias is None or alias != self._pids.forward(pid)):
                    seen.add(pid)  # a stub the rotation made (alias of its own newest pid) is done: no read
                    if time_left() < MARGIN_S:
                        raise OutOfTime  # resumed from this page: what it moved already is skipped then
                    yield item
            if "LastEvaluatedKey" not in page:
                return
            scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _erasures(self) -> None:
        """Open erasures also search the newest versions of the pids they hold."""
        for erasure in self._book.open_erasures():
            own = {self._pids.forward(p) for p in erasure.own_pids if self._older(p)} - set(erasure.own_pids)
            aliases = {self._pids.forward(p) for p in erasure.aliases if self._older(p)} - set(erasure.aliases)
            if own or aliases:
                erasure.earlier = sorted({*erasure.earlier, *own})
                erasure.aliases = sorted({*erasure.aliases, *aliases})
                self._book.save(erasure)
                self.moved["open_erasures"] += 1

    def _move_contacts(self, item: dict[str, Any]) -> int:
        return self._contacts.move(item["pid"], self._pids.forward(item["pid"]))

    def _move_ledger(self, item: dict[str, Any]) -> int:
        pid = item["pid"]
        return self._ledger.move(
            pid, self._pids.forward(pid), lambda text: forward_text(text, self._pids.forward, self._pids.version)
        )

    def _move_consent(self, item: dict[str, Any]) -> int:
        pid = item["consent_pid"]
        return self._book.move_consent_history(pid, self._pids.forward(pid))

    def _move_profiles(self, item: dict[str, Any]) -> int:
        pid = item["pid"]
        forward, newest = self._pids.forward, self._pids.forward(pid)
        for _attempt in range(5):
            stored = self._profiles.get_many([pid, newest])
            old, current = stored.get(pid), stored.get(newest)
            try:
                if old is None or _moved_tombstone(old, current):
                    return 0
                if old.alias_of is not None:
                    return self._move_alias(old, current)
                if current is not None and current.alias_of is not None:  # merged into a customer since (a login)
                    current = self._profile(current.alias_of)
                target, stub = moved_profile(old, current, forward)
                self._profiles.put_merged(target, [stub])
                return 1
            except VersionConflict:
                continue  # ingest wrote meanwhile: read both again
        raise RetryableError("a profile kept changing while it was being re-keyed")

    def _move_alias(self, old: Profile, current: Profile | None) -> int:
        """An anonymous id's link: its newest pid linked too; activity the visitor had under that
        pid since the rotation is folded into the customer."""
        alias = moved_alias(old, self._pids.forward)
        if alias is None or (current is not None and current.alias_of is not None):
            return 0  # a link the rotation made, or one made already
        if current is None:
            self._profiles.put(alias)
        else:
            assert alias.alias_of is not None
            target, stub = moved_profile(current, self._profile(alias.alias_of), self._pids.forward)
            self._profiles.put_merged(target, [stub])
        return 1

    def _profile(self, pid: str) -> Profile:
        return self._profiles.get_many([pid]).get(pid) or Profile(pid)

    def _lake(self, prefixes: tuple[str, ...], time_left: TimeLeft, start: dict[str, Any] | None) -> None:
        """Every object under these prefixes, listed page by page: the newest version rewritten
        with newest pids, and every version holding an older pid deleted (the bucket is
        versioned). `start`: the prefix and the last key a run that ran out of time finished."""
        for prefix in prefixes[prefixes.index(start["prefix"]) if start else 0 :]:
            done = start["key"] if start and start["prefix"] == prefix else None
            request = {"Bucket": self._bucket, "Prefix": prefix} | ({"KeyMarker": done} if done else {})
            current = None
            while True:
                page = call_aws("data lake", self._s3.list_object_versions, **request)
                for version in page.get("Versions", []):
                    if version["Key"] != current:  # every version of the key before it is done
                        done, current = current or done, version["Key"]
                    self.resume = {"stage": "lake", "start": {"prefix": prefix, "key": done}}
                    if time_left() < MARGIN_S:
                        raise OutOfTime
                    self.moved["lake_objects"] += self._rewrite(version)
                if not page.get("IsTruncated"):
                    break
                request |= {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}

    def _rewrite(self, version: dict[str, Any]) -> int:
        key, version_id = version["Key"], version["VersionId"]
        blob = call_aws("data lake", self._s3.get_object, Bucket=self._bucket, Key=key, VersionId=version_id)
        packed = blob["Body"].read()
        zipped = packed[:2] == b"\x1f\x8b"
        text = (gzip.decompress(packed) if zipped else packed).decode("utf-8", "surrogateescape")
        moved = forward_text(text, self._pids.forward, self._pids.version)
        if moved == text:
            return 0
        if version["IsLatest"]:
            body = moved.encode("utf-8", "surrogateescape")
            call_aws("data lake", self._s3.put_object, Bucket=self._bucket, Key=key,
                     Body=gzip.compress(body) if zipped else body, ServerSideEncryption="AES256")  # fmt: skip
        call_aws("data lake", self._s3.delete_object, Bucket=self._bucket, Key=key, VersionId=version_id)
        return 1


def _moved_tombstone(old: Profile, current: Profile | None) -> bool:
    """A tombstone whose moment the new pid holds already (it stays behind, linked to nothing)."""
    if old.alias_of is not None or old.last_seen is not None or current is None:
        return False
    return (current.erased_before or 0) >= (old.erased_before or 0)
