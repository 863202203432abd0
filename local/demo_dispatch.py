"""The demo's triggers and dispatch: contacts registered through the API, then what the
triggers fired by live traffic became over three simulated days."""

from __future__ import annotations

import html
import json
import random
import re
import time
import uuid
from collections import Counter
from typing import Any

from local.aws import LocalAws
from local.dispatch_pipeline import DispatchPipeline
from local.lambda_runtime import LocalFunction
from local.pipeline import IngestPipeline
from local.progress import Progress

SIGNUP_BACKEND = "arn:aws:sts::000000000000:assumed-role/signup-backend/demo"  # holds CustomerDataWriterPolicy
ZONES = ("Europe/Berlin", "Europe/London", "Europe/Madrid", "America/New_York")


def register_contacts(aws: LocalAws, customers: list[str], dispatch: DispatchPipeline, seed: int) -> dict[str, int]:
    """Every customer's e-mail address (and a push endpoint for every other one) through
    PUT /v1/customers/{id}/contact, as a sign-up backend would call it (SigV4, its own role)."""
    api, rng = LocalFunction(aws, "PrivacyFunction", dispatch.function.log_path.parent), random.Random(seed)
    counts: Counter[str] = Counter()
    progress = Progress("contacts", len(customers))
    for done, customer in enumerate(customers, 1):
        contact: dict[str, Any] = {"email": f"{customer.lower()}@example.com", "timezone": rng.choice(ZONES)}
        contact["first_name"] = rng.choice(("Ana", "Ben", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hugo"))
        if rng.random() < 0.5:
            contact["push_endpoint"] = dispatch.outbox.push_endpoint(f"device-{customer}")
            counts["push"] += 1
        reply = api.invoke(put_contact(customer, contact))
        counts["stored" if reply["statusCode"] == 204 else f"HTTP {reply['statusCode']}"] += 1
        if done % 100 == 0 or done == len(customers):
            progress.to(done)
    progress.close()
    return dict(counts)


def put_contact(customer: str, contact: dict[str, Any]) -> dict[str, Any]:
    resource = "/v1/customers/{customer_id}/contact"
    return {
        "httpMethod": "PUT",
        "path": f"/v1/customers/{customer}/contact",
        "resource": resource,
        "pathParameters": {"customer_id": customer},
        "queryStringParameters": None,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(contact),
        "isBase64Encoded": False,
        "requestContext": {
            "stage": "dev",
            "requestId": str(uuid.uuid4()),
            "resourcePath": resource,
            "httpMethod": "PUT",
            "identity": {"userArn": SIGNUP_BACKEND},
        },
    }


def run_dispatch(dispatch: DispatchPipeline, hours: int) -> float:
    """Deliver what is due now, then hour by hour for `hours` simulated hours."""
    clock = time.perf_counter()
    progress = Progress("sim. hours", hours, rate=False)
    dispatch.run()
    for hour in range(1, hours + 1):
        dispatch.later(hours=1)
        progress.to(hour)
    progress.close()
    return time.perf_counter() - clock


def print_dispatch_summary(ingest: IngestPipeline, dispatch: DispatchPipeline, hours: int, seconds: float) -> None:
    fired: Counter[str] = Counter()
    stale = 0
    for line in ingest.batch_logs():
        fired.update(line.get("triggers", {}))
        stale += line.get("stale_triggers", 0)
    print(
        f"triggers fired by ingest      {sum(fired.values()):>8,}   ({stale:,} moments too old to act on were skipped)"
    )
    for kind, count in sorted(fired.items()):
        print(f"  {kind:<28}{count:>8,}")
    outcomes = dispatch.outcomes()
    print(f"dispatched over {hours} simulated hours in {seconds:.1f} s: {dict(dispatch.source.stats)}")
    sent = _by_channel(dispatch)
    print(f"  sent                        {sum(sent.values()):>8,}   by channel: {dict(sent)}")
    print(f"  holdout (exposure recorded) {outcomes[('holdout', 'holdout')]:>8,}")
    for outcome in ("suppressed", "cancelled", "deferred", "failed"):
        codes = {code: n for (kind, code), n in outcomes.items() if kind == outcome}
        print(f"  {outcome:<28}{sum(codes.values()):>8,}   {codes if codes else ''}")
    print(f"  still scheduled (due later) {dispatch.source.pending_schedules():>8,}")
    print(f"dead-lettered messages        {len(dispatch.dead_letters()):>8,}")
    print(
        f"captured: {len(dispatch.outbox.emails()):,} e-mails (SES), {len(dispatch.outbox.pushes()):,} pushes (SNS), "
        f"{len(dispatch.outbox.webhooks()):,} webhook events (EventBridge)"
    )


def _by_channel(dispatch: DispatchPipeline) -> Counter[str]:
    return Counter(i["channel"] for i in dispatch.ledger() if i["sk"].startswith("d#") and i["outcome"] == "sent")


def print_email(email: Any, title: str) -> None:
    """The e-mail as a reader sees it (HTML reduced to its text), its subject and its links."""
    print(f"{title}\n  To: {email.to}\n  Subject: {email.subject}\n")
    text = re.sub(r"<(br|/p|/tr|/li|/ul|table)[^>]*>", "\n", email.html)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    for line in (" ".join(line.split()) for line in text.splitlines()):
        if line:
            print(f"  | {line}")
    print("  links: " + "  ".join(re.findall(r'href="([^"]+)"', email.html)))
    images = re.findall(r'<img src="([^"]+)"', email.html)
    if images:  # the catalog's pictures of the cart's items and of the picks that go with them
        print("  images: " + "  ".join(images))


def midday_zone(now: Any) -> str:
    """A fixed-offset zone where it is around noon now, so the scene never meets quiet hours."""
    offset = (12 - now.hour + 12) % 24 - 12  # -12 … +11 hours from UTC
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-2 is UTC+2
