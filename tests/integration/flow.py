"""A whole trigger → dispatch stack on the local AWS, at midday, with a clock tests advance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from microtarget.aws.contacts import ContactBook
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.contacts import Contact
from microtarget.decisions import assign_arm
from microtarget.identity import Pseudonymizer

from local.aws import LocalAws
from local.clock import LocalClock
from local.config import upload_config
from local.dispatch_pipeline import DispatchPipeline
from local.pipeline import IngestPipeline
from tests.helpers.events import event_dict

NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # 13:00 in Berlin: no quiet hours, whatever the hour the test runs


class Flow:
    def __init__(self, aws: LocalAws, logs: Path, campaigns: bytes | None = None) -> None:
        self.aws = aws
        self.clock = LocalClock(start=NOON).install()
        upload_config(aws, campaigns)
        self.ingest = IngestPipeline(aws, logs)
        self.dispatch = DispatchPipeline(aws, self.clock, logs)
        self.outbox = self.dispatch.outbox
        dynamodb = boto3.resource("dynamodb", endpoint_url=aws.endpoint)
        self.contacts = ContactBook(dynamodb.Table(aws.ref("ContactsTable")), aws.client("kms"), aws.ref("ContactsKey"))
        self.pseudonymizer: Pseudonymizer = pseudonymizer_from_secret(aws.ref("PseudonymSecret"))

    def now(self) -> datetime:
        return self.clock.now()

    def customer(self, name: str, consent: bool = True, **contact: Any) -> str:
        """A customer with an e-mail address (and e-mail/push consent unless told otherwise)."""
        details = {"email": f"{name}@example.com", "first_name": name.title(), **contact}
        self.contacts.put(self.pid(name), Contact(**details))
        self.events(("consent_updated", name, -60, {"consents": dict.fromkeys(("email", "push", "webhook"), consent)}))
        return name

    def pid(self, name: str) -> str:
        return self.pseudonymizer.pid(name)

    def events(self, *specs: tuple[str, str, float, dict[str, Any]]) -> None:
        """(kind, customer, minutes from now, properties) → through Kinesis and ingest."""
        self.ingest.send_events([event_dict(k, customer=c, at=self.now(), minutes=m, **p) for k, c, m, p in specs])
        self.ingest.run()

    def decisions(self, name: str) -> list[dict[str, Any]]:
        return [i for i in self.dispatch.ledger() if i["pid"] == self.pid(name) and i["sk"].startswith("d#")]

    def in_arm(self, experiment: Any, arm: str, prefix: str, *others: Any) -> str:
        """A customer name whose pid falls in this experiment arm (and in the treatment of `others`)."""
        return next(
            f"{prefix}{i}" for i in range(10_000)
            if assign_arm(experiment, self.pid(f"{prefix}{i}")) == arm
            and all(assign_arm(other, self.pid(f"{prefix}{i}")) == "treatment" for other in others)
        )  # fmt: skip

    def close(self) -> None:
        self.clock.uninstall()


def flow_of(aws: LocalAws, logs: Path, campaigns: bytes | None = None) -> Iterator[Flow]:
    flow = Flow(aws, logs, campaigns)
    try:
        yield flow
    finally:
        flow.close()


def codes(flow: Flow, name: str) -> list[tuple[str, str]]:
    return sorted((d["outcome"], d["code"]) for d in flow.decisions(name))
