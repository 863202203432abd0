"""Profiles in DynamoDB: one item per pid, optimistic locking on `version`.

Each write sets the item's TTL (`expires_at`): `retention_days` after the customer was last
seen, so an inactive customer's profile goes; a tombstone keeps until no event from before its
erasure could be accepted any more (the parser refuses events older than its MAX_EVENT_AGE)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from microtarget.aws.calls import call_aws, error_code
from microtarget.errors import PermanentError, RetryableError
from microtarget.ports import VersionConflict
from microtarget.profile import Profile

BATCH_GET_LIMIT = 100
PROFILE_RETENTION_DAYS = 730  # the default: a customer inactive for two years is forgotten
TOMBSTONE_KEEP_S = (3 * 366 + 1) * 86_400  # past the parser's MAX_EVENT_AGE (a test holds it there)


class DynamoProfileStore:
    """One item per pid; optimistic locking on `version`; reads batched by 100."""

    def __init__(self, table: Any, write_threads: int = 8, retention_days: int = PROFILE_RETENTION_DAYS) -> None:
        self._table, self.retention_days = table, retention_days
        self._pool = ThreadPoolExecutor(max_workers=write_threads, thread_name_prefix="profile-put")

    def get_many(self, pids: Iterable[str]) -> dict[str, Profile]:
        keys = [{"pid": pid} for pid in dict.fromkeys(pids)]
        found: dict[str, Profile] = {}
        try:
            for start in range(0, len(keys), BATCH_GET_LIMIT):
                request = {self._table.name: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}}
                for _attempt in range(5):
                    reply = self._table.meta.client.batch_get_item(RequestItems=request)
                    # the resource's client deserializes items already
                    for item in reply["Responses"].get(self._table.name, []):
                        found[item["pid"]] = Profile.from_item(item)
                    request = reply.get("UnprocessedKeys") or {}
                    if not request:
                        break
                else:
                    raise RetryableError("profiles table kept returning unprocessed keys")
        except (ClientError, BotoCoreError) as exc:
            raise RetryableError(f"reading profiles failed: {exc}") from exc
        return found

    def expiries(self, pids: Iterable[str]) -> dict[str, int]:
        """When each stored profile of these customers expires (epoch s; 0 for a tombstone, whose
        customer is gone already); customers without a profile are absent."""
        items = self._projected(pids, "pid, last_seen, expires_at")
        return {i["pid"]: int(i.get("expires_at", 0)) if i.get("last_seen") is not None else 0 for i in items}

    def erased_before(self, pids: Iterable[str]) -> dict[str, int]:
        """The tombstone moment of each of these customers that has been erased (the others: absent)."""
        items = self._projected(pids, "pid, erased_before")
        return {i["pid"]: int(i["erased_before"]) for i in items if i.get("erased_before") is not None}

    def _projected(self, pids: Iterable[str], projection: str) -> list[dict[str, Any]]:
        """A few attributes of each stored profile, read 100 a request (unprocessed keys resent)."""
        keys = [{"pid": pid} for pid in dict.fromkeys(pids)]
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            chunk = keys[start : start + BATCH_GET_LIMIT]
            request = {self._table.name: {"Keys": chunk, "ProjectionExpression": projection}}
            while request:
                reply = call_aws("profiles", self._table.meta.client.batch_get_item, RequestItems=request)
                found += reply["Responses"].get(self._table.name, [])
                request = reply.get("UnprocessedKeys") or {}
        return found

    def update(self, pid: str, change: Callable[[Profile | None], Profile], attempts: int = 5) -> Profile | None:
        """Read, change, write conditionally; on a concurrent write (ingest) re-read and change again.
        Returns the profile as it was before."""
        for _attempt in range(attempts):
            current = self.get_many([pid]).get(pid)
            try:
                self.put(change(current))
            except VersionConflict:
                continue
            return current
        raise RetryableError("the profile kept changing while it was being updated")

    def _conditional(self, profile: Profile) -> dict[str, Any]:
        """The put of `profile` as version+1, conditional on the stored version being its own."""
        expected = profile.version
        item = profile.to_item() | {"version": expected + 1, "expires_at": self._expires_at(profile)}
        condition = "attribute_not_exists(pid)" if expected == 0 else "version = :expected"
        values = {} if expected == 0 else {"ExpressionAttributeValues": {":expected": expected}}
        return {"Item": item, "ConditionExpression": condition, **values}

    def put_merged(self, profile: Profile, aliases: list[Profile]) -> None:
        """The known profile and the aliases of the anonymous profiles merged into it: one
        transaction, so no crash or concurrent write can leave a merge counted twice or lost."""
        writes = [self._conditional(p) | {"TableName": self._table.name} for p in [profile, *aliases]]
        try:
            self._table.meta.client.transact_write_items(TransactItems=[{"Put": write} for write in writes])
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if error_code(exc) == "TransactionCanceledException" and "ConditionalCheckFailed" in reasons:
                raise VersionConflict(profile.pid) from exc
            if "size" in str(exc).lower():
                raise PermanentError("profile_too_large", "DynamoDB refused the merged profile for its size") from exc
            raise RetryableError(f"writing a merged profile failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise RetryableError(f"writing a merged profile failed: {exc}") from exc
        for written in [profile, *aliases]:
            written.version += 1

    def put(self, profile: Profile) -> None:
        expected = profile.version
        try:
            self._table.put_item(**self._conditional(profile))
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(profile.pid) from exc
            if error_code(exc) == "ValidationException" and "size" in str(exc).lower():
                # retrying can never succeed: the records that built it go to the dead letters instead
                raise PermanentError("profile_too_large", "DynamoDB refused the profile item for its size") from exc
            raise RetryableError(f"writing profile failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise RetryableError(f"writing profile failed: {exc}") from exc
        profile.version = expected + 1

    def _expires_at(self, profile: Profile) -> int:
        """Retention after the last activity; never before a tombstone's time is up, whatever
        activity came after the erasure (an empty profile is kept like a tombstone)."""
        active = profile.last_seen // 1000 + self.retention_days * 86_400 if profile.last_seen is not None else 0
        stone = (
            (profile.erased_before or 0) // 1000 + TOMBSTONE_KEEP_S
            if profile.last_seen is None or profile.erased_before
            else 0
        )
        return max(active, stone)

    def put_many(self, profiles: list[Profile]) -> dict[str, Exception]:
        """Write concurrently; return the failures by pid (conflicts and retryables)."""
        failures: dict[str, Exception] = {}
        futures = {profile.pid: self._pool.submit(self.put, profile) for profile in profiles}
        for pid, future in futures.items():
            error = future.exception()
            if isinstance(error, Exception):  # put raises nothing else; a BaseException propagates
                failures[pid] = error
            elif error is not None:
                raise error
        return failures
