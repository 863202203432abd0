"""Triggers → dispatch → SES / SNS / EventBridge on the local AWS, through the real handlers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import pytest
from microtarget.campaigns import parse_campaigns

from local.aws import LocalAws
from local.config import CAMPAIGNS
from tests.integration.flow import Flow, codes, flow_of

EXPERIMENT, CROSS_SELL = parse_campaigns(
    CAMPAIGNS.read_text()
).experiments  # cart recovery 10 %, cross-sell 50 % held out


@pytest.fixture
def flow(local_aws: LocalAws, tmp_path: Path) -> Iterator[Flow]:
    yield from flow_of(local_aws, tmp_path / "logs")


def shopper(flow: Flow, prefix: str = "t", **contact: object) -> str:
    """A customer in the treatment arms of both experiments, reachable by e-mail."""
    return flow.customer(flow.in_arm(EXPERIMENT, "treatment", prefix, CROSS_SELL), **contact)


def cart(name: str, minutes: float = 0, product: str = "P1") -> tuple:
    return ("add_to_cart", name, minutes, {"product_id": product, "price": 30.0})


def test_a_left_cart_gets_one_email_15_minutes_later_with_its_items(flow: Flow) -> None:
    name = shopper(flow)
    flow.events(cart(name))
    assert flow.dispatch.run() == 0 and flow.dispatch.later(minutes=14) == 0
    assert flow.dispatch.later(minutes=2) == 1
    (email,) = flow.outbox.emails()
    assert email.to == f"{name}@example.com" and email.subject.startswith(name.title())
    assert "P1" in email.html and "€30.00" in email.html and "decision=t" in email.html
    assert codes(flow, name) == [("sent", "sent")]
    (decision,) = flow.decisions(name)
    assert (decision["trigger"], decision["channel"], decision["offer_id"]) == (
        "cart-left-15min",
        "email",
        "cart-recovery",
    )
    assert json.loads(decision["experiments"]) == {EXPERIMENT.id: "treatment"}
    detail = json.loads(decision["detail"])
    assert set(detail) == {"scores", "models", "campaigns", "pre", "orders_total"} and decision["code"] == "sent"
    assert detail["orders_total"] == 0  # churn's population, which monitoring reads: no order yet
    assert detail["pre"] == {"orders_90d": 0.0, "revenue_90d": 0.0}  # the cart of today is not before the day


def test_the_email_shows_the_catalogs_names_pictures_and_links_and_never_an_unavailable_product(flow: Flow) -> None:
    products = [
        {"product_id": "P1", "name": "Trail sneakers", "price": 89.9, "image_url": "https://shop.example.com/i/P1.jpg",
         "product_url": "https://shop.example.com/p/P1"},
        {"product_id": "P2", "name": "Soft throw", "price": 35.0, "available": False},
    ]  # fmt: skip
    body = "".join(json.dumps(p) + "\n" for p in products).encode()
    flow.aws.client("s3").put_object(Bucket=flow.aws.ref("ModelsBucket"), Key="config/products.jsonl", Body=body)
    name = shopper(flow)
    flow.events(cart(name), cart(name, 1, "P2"), cart(name, 2, "P3"))  # P3: added to the shop since the import
    assert flow.dispatch.later(minutes=17) == 1
    (email,) = flow.outbox.emails()
    assert "<td>P3</td>" in email.html  # shown by its id, not dropped
    assert '<a href="https://shop.example.com/p/P1">Trail sneakers</a>' in email.html
    assert 'src="https://shop.example.com/i/P1.jpg"' in email.html and "€30.00" in email.html  # the cart's price
    assert "Soft throw" not in email.html and "P2" not in email.html and "You left 2 items" in email.html


def test_the_exposure_records_what_the_customer_bought_in_the_90_days_before_its_day(flow: Flow) -> None:
    name = shopper(flow)
    order = {"order_id": "O1", "revenue": 80.0, "items": [{"product_id": "P9", "price": 80.0, "quantity": 1}]}
    flow.events(("purchase", name, -24 * 60, order), ("purchase", name, -60, {**order, "order_id": "O2"}))
    flow.events(cart(name))
    assert flow.dispatch.later(minutes=16) == 1
    (decision,) = flow.decisions(name)
    assert json.loads(decision["detail"])["pre"] == {"orders_90d": 1.0, "revenue_90d": 80.0}  # not today's order


def test_a_purchase_before_the_timer_cancels_the_message(flow: Flow) -> None:
    name = shopper(flow)
    flow.events(cart(name))
    flow.dispatch.later(minutes=5)
    flow.events(("purchase", name, 0, {}))
    flow.dispatch.later(minutes=11)
    assert flow.outbox.emails() == []
    (decision,) = flow.decisions(name)
    assert (decision["outcome"], decision["reason"]) == ("cancelled", "purchased since the cart was left")


def test_the_same_message_delivered_twice_sends_one_email(flow: Flow) -> None:
    name = shopper(flow)
    flow.events(cart(name))
    sqs, url = flow.aws.client("sqs"), flow.aws.ref("TriggerQueue")
    flow.clock.advance(minutes=16)
    (message,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]
    sqs.send_message(QueueUrl=url, MessageBody=message["Body"])  # an at-least-once redelivery
    assert flow.dispatch.run() == 2
    assert len(flow.outbox.emails()) == 1 and codes(flow, name) == [("sent", "sent")]


def test_withdrawn_consent_sends_nothing(flow: Flow) -> None:
    name = shopper(flow)
    flow.events(cart(name))
    flow.dispatch.later(minutes=5)
    flow.events(("consent_updated", name, 0, {"consents": {"email": False}}))
    flow.dispatch.later(minutes=11)
    assert flow.outbox.emails() == [] and codes(flow, name) == [("suppressed", "consent")]


def test_a_reached_cap_sends_nothing(flow: Flow) -> None:
    name = shopper(flow)
    flow.events(cart(name))
    flow.dispatch.later(minutes=16)
    flow.events(cart(name, product="P2"))  # a second cart the same day: cart recovery is capped at 1 a day
    flow.dispatch.later(minutes=16)
    assert len(flow.outbox.emails()) == 1
    assert codes(flow, name) == [("sent", "sent"), ("suppressed", "cap")]
    assert "offer cap per day reached (1/1)" in [d["reason"] for d in flow.decisions(name)][1:] + [
        d["reason"] for d in flow.decisions(name)
    ]


def test_the_control_arm_records_an_exposure_and_its_conversion_without_sending(flow: Flow) -> None:
    name = flow.customer(flow.in_arm(EXPERIMENT, "holdout", "h"))
    flow.events(cart(name))
    flow.dispatch.later(minutes=16)
    assert flow.outbox.emails() == [] and codes(flow, name) == [("holdout", "holdout")]
    assert flow.decisions(name)[0]["offer_id"] == "cart-recovery"  # the offer held back: results per offer
    flow.events(("purchase", name, 0, {"order_id": "O-9", "revenue": 30.0}))
    (conversion,) = [i for i in flow.dispatch.ledger() if i["pid"] == flow.pid(name) and i["sk"].startswith("c#")]
    assert conversion["outcome"] == "holdout" and conversion["decision_id"] == flow.decisions(name)[0]["decision_id"]
    assert json.loads(conversion["experiments"]) == {EXPERIMENT.id: "holdout"} and conversion["revenue_cents"] == 3000


def test_a_purchase_after_an_email_is_attributed_to_it(flow: Flow) -> None:
    name = shopper(flow)
    flow.events(cart(name))
    flow.dispatch.later(minutes=16)
    flow.events(("purchase", name, 0, {"revenue": 30.0}))
    flow.events(("purchase", name, 0, {"revenue": 30.0}))  # another order: its own conversion
    conversions = [i for i in flow.dispatch.ledger() if i["pid"] == flow.pid(name) and i["sk"].startswith("c#")]
    assert len(conversions) == 2 and {c["outcome"] for c in conversions} == {"sent"}
    assert {c["decision_id"] for c in conversions} == {flow.decisions(name)[0]["decision_id"]}


def test_a_template_error_dead_letters_that_message_and_sends_the_others(local_aws: LocalAws, tmp_path: Path) -> None:
    campaigns = CAMPAIGNS.read_bytes().replace(b"after_minutes: 4320", b"after_minutes: 10")
    for flow in flow_of(local_aws, tmp_path, campaigns):
        local_aws.client("s3").put_object(
            Bucket=local_aws.ref("ModelsBucket"),
            Key="config/templates/cross_sell/body.html",
            Body=b"{{ no_such.name }}",
        )
        left, bought = shopper(flow, "a"), shopper(flow, "b")
        flow.events(cart(left), ("purchase", bought, 0, {}))
        flow.dispatch.later(minutes=16)
        assert [e.to for e in flow.outbox.emails()] == [f"{left}@example.com"]
        (dead,) = flow.dispatch.dead_letters()
        assert dead["reason"]["code"] == "template_error" and dead["reason"]["field"] == "cross_sell/body.html"
        assert "no_such" in dead["reason"]["message"]
        assert codes(flow, bought) == [("failed", "template_error")]


def test_quiet_hours_hold_a_message_until_morning(flow: Flow) -> None:
    assert flow.now().hour == 12  # the flow runs at noon UTC
    name = shopper(flow, timezone="Etc/GMT-11")  # UTC+11: 23:00 where this customer lives
    flow.events(cart(name))
    flow.dispatch.later(minutes=16)
    assert flow.outbox.emails() == [] and codes(flow, name) == [("deferred", "quiet_hours")]
    assert flow.dispatch.source.pending_schedules() == 1  # held for ~9 h: a schedule, not an SQS delay
    flow.dispatch.later(hours=9)
    assert len(flow.outbox.emails()) == 1
    assert codes(flow, name) == [("deferred", "quiet_hours"), ("sent", "sent")]


def test_an_order_gets_a_cross_sell_three_days_later_through_the_scheduler(flow: Flow) -> None:
    name = shopper(flow)
    items = [{"product_id": "A1", "price": 20.0}, {"product_id": "B2", "price": 10.0}]
    flow.events(("purchase", name, 0, {"items": items, "revenue": 30.0}))
    assert flow.dispatch.source.pending_schedules() == 1
    assert flow.dispatch.later(days=2) == 0
    flow.dispatch.later(days=1, minutes=1)
    (email,) = flow.outbox.emails()
    assert email.subject == "Goes well with your order" and "A1, B2" in email.html
    assert flow.dispatch.source.pending_schedules() == 0


def test_repeat_views_send_a_push_notification(local_aws: LocalAws, tmp_path: Path) -> None:
    campaigns = CAMPAIGNS.read_bytes().replace(b"      min_propensity: 0.3\n", b"")  # no models in this stack
    for flow in flow_of(local_aws, tmp_path, campaigns):
        name = shopper(flow)
        contact = flow.contacts.get(flow.pid(name))
        assert contact is not None
        endpoint = flow.outbox.push_endpoint("device-1")
        flow.contacts.put(flow.pid(name), contact.model_copy(update={"push_endpoint": endpoint}))
        flow.events(*[("product_view", name, m, {"product_id": "SHOE-9"}) for m in (-6, -3, 0)])
        flow.dispatch.later(minutes=3)
        assert codes(flow, name) == [("sent", "sent")]
        (push,) = flow.outbox.pushes()
        assert "SHOE-9" in push["body"] and push["title"].startswith("Still thinking")


def test_the_webhook_channel_publishes_to_the_marketing_bus(local_aws: LocalAws, tmp_path: Path) -> None:
    campaigns = CAMPAIGNS.read_bytes().replace(b"after_minutes: 4320        # three", b"after_minutes: 10  # three")
    campaigns = campaigns.replace(
        b"    channel: email\n    offers: [cross-sell]", b"    channel: webhook\n    offers: [cross-sell]"
    )
    for flow in flow_of(local_aws, tmp_path, campaigns):
        name = shopper(flow)
        flow.events(("purchase", name, 0, {}))
        flow.dispatch.later(minutes=11)
        assert codes(flow, name) == [("sent", "sent")]
        (event,) = flow.outbox.webhooks()
        assert event["source"] == "microtarget.dispatch" and event["detail"]["offer_id"] == "cross-sell"
        assert event["detail"]["pid"] == flow.pid(name) and "example.com" not in json.dumps(event)


def test_a_refused_send_is_dead_lettered_with_its_reason_and_recorded(flow: Flow) -> None:
    name = shopper(flow)
    flow.aws.client("ses").delete_identity(Identity=flow.outbox.sender)  # SES now refuses the sender
    flow.events(cart(name))
    flow.dispatch.later(minutes=16)
    (dead,) = flow.dispatch.dead_letters()
    assert dead["reason"]["code"] == "send_refused" and "MessageRejected" in dead["reason"]["message"]
    assert codes(flow, name) == [("failed", "send_refused")]


def test_a_retry_after_a_failed_send_is_not_blocked_by_its_own_first_attempt(flow: Flow) -> None:
    name = shopper(flow)
    flow.events(cart(name))
    channels = flow.dispatch.function.module().root().service.channels
    send = channels._ses.send_email
    calls = []

    def flaky(**kwargs: object) -> object:  # injected fault: the first attempt cannot reach SES
        calls.append(1)
        if len(calls) == 1:
            raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://email.local")
        return send(**kwargs)

    channels._ses.send_email = flaky
    flow.dispatch.later(minutes=16)
    assert flow.outbox.emails() == [] and flow.dispatch.source.stats["failed"] == 1
    flow.dispatch.later(minutes=4)  # the visibility timeout (180 s) has passed: SQS redelivers
    assert len(flow.outbox.emails()) == 1 and codes(flow, name) == [("sent", "sent")]
