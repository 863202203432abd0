"""In-memory stand-ins for the ports the domain services take (kept out of the deployed layer)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from microtarget.aws.ledger import item_of
from microtarget.campaigns import Campaigns
from microtarget.contacts import Contact
from microtarget.outcomes import MAY_HAVE_SENT, LedgerEntry
from microtarget.ports import Rejection, VersionConflict
from microtarget.profile import Profile
from microtarget.recommendations import Recommender
from microtarget.rendering import Rendered, environment
from microtarget.rules import SentOffer
from microtarget.triggers import TriggerMessage


class InMemoryProfileStore:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.writes = 0

    def get_many(self, pids: Iterable[str]) -> dict[str, Profile]:
        return {pid: Profile.from_item(copy.deepcopy(self.items[pid])) for pid in pids if pid in self.items}

    def put(self, profile: Profile) -> None:
        stored = self.items.get(profile.pid, {}).get("version", 0)
        if stored != profile.version:
            raise VersionConflict(profile.pid)
        profile.version += 1
        self.items[profile.pid] = copy.deepcopy(profile.to_item())
        self.writes += 1

    def put_merged(self, profile: Profile, aliases: list[Profile]) -> None:
        for written in [profile, *aliases]:  # all or none: check every version first
            if self.items.get(written.pid, {}).get("version", 0) != written.version:
                raise VersionConflict(written.pid)
        for written in [profile, *aliases]:
            self.put(written)
        self.writes -= len(aliases)  # one write per customer: the aliases ride along

    def put_many(self, profiles: list[Profile]) -> dict[str, Exception]:
        failures: dict[str, Exception] = {}
        for profile in profiles:
            try:
                self.put(profile)
            except VersionConflict as exc:
                failures[profile.pid] = exc
        return failures


class ListDeadLetters:
    """Dead letters kept in a list."""

    def __init__(self) -> None:
        self.rejections: list[Rejection] = []

    def send(self, rejections: list[Rejection]) -> int:
        self.rejections.extend(rejections)
        return 0


class FakeServing:
    """A campaigns file and models, fixed (no TTL, no S3)."""

    def __init__(
        self, campaigns: Campaigns | None, models: dict[str, Any] | None = None, catalog: Any = None,
        recommender: Recommender | None = None,
    ) -> None:  # fmt: skip
        self._campaigns, self._models, self._catalog, self._recommender = campaigns, models or {}, catalog, recommender
        self.environment, self.problems, self.expired = "test", {}, False

    def campaigns(self) -> Campaigns | None:
        return self._campaigns

    def models(self) -> dict[str, Any]:
        return dict(self._models)

    def model_status(self) -> dict[str, Any]:
        return {}

    def recommender(self) -> Recommender | None:
        return self._recommender

    def catalog(self) -> Any:
        return self._catalog

    def expire(self) -> None:
        self.expired = True


class FakeTemplates:
    def __init__(self, sources: dict[str, str]) -> None:
        self._env = environment(sources)

    def environment(self) -> Any:
        return self._env

    def expire(self) -> None:
        pass


class FakeContacts:
    def __init__(self) -> None:
        self.contacts: dict[str, Contact] = {}

    def get(self, pid: str) -> Contact | None:
        return self.contacts.get(pid)

    def put(self, pid: str, contact: Contact) -> None:
        self.contacts[pid] = contact

    def erase(self, pid: str) -> int:
        return 0 if self.contacts.pop(pid, None) is None else 1


class FakeSender:
    """Records what was sent; `fail` (an exception) is raised instead, `after` once it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None, Rendered, dict[str, Any]]] = []
        self.fail: Exception | None = None
        self.after: Exception | None = None

    def send(self, channel: str, address: str | None, message: Rendered, detail: dict[str, Any]) -> str:
        if self.fail is not None:
            raise self.fail
        self.sent.append((channel, address, message, detail))
        if self.after is not None:
            raise self.after
        return f"msg-{len(self.sent)}"


class ListTriggerSink:
    def __init__(self) -> None:
        self.messages: list[TriggerMessage] = []
        self.refuse = False

    def send(self, messages: Sequence[TriggerMessage], now_ms: int) -> set[str]:
        if self.refuse:
            return {m.trigger_id for m in messages}
        self.messages += messages
        return set()


class InMemoryLedger:
    """The decisions ledger and its send claims over one dict, as the table holds both: the
    conditional writes of microtarget.aws.send_guard as plain checks."""

    def __init__(self, retention_days: int = 180) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.retention_days = retention_days

    def record(self, entry: LedgerEntry) -> None:
        self.items[entry.pid, entry.key] = item_of(entry)

    def record_many(self, entries: Sequence[LedgerEntry]) -> None:
        for entry in entries:
            self.record(entry)

    def entries(self, pid: str) -> list[dict[str, Any]]:
        return [dict(item) for (owner, _sk), item in sorted(self.items.items()) if owner == pid]

    def sends(self, pid: str, since_ms: int, excluding: str = "") -> list[SentOffer]:
        return [
            SentOffer(int(i["at"]), i["offer_id"], i["channel"])
            for i in self.entries(pid)
            if i["sk"].startswith("d#") and i["outcome"] in MAY_HAVE_SENT and int(i["at"]) >= since_ms
            and i["decision_id"] != excluding
        ]  # fmt: skip

    def sends_many(self, pids: Sequence[str], since_ms: int) -> dict[str, list[SentOffer]]:
        return {pid: self.sends(pid, since_ms) for pid in pids}

    def attribute(self, pid: str, events: Iterable[Any], window_days: int) -> list[Any]:
        return []

    def claim_send(self, entry: LedgerEntry) -> dict[str, Any] | None:
        earlier = self.earlier_send(entry)
        if earlier is None:
            self.items[entry.pid, entry.key] = item_of(entry) | {"outcome": "sending", "code": "sending"}
        return earlier

    def earlier_send(self, entry: LedgerEntry) -> dict[str, Any] | None:
        item = self.items.get((entry.pid, entry.key))
        return dict(item) if item and item["outcome"] in MAY_HAVE_SENT else None

    def mark_uncertain(self, entry: LedgerEntry, code: str, reason: str) -> None:
        item = self.items.get((entry.pid, entry.key))
        if item and item["outcome"] == "sending":
            item.update(outcome="uncertain", code=code, reason=reason)

    def lock(self, pid: str, owner: str, now_ms: int, hold_ms: int) -> bool:
        held = self.items.get((pid, "lock#send"))
        if held and held["until"] >= now_ms and held["owner"] != owner:
            return False
        self.items[pid, "lock#send"] = {"pid": pid, "sk": "lock#send", "owner": owner, "until": now_ms + hold_ms}
        return True

    def unlock(self, pid: str, owner: str) -> None:
        if self.items.get((pid, "lock#send"), {}).get("owner") == owner:
            del self.items[pid, "lock#send"]
