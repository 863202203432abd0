"""One message per trigger whatever crashes where, `sent` only with the provider's message id,
and caps that hold when two dispatches for one customer run at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from microtarget.errors import RetryableError
from microtarget.triggers import TriggerMessage

from local.aws import LocalAws
from tests.integration.flow import Flow, codes, flow_of
from tests.integration.test_dispatch import cart, shopper


@pytest.fixture
def flow(local_aws: LocalAws, tmp_path: Path) -> Iterator[Flow]:
    yield from flow_of(local_aws, tmp_path / "logs")


def service(flow: Flow) -> Any:
    return flow.dispatch.function.module().root().service


def crash_after_send(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The provider accepts the message, then the function dies before recording it; returns the real send."""
    channels = service(flow).channels
    real = channels.send

    def send_then_crash(*args: Any) -> str:
        real(*args)
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(channels, "send", send_then_crash)
    return real


def test_a_crash_after_the_provider_accepted_never_sends_again(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a dispatch that dies right after SES accepted the e-mail (before `sent` is recorded)
    name = shopper(flow)
    flow.events(cart(name))
    real = crash_after_send(flow, monkeypatch)
    flow.dispatch.later(minutes=16)
    monkeypatch.setattr(service(flow).channels, "send", real)
    # When SQS delivers it again, after the visibility timeout, twice
    flow.dispatch.later(minutes=4)
    flow.dispatch.later(minutes=4)
    # Then there is still one e-mail, and the ledger says it may have gone out (caps count it)
    assert len(flow.outbox.emails()) == 1
    assert codes(flow, name) == [("uncertain", "crashed_during_send")]
    assert [s.offer_id for s in service(flow).ledger.sends(flow.pid(name), 0)] == ["cart-recovery"]


def test_a_lost_idempotency_record_after_the_send_sends_no_second_email(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = shopper(flow)
    flow.events(cart(name))
    persistence = flow.dispatch.function.module().persistence
    real, calls = persistence.save_success, []

    def lost(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://dynamodb.local")

    monkeypatch.setattr(persistence, "save_success", lost)
    flow.dispatch.later(minutes=16)
    monkeypatch.setattr(persistence, "save_success", real)
    flow.dispatch.later(minutes=4)
    assert calls and len(flow.outbox.emails()) == 1
    (decision,) = flow.decisions(name)
    assert decision["outcome"] == "sent" and decision["message_id"]


def test_a_send_the_provider_never_accepted_is_failed_not_sent(flow: Flow, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given SES throttling every attempt
    name = shopper(flow)
    flow.events(cart(name))
    throttled = botocore.exceptions.ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendEmail")
    monkeypatch.setattr(service(flow).channels._ses, "send_email", lambda **_: (_ for _ in ()).throw(throttled))
    flow.dispatch.later(minutes=16)
    for _ in range(5):
        flow.dispatch.later(minutes=4)
    # Then nothing went out, the ledger says failed with the cause, and no cap counts it
    assert flow.outbox.emails() == []
    assert codes(flow, name) == [("failed", "send_retrying")]
    (decision,) = flow.decisions(name)
    assert "Throttling" in decision["reason"] and decision["message_id"] == ""
    assert service(flow).ledger.sends(flow.pid(name), 0) == []


def test_two_dispatches_for_one_customer_at_once_cannot_both_pass_a_cap(flow: Flow) -> None:
    # Given two triggers for the same customer and offer (capped at one a day), due together
    name = shopper(flow)
    flow.events(cart(name))
    sqs, url = flow.aws.client("sqs"), flow.aws.ref("TriggerQueue")
    flow.clock.advance(minutes=16)
    (message,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    first = TriggerMessage.model_validate_json(message["Body"])
    twin = first.model_copy(update={"trigger_id": "t" + "0" * 32})
    dispatch = service(flow)
    real, raced = dispatch.ledger.sends, []

    def caps_read_then_the_twin_runs(*args: Any, **kwargs: Any) -> Any:
        sent = real(*args, **kwargs)
        if not raced:  # the other instance runs between this one's cap check and its send
            raced.append(1)
            with pytest.raises(RetryableError, match="being dispatched"):
                dispatch.handle(twin)
        return sent

    dispatch.ledger.sends = caps_read_then_the_twin_runs
    assert flow.dispatch.run() == 1
    dispatch.ledger.sends = real
    # When the twin is retried after the first one finished
    sqs.send_message(QueueUrl=url, MessageBody=twin.model_dump_json())
    flow.dispatch.run()
    # Then one e-mail went out and the twin met the cap
    assert raced and len(flow.outbox.emails()) == 1
    assert codes(flow, name) == [("sent", "sent"), ("suppressed", "cap")]


def test_an_answer_lost_after_the_provider_accepted_is_never_sent_again(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given SES accepting the e-mail but the answer never arriving (a read timeout)
    name = shopper(flow)
    flow.events(cart(name))
    ses = service(flow).channels._ses
    real = ses.send_email

    def accepted_then_lost(**kwargs: Any) -> Any:
        real(**kwargs)
        raise botocore.exceptions.ReadTimeoutError(endpoint_url="https://email.local")

    monkeypatch.setattr(ses, "send_email", accepted_then_lost)
    flow.dispatch.later(minutes=16)
    monkeypatch.setattr(ses, "send_email", real)
    flow.dispatch.later(minutes=4)
    # Then one e-mail, recorded as maybe sent (caps count it), and no retry sends another
    assert len(flow.outbox.emails()) == 1
    assert codes(flow, name) == [("uncertain", "send_unconfirmed")]
    assert service(flow).channels._ses.meta.config.retries["total_max_attempts"] == 1  # botocore retries nothing


def test_a_crash_after_the_send_then_quiet_hours_on_redelivery_sends_nothing_more(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a send at 20:56 in Berlin that dies before `sent` is recorded, redelivered at 21:00 (quiet hours)
    name = shopper(flow)
    flow.clock.advance(hours=7, minutes=40)
    flow.events(cart(name))
    real = crash_after_send(flow, monkeypatch)
    flow.dispatch.later(minutes=16)
    monkeypatch.setattr(service(flow).channels, "send", real)
    flow.dispatch.later(minutes=4)
    flow.dispatch.later(hours=12)  # the next morning, when a deferral would have gone out
    # Then the redelivery neither deferred nor re-sent it: one e-mail, marked uncertain
    assert len(flow.outbox.emails()) == 1
    assert codes(flow, name) == [("uncertain", "crashed_during_send")]
