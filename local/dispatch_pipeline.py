"""The dispatch path on the local AWS: trigger queue (and due schedules) → dispatch →
SES / SNS / EventBridge, with the ledger and the dead letters readable afterwards."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from local.aws import LocalAws
from local.clock import LocalClock
from local.lambda_runtime import LocalFunction
from local.outbox import Outbox
from local.sqs_source import SqsEventSource


class DispatchPipeline:
    def __init__(self, aws: LocalAws, clock: LocalClock, log_dir: Path | None = None) -> None:
        self.aws, self.clock = aws, clock
        self.outbox = Outbox(aws)
        self.function = LocalFunction(aws, "DispatchFunction", log_dir)
        self.source = SqsEventSource(aws, self.function, clock, aws.ref("TriggerSchedules"))

    def run(self) -> int:
        """Deliver everything due at the clock's now; returns how many messages were handled."""
        return self.source.drain()

    def later(self, **delta: float) -> int:
        """Move the clock forward (minutes=15, days=3 …) and deliver what became due."""
        self.clock.advance(**delta)
        return self.run()

    def ledger(self) -> list[dict[str, Any]]:
        return ledger_items(self.aws)

    def outcomes(self) -> Counter[tuple[str, str]]:
        """(outcome, code) counts over the ledger's decisions."""
        decisions = [item for item in self.ledger() if item["sk"].startswith("d#")]
        return Counter((item["outcome"], item["code"]) for item in decisions)

    def dead_letters(self) -> list[dict[str, Any]]:
        sqs, url = self.aws.client("sqs"), self.aws.ref("TriggerDeadLetterQueue")
        found: list[dict[str, Any]] = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
            if not batch:
                return found
            found += [json.loads(message["Body"]) for message in batch]


def ledger_items(aws: LocalAws) -> list[dict[str, Any]]:
    return aws.scan("LedgerTable")
