"""The demo's close-up: three customers act on the site right now, and what each one gets."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.campaigns import parse_campaigns
from microtarget.decisions import assign_arm
from microtarget.profile import Profile

from local.aws import LocalAws
from local.config import CAMPAIGNS
from local.demo_dispatch import midday_zone, print_email, put_contact
from local.dispatch_pipeline import DispatchPipeline
from local.lambda_runtime import LocalFunction
from local.pipeline import IngestPipeline


def play_moments(
    aws: LocalAws, ingest: IngestPipeline, dispatch: DispatchPipeline, loyal: list[str], profiles: dict[str, Profile]
) -> str:
    """`loyal`: high-value customers; the one who bought most recently comes back to browse.
    Returns Ana's customer id (a contact, an e-mail sent, an order: the privacy act erases her)."""
    pids = pseudonymizer_from_secret(aws.ref("PseudonymSecret"))
    ben = max(loyal, key=lambda c: (profiles[pids.pid(c)].last_purchase_at or 0) if pids.pid(c) in profiles else 0)
    experiment = parse_campaigns(CAMPAIGNS.read_text()).experiments[0]
    treated = (f"visitor-{i}" for i in range(1000) if assign_arm(experiment, pids.pid(f"visitor-{i}")) == "treatment")
    ana, chloe = next(treated), next(treated)
    now = dispatch.clock.now()
    zone = midday_zone(now)  # their local time is around noon: no quiet hours in this scene
    api = LocalFunction(aws, "PrivacyFunction", ingest.ingest.log_path.parent)  # beside the other handlers' logs
    for customer, name in ((ana, "Ana"), (chloe, "Chloé"), (ben, "Ben")):
        contact: dict[str, Any] = {"email": f"{customer.lower()}@example.com", "first_name": name, "timezone": zone}
        if customer == ben:
            contact["push_endpoint"] = dispatch.outbox.push_endpoint(f"device-{customer}-phone")
        api.invoke(put_contact(customer, contact))
    shoe = {"product_id": "P00042", "category": "shoes", "price": 89.0}
    _send(ingest, now, [
        (ana, -20, "consent_updated", {"consents": {"email": True}}),
        (ana, -2, "add_to_cart", {"product_id": "P00007", "category": "tops", "price": 34.9}),
        (ana, -1, "add_to_cart", {"product_id": "P00113", "category": "bags", "price": 12.5, "quantity": 2}),
        (chloe, -20, "consent_updated", {"consents": {"email": True}}),
        (chloe, -1, "add_to_cart", {"product_id": "P00019", "category": "denim", "price": 59.0}),
        (ben, -20, "consent_updated", {"consents": {"push": True, "email": True}}),
        (ben, -6, "product_view", shoe), (ben, -3, "product_view", shoe), (ben, 0, "product_view", shoe),
    ])  # fmt: skip
    print(f"{now:%Y-%m-%d %H:%M} UTC  Ana leaves two items in her cart; Chloé adds a pair of jeans;")
    print("                      Ben (a loyal customer) looks at the same shoe three times in six minutes")
    dispatch.later(minutes=5)
    _send(ingest, dispatch.clock.now(), [(chloe, 0, "purchase", {"order_id": "O-CHLOE-1", "revenue": 59.0, "items": [
        {"product_id": "P00019", "category": "denim", "price": 59.0}]})])  # fmt: skip
    print(f"{dispatch.clock.now():%Y-%m-%d %H:%M} UTC  Chloé checks out and buys")
    dispatch.later(minutes=11)
    print(f"{dispatch.clock.now():%Y-%m-%d %H:%M} UTC  what dispatch did:")
    for customer, name in ((ana, "Ana"), (chloe, "Chloé"), (ben, "Ben")):
        for item in _decisions(dispatch, pids.pid(customer), now):
            what = item["offer_id"] or "-"
            print(f"    {name:<6} {item['trigger']:<18} {item['outcome']:<10} {what:<18} {item['reason'][:60]}")
    pushes = [p for p in dispatch.outbox.pushes() if p["decision_id"] in _ids(dispatch, pids.pid(ben), now)]
    for push in pushes:
        print(f"    Ben's phone: “{push['title']}” — {push['body']}")
    mine = [e for e in dispatch.outbox.emails() if e.to == f"{ana.lower()}@example.com"]
    if mine:
        print_email(mine[0], "\nAna's e-mail, as SES received it")
    _send(ingest, dispatch.clock.now(), [(ana, 0, "purchase", {"order_id": "O-ANA-1", "revenue": 59.9, "items": [
        {"product_id": "P00007", "category": "tops", "price": 34.9}]})])  # fmt: skip
    links = [i for i in dispatch.ledger() if i["pid"] == pids.pid(ana) and i["sk"].startswith("c#")]
    for link in links:
        arms = json.loads(link["experiments"])
        print(
            f"\nAna buys: order of {link['revenue_cents'] / 100:.2f} linked to decision {link['decision_id']} "
            f"({link['offer_id']}, {link['outcome']}, arms {arms}), as lift reports will read it"
        )
    return ana


def _send(ingest: IngestPipeline, now: datetime, specs: list[tuple[str, float, str, dict[str, Any]]]) -> None:
    """(customer, minutes from now, event type, properties) → the site's events, through Kinesis."""
    ingest.send_events(
        {
            "event_id": f"demo-{uuid.uuid4().hex}",
            "event_type": kind,
            "occurred_at": (now + timedelta(minutes=minutes)).isoformat(),
            "customer_id": customer,
            "session_id": f"demo-{customer}",
            "properties": properties,
        }
        for customer, minutes, kind, properties in specs
    )
    ingest.run()


def _decisions(dispatch: DispatchPipeline, pid: str, since: datetime) -> list[dict[str, Any]]:
    found = [i for i in dispatch.ledger() if i["pid"] == pid and i["sk"].startswith("d#")]
    return sorted((i for i in found if int(i["at"]) >= since.timestamp() * 1000), key=lambda i: int(i["at"]))


def _ids(dispatch: DispatchPipeline, pid: str, since: datetime) -> set[str]:
    return {i["decision_id"] for i in _decisions(dispatch, pid, since)}
