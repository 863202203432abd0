"""Dispatch throughput against the local AWS: due cart-abandonment messages through the real
handler (idempotency record, profile, sealed contact, ledger, rendering, SES) on moto.

moto answers each call in a few milliseconds over loopback HTTP and a message takes about a
dozen calls, so this measures the handler plus the emulator, not what AWS would sustain."""

from __future__ import annotations

import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
from microtarget.aggregation import digest
from microtarget.aws.contacts import ContactBook
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.aws.trigger_queue import TriggerQueue
from microtarget.clock import MINUTE_MS, to_ms
from microtarget.contacts import Contact
from microtarget.triggers import TriggerMessage, trigger_id

from local.aws import LocalAws
from local.backfill import backfill
from local.clock import LocalClock
from local.config import upload_config
from local.demo_dispatch import midday_zone
from local.dispatch_pipeline import DispatchPipeline

MESSAGES = 300
WARM_UP = 20


def run() -> dict[str, Any]:
    clock = LocalClock().install()
    try:
        with LocalAws(stack_name="bench-dispatch") as aws, tempfile.TemporaryDirectory() as logs:
            upload_config(aws)
            now = clock.now()
            messages = _customers(aws, now, MESSAGES + WARM_UP)
            dispatch = DispatchPipeline(aws, clock, Path(logs))
            queue = TriggerQueue(aws.client("sqs"), aws.ref("TriggerQueue"), aws.attribute("TriggerQueue", "Arn"))
            queue.send(messages[:WARM_UP], to_ms(now))
            dispatch.run()  # cold start: module, campaigns, templates
            warm = len(dispatch.outbox.emails())
            queue.send(messages[WARM_UP:], to_ms(now))
            started = time.perf_counter()
            handled = dispatch.run()
            seconds = time.perf_counter() - started
            sent = len(dispatch.outbox.emails()) - warm
            return {"dispatch_per_second": handled / seconds, "handled": handled, "sent_share": sent / handled}
    finally:
        clock.uninstall()


def _customers(aws: LocalAws, now: Any, count: int) -> list[TriggerMessage]:
    """Customers with consent and a left cart (profiles via the ingest service), their sealed
    contacts, and the trigger message each left cart fired."""
    names = [f"bench-{i}" for i in range(count)]
    adds = {name: f"add-{uuid.uuid4().hex}" for name in names}
    events = []
    for name in names:
        base = {"customer_id": name, "session_id": f"s-{name}"}
        at = (now - timedelta(minutes=30)).isoformat()
        events.append({**base, "event_id": f"c-{name}", "event_type": "consent_updated", "occurred_at": at,
                       "properties": {"consents": {"email": True}}})  # fmt: skip
        at = (now - timedelta(minutes=16)).isoformat()
        events.append({**base, "event_id": adds[name], "event_type": "add_to_cart", "occurred_at": at,
                       "properties": {"product_id": "P00007", "price": 34.9, "quantity": 1}})  # fmt: skip
    backfill(aws, events)
    pids = pseudonymizer_from_secret(aws.ref("PseudonymSecret"))
    table = boto3.resource("dynamodb", endpoint_url=aws.endpoint).Table(aws.ref("ContactsTable"))
    book = ContactBook(table, aws.client("kms"), aws.ref("ContactsKey"))
    moment = to_ms(now) - 16 * MINUTE_MS
    messages = []
    for name in names:
        pid = pids.pid(name)
        book.put(pid, Contact(email=f"{name}@example.com", first_name="Sam", timezone=midday_zone(now)))
        anchor = digest(adds[name])
        messages.append(
            TriggerMessage(
                trigger_id=trigger_id(pid, "cart-left-15min", anchor),
                rule="cart-left-15min",
                kind="cart_abandonment",
                pid=pid,
                channel="email",
                moment_ms=moment,
                anchor=anchor,
                due_ms=moment + 15 * MINUTE_MS,
                expires_ms=moment + 24 * 60 * MINUTE_MS,
                products=["P00007"],
            )
        )
    return messages
