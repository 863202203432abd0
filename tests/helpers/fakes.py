"""In-memory stand-ins for the ports the domain services take (kept out of the deployed layer)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from microtarget.ports import Rejection, VersionConflict
from microtarget.profile import Profile


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
