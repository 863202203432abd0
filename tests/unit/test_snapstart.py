"""Under SnapStart the serving functions warm up into the snapshot and, after each restore,
re-seed `random` and re-read what they loaded; anywhere else nothing changes."""

from __future__ import annotations

import random
import sys
import types
from typing import Any

import pytest
from microtarget.edge import snapstart


class Runtime(types.ModuleType):
    """The Lambda runtime's snapshot_restore_py, keeping the hooks it is given."""

    def __init__(self) -> None:
        super().__init__("snapshot_restore_py")
        self.hooks: list[tuple[Any, tuple[Any, ...]]] = []

    def register_after_restore(self, hook: Any, *args: Any) -> None:
        self.hooks.append((hook, args))

    def restore(self) -> None:
        for hook, args in self.hooks:
            hook(*args)


def test_outside_snapstart_nothing_is_warmed_or_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    calls: list[str] = []
    assert snapstart.prepare(lambda: calls.append("warm"), lambda: calls.append("expire")) is False
    assert calls == []


def test_under_snapstart_init_warms_and_each_restore_reseeds_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Runtime()
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    calls: list[str] = []
    assert snapstart.prepare(lambda: calls.append("warm"), lambda: calls.append("expire"))
    assert calls == ["warm"]  # at publish time, into the snapshot
    random.seed(7)
    frozen = [random.random() for _ in range(3)]
    random.seed(7)  # what every environment restored from one snapshot would draw
    runtime.restore()
    assert calls == ["warm", "expire"] and [random.random() for _ in range(3)] != frozen
