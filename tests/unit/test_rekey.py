"""What a key rotation makes of each item (microtarget.rekey): no customer split, no erasure undone."""

from __future__ import annotations

from microtarget.identity import Pseudonymizer
from microtarget.profile import Profile
from microtarget.rekey import forward_text, moved_alias, moved_profile

OLD, NEW = Pseudonymizer("first-key-0123456789"), Pseudonymizer(["first-key-0123456789", "second-key-0123456789"])


def test_an_old_profile_folds_into_what_the_customer_did_since_and_becomes_its_alias() -> None:
    before = Profile(OLD.pid("C-1"), version=4, orders=2, revenue_cents=5_000, first_seen=1_000, last_seen=5_000)
    before.aliases = [OLD.pid("anon-1")]
    since = Profile(NEW.pid("C-1"), version=1, orders=1, revenue_cents=700, first_seen=9_000, last_seen=9_000)
    target, stub = moved_profile(before, since, NEW.forward)
    assert (target.pid, target.orders, target.revenue_cents, target.first_seen, target.last_seen) == (
        NEW.pid("C-1"), 3, 5_700, 1_000, 9_000,
    )  # fmt: skip
    assert target.aliases == sorted([OLD.pid("anon-1"), NEW.pid("anon-1")])  # both: an erasure clears both items
    assert (stub.pid, stub.version, stub.alias_of, stub.last_seen) == (before.pid, 4, target.pid, None)


def test_a_tombstone_stays_a_tombstone_under_the_new_pid() -> None:
    stone = Profile(OLD.pid("C-2"), version=2, erased_before=8_000)
    target, stub = moved_profile(stone, None, NEW.forward)
    assert target.pid == NEW.pid("C-2") and target.erased_before == 8_000 and target.last_seen is None
    assert stub.erased_before == 8_000 and stub.alias_of is None  # no link between an erased customer's pids
    fresh = Profile(NEW.pid("C-2"), version=1, erased_before=3_000, last_seen=9_000, orders=1)
    assert moved_profile(stone, fresh, NEW.forward)[0].erased_before == 8_000  # the later erasure holds


def test_an_anonymous_alias_gets_its_new_pid_pointing_to_the_customers_new_pid() -> None:
    alias = Profile(OLD.pid("anon-1"), version=1, alias_of=OLD.pid("C-1"))
    moved = moved_alias(alias, NEW.forward)
    assert moved is not None and (moved.pid, moved.alias_of) == (NEW.pid("anon-1"), NEW.pid("C-1"))
    rotation_stub = Profile(OLD.pid("C-1"), alias_of=NEW.pid("C-1"))
    assert moved_alias(rotation_stub, NEW.forward) is None  # what a rotation made: nothing more to write


def test_every_older_pid_in_a_text_is_carried_forward_and_nothing_else_changes() -> None:
    line = f'{{"customer_id":"{OLD.pid("C-1")}","anonymous_id":"{OLD.pid("a")}","x":"c_{"z" * 32}","n":"{NEW.pid("C-2")}"}}'
    moved = forward_text(line, NEW.forward, NEW.version)
    assert moved == line.replace(OLD.pid("C-1"), NEW.pid("C-1")).replace(OLD.pid("a"), NEW.pid("a"))
    assert forward_text(moved, NEW.forward, NEW.version) == moved
