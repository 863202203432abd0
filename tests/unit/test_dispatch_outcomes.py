"""Every outcome dispatch can record, on the service alone: in-memory ports, no moto, no Lambda.

The same guarantees run end to end through SQS and the handler in
tests/integration/test_dispatch*.py; here each is one small case, including the crashes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from microtarget.aggregation import apply_events
from microtarget.campaigns import Campaigns, parse_campaigns
from microtarget.clock import to_ms
from microtarget.contacts import Contact
from microtarget.decisions import assign_arm
from microtarget.dispatch import DispatchService
from microtarget.errors import PermanentError, RetryableError, SendUnconfirmed
from microtarget.outcomes import LedgerEntry
from microtarget.profile import Profile
from microtarget.recommendations import Recommender
from microtarget.triggers import TriggerMessage, evaluate

from tests.helpers.events import T0, event
from tests.helpers.fakes import (
    FakeContacts,
    FakeSender,
    FakeServing,
    FakeTemplates,
    InMemoryLedger,
    InMemoryProfileStore,
    ListTriggerSink,
)

ROOT = Path(__file__).resolve().parents[2] / "campaigns"
CAMPAIGNS = parse_campaigns((ROOT / "catalog.yaml").read_text())
TEMPLATES = {str(p.relative_to(ROOT / "templates")): p.read_text() for p in (ROOT / "templates").rglob("*.*")}
CART_RECOVERY = next(e for e in CAMPAIGNS.experiments if e.id == "cart-recovery-2026q4")
LATER = T0 + timedelta(minutes=16)  # 13:16 in Berlin: outside quiet hours


class Dispatch:
    """A DispatchService over fakes, with a clock the test sets."""

    def __init__(
        self, campaigns: Campaigns | None = CAMPAIGNS, models: dict[str, Any] | None = None,
        recommender: Recommender | None = None,
    ) -> None:  # fmt: skip
        self.now = LATER
        self.profiles, self.contacts = InMemoryProfileStore(), FakeContacts()
        self.ledger, self.sender, self.queue = InMemoryLedger(), FakeSender(), ListTriggerSink()
        self.service = DispatchService(
            FakeServing(campaigns, models, recommender=recommender), FakeTemplates(TEMPLATES), self.profiles, self.contacts, self.ledger,
            self.sender, self.queue, self.ledger, clock=lambda: self.now,
        )  # fmt: skip

    def customer(self, pid: str, *batches: list, email: bool = True, consent: bool = True) -> Profile:
        """A stored profile from the batches (consent first); an e-mail address on file if `email`."""
        profile = Profile(pid)
        apply_events(profile, [event("consent_updated", minutes=-60, consents={"email": consent, "push": consent})])
        for batch in batches:
            apply_events(profile, batch)
        self.profiles.put(profile)
        if email:
            self.contacts.put(pid, Contact(email=f"{pid}@example.com", first_name="Ada"))
        return profile

    def left_cart(self, pid: str, **kwargs: Any) -> TriggerMessage:
        """A customer who left a 50 € cart at T0; the cart-recovery message it fires."""
        cart = [event("add_to_cart", product_id="P1", price=50.0)]
        profile = self.customer(pid, cart, **kwargs)
        rule = CAMPAIGNS.trigger("cart-left-15min")
        assert rule is not None
        (message,) = evaluate([rule], profile, cart, to_ms(T0)).fired
        return message

    def outcome(self, message: TriggerMessage) -> tuple[str, str]:
        entry = self.service.handle(message)
        return entry.outcome, entry.code

    def recorded(self, message: TriggerMessage) -> tuple[str, str]:
        item = self.ledger.items[message.pid, f"d#{message.idempotency_key}"]
        return item["outcome"], item["code"]


def in_arm(arm: str) -> str:
    return next(f"c_{arm}{i}" for i in range(10_000) if assign_arm(CART_RECOVERY, f"c_{arm}{i}") == arm)


TREATED = in_arm("treatment")


def test_sent_renders_the_offer_with_the_cart_and_records_the_message_id() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    assert dispatch.outcome(message) == ("sent", "sent")
    ((channel, address, rendered, detail),) = dispatch.sender.sent
    assert (channel, address, detail["offer_id"]) == ("email", f"{TREATED}@example.com", "cart-recovery")
    assert "P1" in rendered.text and "Ada" in rendered.html
    item = dispatch.ledger.items[TREATED, f"d#{message.idempotency_key}"]
    assert (item["outcome"], item["message_id"], item["offer_id"]) == ("sent", "msg-1", "cart-recovery")


def test_the_picks_in_a_message_leave_out_what_the_customer_bought_within_the_campaigns_window() -> None:
    # Given a cart of P1, whose best partners are P2 (bought yesterday) and P3 (bought 40 days ago)
    model = Recommender({}, {"together": {"P1": [("P2", 0.9), ("P3", 0.8), ("P4", 0.7)]}}, ["P2", "P5"])
    bought = [event("purchase", minutes=-24 * 60, order_id="O1", items=[{"product_id": "P2", "price": 9.0, "quantity": 1}]),
              event("purchase", minutes=-40 * 24 * 60, order_id="O2", items=[{"product_id": "P3", "price": 9.0, "quantity": 1}])]  # fmt: skip
    for days, expected in ((30, ["P3", "P4", "P5"]), (0, ["P2", "P3", "P4"]), (60, ["P4", "P5"])):
        window = CAMPAIGNS.model_dump(mode="json") | {"recommendations": {"exclude_bought_days": days}}
        dispatch = Dispatch(parse_campaigns(json.dumps(window)), recommender=model)
        cart = [event("add_to_cart", product_id="P1", price=50.0)]
        profile = Profile(TREATED)  # the purchases come first in time: none of them is late
        apply_events(profile, [*bought[::-1], event("consent_updated", minutes=-60, consents={"email": True}), *cart])
        assert len(profile.bought) == 2
        dispatch.profiles.put(profile)
        dispatch.contacts.put(TREATED, Contact(email=f"{TREATED}@example.com", first_name="Ada"))
        (message,) = evaluate([CAMPAIGNS.trigger("cart-left-15min")], profile, cart, to_ms(T0)).fired  # type: ignore[list-item]
        # Then the e-mail's picks are the partners not bought within the window, then the best sellers
        assert dispatch.outcome(message) == ("sent", "sent")
        ((_channel, _address, rendered, detail),) = dispatch.sender.sent
        assert detail["recommended"] == expected, days
        assert all(p in rendered.text for p in expected)


def test_holdout_records_the_exposure_and_sends_nothing() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(in_arm("holdout"))
    assert dispatch.outcome(message) == ("holdout", "holdout")
    assert dispatch.sender.sent == [] and dispatch.recorded(message) == ("holdout", "holdout")


def test_an_offer_worth_nothing_is_an_exposure_on_neither_side_of_the_experiment() -> None:
    from tests.unit.test_decisions import models

    dispatch = Dispatch(models=models(propensity=0.01))  # 0.01 x 45 - 2: below zero, sent to nobody
    treated, held = dispatch.left_cart(TREATED), dispatch.left_cart(in_arm("holdout"))
    assert dispatch.outcome(treated) == ("suppressed", "negative_value")
    assert dispatch.outcome(held) == ("suppressed", "negative_value")  # not a holdout the treatment has no twin of
    assert dispatch.sender.sent == []


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda d: d.left_cart(TREATED, email=False), "no_address"),
        (lambda d: d.left_cart(TREATED, consent=False), "consent"),
    ],
)
def test_suppressed_without_address_or_consent(setup: Callable[[Dispatch], TriggerMessage], code: str) -> None:
    dispatch = Dispatch()
    message = setup(dispatch)
    assert dispatch.outcome(message) == ("suppressed", code)
    assert dispatch.sender.sent == [] and dispatch.recorded(message) == ("suppressed", code)


def test_suppressed_when_the_offer_cap_is_reached() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    earlier = LedgerEntry(TREATED, "earlier", to_ms(T0 - timedelta(hours=2)), "sent", "sent", channel="email")
    earlier.offer_id = "cart-recovery"
    dispatch.ledger.record(earlier)
    assert dispatch.outcome(message) == ("suppressed", "cap")


def test_cancelled_when_the_moment_passed() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    bought = [event("purchase", minutes=5, order_id="O9")]
    profile = dispatch.profiles.get_many([TREATED])[TREATED]
    apply_events(profile, bought)
    dispatch.profiles.put(profile)
    assert dispatch.outcome(message) == ("cancelled", "condition_gone")
    assert dispatch.sender.sent == []


def test_cancelled_when_expired_removed_or_unknown() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    dispatch.now = datetime.fromtimestamp(message.expires_ms / 1000, UTC) + timedelta(seconds=1)
    assert dispatch.outcome(message) == ("cancelled", "expired")
    without = CAMPAIGNS.model_copy(update={"triggers": [t for t in CAMPAIGNS.triggers if t.id != message.rule]})
    removed = Dispatch(without)
    assert removed.outcome(removed.left_cart(TREATED)) == ("cancelled", "rule_removed")
    unknown = Dispatch()
    assert unknown.outcome(message.model_copy(update={"pid": "c_nobody"})) == ("cancelled", "no_profile")


class Churn:
    version = "churn-test"

    def __init__(self, score: float) -> None:
        self.score = score

    def predict(self, rows: np.ndarray) -> np.ndarray:
        return np.full(len(rows), self.score, dtype=np.float32)


def test_cancelled_when_churn_risk_fell_back_below_the_threshold() -> None:
    dispatch = Dispatch(models={"churn": Churn(0.2)})
    dispatch.customer(TREATED, [event("purchase", minutes=-90 * 24 * 60, order_id="O1")])
    rule = CAMPAIGNS.trigger("churn-risk-rising")
    assert rule is not None
    message = TriggerMessage(
        trigger_id="t" + "0" * 32, rule=rule.id, kind="churn_risk", pid=TREATED, channel="email",
        moment_ms=to_ms(T0), anchor="2026-11-20", due_ms=to_ms(T0), expires_ms=to_ms(T0 + timedelta(days=1)),
    )  # fmt: skip
    assert dispatch.outcome(message) == ("cancelled", "recovered")


def test_deferred_by_quiet_hours_and_requeued_for_their_end() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    dispatch.now = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert dispatch.outcome(message) == ("deferred", "quiet_hours")
    (later,) = dispatch.queue.messages
    assert later.deferrals == 1 and later.due_ms == to_ms(datetime(2026, 11, 21, 7, 0, tzinfo=UTC))  # 08:00 Berlin
    assert dispatch.sender.sent == []


def test_quiet_hours_past_the_expiry_cancel_and_a_refused_requeue_is_retried() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED).model_copy(update={"expires_ms": to_ms(T0 + timedelta(hours=11))})
    dispatch.now = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)
    assert dispatch.outcome(message) == ("cancelled", "expired")
    refused = Dispatch()
    refused.queue.refuse = True
    refused.now = dispatch.now
    with pytest.raises(RetryableError, match="re-queue"):
        refused.service.handle(refused.left_cart(TREATED))


def test_failed_on_a_template_error_or_a_refused_send_and_raised_for_the_dead_letters() -> None:
    broken = {**TEMPLATES, "cart_recovery/body.txt": "{{ no_such_name }}"}
    dispatch = Dispatch()
    dispatch.service.templates = FakeTemplates(broken)
    message = dispatch.left_cart(TREATED)
    with pytest.raises(PermanentError, match="no_such_name"):
        dispatch.service.handle(message)
    assert dispatch.recorded(message) == ("failed", "template_error")
    refused = Dispatch()
    refused.sender.fail = PermanentError("send_refused", "MessageRejected: address blacklisted")
    message = refused.left_cart(TREATED)
    with pytest.raises(PermanentError):
        refused.service.handle(message)
    assert refused.recorded(message) == ("failed", "send_refused")


def test_a_provider_that_could_not_be_reached_fails_then_the_retry_sends_once() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    dispatch.sender.fail = RetryableError("SES unavailable: connection refused")
    with pytest.raises(RetryableError):
        dispatch.service.handle(message)
    assert dispatch.recorded(message) == ("failed", "send_retrying")
    dispatch.sender.fail = None
    assert dispatch.outcome(message) == ("sent", "sent")  # not capped by its own first attempt
    assert dispatch.outcome(message) == ("sent", "sent") and len(dispatch.sender.sent) == 1


def test_an_unconfirmed_send_is_uncertain_and_never_sent_again() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    dispatch.sender.after = SendUnconfirmed("read timeout")
    assert dispatch.outcome(message) == ("uncertain", "send_unconfirmed")
    dispatch.sender.after = None
    assert dispatch.outcome(message) == ("uncertain", "send_unconfirmed") and len(dispatch.sender.sent) == 1
    assert [s.offer_id for s in dispatch.ledger.sends(TREATED, 0)] == ["cart-recovery"]  # caps count it


def test_a_crash_after_the_provider_accepted_is_uncertain_on_redelivery_and_not_sent_again() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    dispatch.sender.after = RuntimeError("the function timed out")
    with pytest.raises(RuntimeError):
        dispatch.service.handle(message)
    assert dispatch.recorded(message) == ("sending", "sending")
    dispatch.sender.after = None
    assert dispatch.outcome(message) == ("uncertain", "crashed_during_send")
    assert len(dispatch.sender.sent) == 1 and dispatch.recorded(message) == ("uncertain", "crashed_during_send")


def test_another_dispatch_holding_the_customer_makes_this_one_retry() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    assert dispatch.ledger.lock(TREATED, "someone else", to_ms(LATER), 60_000)
    with pytest.raises(RetryableError, match="another message"):
        dispatch.service.handle(message)
    assert dispatch.sender.sent == []
    dispatch.now = LATER + timedelta(minutes=2)  # the holder crashed: its lock lapsed
    assert dispatch.outcome(message) == ("sent", "sent")


def test_no_campaigns_file_yet_is_retried() -> None:
    dispatch = Dispatch(campaigns=None)
    dispatch.profiles.put(Profile(TREATED))
    message = Dispatch().left_cart(TREATED)
    with pytest.raises(RetryableError, match="campaigns"):
        dispatch.service.handle(message)


def test_a_redelivery_after_the_send_keeps_the_send_even_when_the_moment_has_passed_since() -> None:
    dispatch = Dispatch()
    message = dispatch.left_cart(TREATED)
    assert dispatch.outcome(message) == ("sent", "sent")
    profile = dispatch.profiles.get_many([TREATED])[TREATED]
    apply_events(profile, [event("purchase", minutes=20, order_id="O9")])  # bought after the e-mail
    dispatch.profiles.put(profile)
    assert dispatch.outcome(message) == ("sent", "sent")  # not "cancelled" over the record of what went out
    assert dispatch.recorded(message) == ("sent", "sent") and len(dispatch.sender.sent) == 1
