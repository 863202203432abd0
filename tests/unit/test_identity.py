from __future__ import annotations

import pytest
from microtarget.errors import ConfigurationError
from microtarget.identity import Pseudonymizer


def test_pid_is_stable_keyed_and_hides_the_raw_id() -> None:
    first, other_key = Pseudonymizer("k" * 32), Pseudonymizer("q" * 32)
    assert first.pid("C-1") == Pseudonymizer("k" * 32).pid("C-1")
    assert first.pid("C-1") != first.pid("C-2")
    assert first.pid("C-1") != other_key.pid("C-1")
    assert "C-1" not in first.pid("C-1") and first.pid("C-1").startswith("c_")


def test_short_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 16 bytes"):
        Pseudonymizer("short")
