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


def test_the_decision_seal_key_cannot_be_read_off_any_customers_pid() -> None:
    import hashlib
    import hmac

    from microtarget.identity import Pseudonymizer

    key = "unit-test-key-0123456789abcdef"
    pseudonymizer = Pseudonymizer(key)
    pseudonymizer.seal("x")
    label = "microtarget decision ids v1"
    assert pseudonymizer._seal_key != hmac.new(key.encode(), label.encode(), hashlib.sha256).digest()
    assert pseudonymizer.pid(label)[2:] not in pseudonymizer._seal_key.hex()
