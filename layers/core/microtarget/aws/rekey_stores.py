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

from microtarget.aws.calls import call_aws, every_item
from microtarget.aws.contacts import ContactBook
from microtarget.aws.ledger import Ledger
from microtarget.aws.privacy_table import PrivacyTable
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.errors import RetryableError
from microtarget.identity import Pseudonymizer
from microtarget.ports import VersionConflict
from microtarget.rekey import forward_text, is_older, moved_alias, moved_profile

TimeLeft = Callable[[], float]  # seconds this run may still take
MARGIN_S = 30.0


class OutOfTime(Exception):
    """The run's time is up; what it moved stays moved."""


class RekeyStores:
    def __init__(
        self, pids: Pseudonymizer, profiles: DynamoProfileStore, profiles_table: Any, contacts: ContactBook,
        contacts_table: Any, ledger: Ledger, ledger_table: Any, book: PrivacyTable, s3: Any, bucket: str,
    ) -> None:  # fmt: skip
        self._pids, self._profiles, self._profiles_table = pids, profiles, profiles_table
        self._contacts, self._contacts_table, self._ledger, self._ledger_table = (
            contacts,
            contacts_table,
            ledger,
            ledger_table,
        )
        self._book, self._s3, self._bucket = book, s3, bucket
        self.moved: Counter[str] = Counter()

    def _older(self, pid: str) -> bool:
        return is_older(pid, self._pids.version)

    def _older_keys(self, table: Any, segment: int, segments: int, time_left: TimeLeft) -> Iterator[str]:
        seen: set[str] = set()
        scan = {"ProjectionExpression": "pid", "Segment": segment, "TotalSegments": segments}
        for item in every_item("rekey", table.scan, **scan):
            if time_left() < MARGIN_S:
                raise OutOfTime
            if self._older(item["pid"]) and item["pid"] not in seen:
                seen.add(item["pid"])
                yield item["pid"]

    def erasures(self) -> None:
        """Open erasures also search the newest versions of the pids they hold."""
        for erasure in self._book.open_erasures():
            own = {self._pids.forward(p) for p in erasure.own_pids if self._older(p)} - set(erasure.own_pids)
            aliases = {self._pids.forward(p) for p in erasure.aliases if self._older(p)} - set(erasure.aliases)
            if own or aliases:
                erasure.earlier, erasure.aliases = (
                    sorted({*erasure.earlier, *own}),
                    sorted({*erasure.aliases, *aliases}),
                )
                self._book.save(erasure)
                self.moved["open_erasures"] += 1

    def profiles(self, segment: int, segments: int, time_left: TimeLeft) -> None:
        for pid in self._older_keys(self._profiles_table, segment, segments, time_left):
            self.moved["profiles"] += self._move_profile(pid)

    def _move_profile(self, pid: str) -> int:
        newest = self._pids.forward(pid)
        for _attempt in range(5):
            stored = self._profiles.get_many([pid, newest])
            old = stored.get(pid)
            try:
                if old is None:
                    return 0
                if old.alias_of is not None:
                    alias = moved_alias(old, self._pids.forward)
                    if alias is None or alias.pid in stored:  # moved already, or a profile of its own since
                        return 0
                    self._profiles.put(alias)
                    return 1
                self._profiles.put_merged(*_as_merge(moved_profile(old, stored.get(newest), self._pids.forward)))
                return 1
            except VersionConflict:
                continue  # ingest wrote meanwhile: read both again
        raise RetryableError("a profile kept changing while it was being re-keyed")

    def contacts(self, segment: int, segments: int, time_left: TimeLeft) -> None:
        for pid in self._older_keys(self._contacts_table, segment, segments, time_left):
            self.moved["contacts"] += self._contacts.move(pid, self._pids.forward(pid))

    def ledger(self, segment: int, segments: int, time_left: TimeLeft) -> None:
        for pid in self._older_keys(self._ledger_table, segment, segments, time_left):
            newest = self._pids.forward(pid)
            moved = self._ledger.move(
                pid, newest, lambda text: forward_text(text, self._pids.forward, self._pids.version)
            )
            self.moved["ledger_items"] += moved
            self.moved["consent_changes"] += self._book.move_consent_history(pid, newest)

    def lake(self, prefixes: tuple[str, ...], time_left: TimeLeft) -> None:
        """Every object under these prefixes: the newest version rewritten with newest pids, and
        every version holding an older pid deleted (the bucket is versioned)."""
        for prefix in prefixes:
            pages = self._s3.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=prefix)
            for page in call_aws("data lake", lambda pages=pages: list(pages)):
                for version in page.get("Versions", []):
                    if time_left() < MARGIN_S:
                        raise OutOfTime
                    self.moved["lake_objects"] += self._rewrite(version)

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


def _as_merge(moved: tuple[Any, Any]) -> tuple[Any, list[Any]]:
    target, stub = moved
    return target, [stub]
