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
    assert pseudonymizer._seal_keys[-1] != hmac.new(key.encode(), label.encode(), hashlib.sha256).digest()
    assert pseudonymizer.pid(label)[2:] not in pseudonymizer._seal_keys[-1].hex()


K1, K2, K3 = "first-key-0123456789", "second-key-0123456789", "third-key-0123456789"


def test_a_rotated_key_chains_from_the_old_pid_so_old_pids_are_carried_forward_without_the_raw_id() -> None:
    from microtarget.identity import is_pid, pid_version

    one, two, three = Pseudonymizer(K1), Pseudonymizer([K1, K2]), Pseudonymizer([K1, K2, K3])
    assert one.pid("C-1") == Pseudonymizer([K1]).pid("C-1")  # a one-key list is the plain key
    v2, v3 = two.pid("C-1"), three.pid("C-1")
    assert v2.startswith("c2_") and v3.startswith("c3_") and len(v2) == len(one.pid("C-1")) + 1
    assert [pid_version(p) for p in (one.pid("C-1"), v2, v3)] == [1, 2, 3] and all(map(is_pid, (v2, v3)))
    assert two.forward(one.pid("C-1")) == v2 and three.forward(one.pid("C-1")) == three.forward(v2) == v3
    assert three.forward(v3) == v3 and three.lake_pid(v2) == v3 and three.lake_pid("C-1") == v3
    assert three.pids("C-1") == [one.pid("C-1"), v2, v3]
    assert Pseudonymizer([K1, K3]).pid("C-1") != Pseudonymizer([K2, K3]).pid("C-1")  # every key counts
    with pytest.raises(ConfigurationError, match="key version 3"):
        two.forward(v3)  # a function that has not read the newest key yet
    assert pid_version("c1_" + "0" * 32) is None and pid_version("c_" + "0" * 31) is None
    assert pid_version("c10_" + "0" * 32) == 10 and pid_version("c01_" + "0" * 32) is None
    ten = Pseudonymizer([f"key-number-{n}-0123456789" for n in range(10)])  # the tenth rotation
    assert ten.pid("C-1").startswith("c10_") and ten.forward(ten.pids("C-1")[0]) == ten.pid("C-1")


def test_a_running_function_takes_up_a_new_key_once_its_cache_time_has_passed() -> None:
    now, held = [0.0], [[K1]]
    reads: list[float] = []

    def reload() -> list[str]:
        reads.append(now[0])
        return held[0]

    pids = Pseudonymizer(held[0], reload=reload, max_age_s=300, monotonic=lambda: now[0])
    old = pids.pid("C-1")
    held[0] = [K1, K2]  # the secret gains a key
    now[0] = 299.0
    assert pids.pid("C-1") == old and reads == []
    now[0] = 300.0
    assert pids.pid("C-1") == Pseudonymizer([K1, K2]).pid("C-1") and pids.version == 2 and reads == [300.0]
    now[0] = 400.0
    pids.pid("C-1")
    assert reads == [300.0]  # read again only after another 300 s
    held[0] = [K1, K2, K3]
    pids.expire()  # a SnapStart restore: the snapshot's keys may be older than the secret
    assert pids.pid("C-1") == Pseudonymizer([K1, K2, K3]).pid("C-1") and reads == [300.0, 400.0]


def test_an_unreadable_secret_keeps_the_keys_held_and_is_tried_again_soon() -> None:
    now = [0.0]

    def down() -> list[str]:
        raise ConfigurationError("cannot read the pseudonymization secret")

    pids = Pseudonymizer(K1, reload=down, max_age_s=300, monotonic=lambda: now[0])
    now[0] = 301.0
    assert pids.pid("C-1") == Pseudonymizer(K1).pid("C-1")


def test_the_secret_holds_one_key_or_a_list_and_a_wrong_list_is_named() -> None:
    import json

    from microtarget.identity import parse_keys

    assert parse_keys(K1) == [K1] and parse_keys(json.dumps({"keys": [K1, K2]})) == [K1, K2]
    assert parse_keys("{not json but a key}") == ["{not json but a key}"]
    for wrong in ({"keys": []}, {"keys": [K1, 7]}, {"key": K1}):
        with pytest.raises(ConfigurationError, match="oldest first"):
            parse_keys(json.dumps(wrong))
    with pytest.raises(ConfigurationError, match="at least 16 bytes"):
        Pseudonymizer([K1, "short"])


def test_a_decision_issued_before_a_rotation_is_still_recognised_after_it() -> None:
    from microtarget.errors import PermanentError
    from microtarget.exposures import Exposure, check_issued, issued_decision_id

    before, after = Pseudonymizer(K1), Pseudonymizer([K1, K2])
    issued = issued_decision_id("d1", before.pid("C-1"), 1_000, before.seal)
    exposure = Exposure(after.pid("C-1"), issued, "email", "welcome", 2_000)
    check_issued(exposure, 3_000, after.sealers("C-1"))  # no error
    with pytest.raises(PermanentError, match="not issued to this customer"):
        check_issued(Exposure(after.pid("C-2"), issued, "email", "welcome", 2_000), 3_000, after.sealers("C-2"))
    fresh = issued_decision_id("d2", after.pid("C-1"), 1_000, after.seal)
    check_issued(Exposure(after.pid("C-1"), fresh, "email", "welcome", 2_000), 3_000, after.sealers("C-1"))
