"""Lambda's SQS event source mapping, emulated, plus the EventBridge Scheduler that moto
stores but never fires.

`drain()` delivers every visible message in batches of BatchSize with the real event shape,
deletes what the handler did not report as failed (ReportBatchItemFailures) and leaves the
failures to reappear after the visibility timeout, where moto's redrive policy moves them to
the dead-letter queue after maxReceiveCount receives. Delays and timeouts follow the shared
LocalClock, so `clock.advance(minutes=15)` followed by `drain()` is "15 minutes later".
Due one-time schedules (`at(...)`) are delivered to their SQS target and deleted first,
as ActionAfterCompletion=DELETE does.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from local.aws import REGION, LocalAws
from local.clock import LocalClock
from local.lambda_runtime import LocalFunction


class SqsEventSource:
    def __init__(self, aws: LocalAws, function: LocalFunction, clock: LocalClock, schedule_group: str = "") -> None:
        events = {name: spec for name, spec in function.spec.get("Events", {}).items() if spec["Type"] == "SQS"}
        props = aws.resolver.resolve(next(iter(events.values()))["Properties"])
        self.aws, self.function, self.clock = aws, function, clock
        self.queue_arn: str = props["Queue"]
        self.batch_size = int(props.get("BatchSize", 10))
        self.reports_failures = "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
        self.sqs, self.scheduler = aws.client("sqs"), aws.client("scheduler")
        self.queue_url = self.sqs.get_queue_url(QueueName=self.queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
        self.schedule_group = schedule_group
        self._schedules: dict[str, dict[str, Any]] = {}  # one-time schedules never change: read each once
        self.stats: Counter[str] = Counter()

    def drain(self) -> int:
        """Deliver everything due now (schedules first); returns the messages delivered."""
        self.fire_schedules()
        delivered = 0
        while True:
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size, AttributeNames=["All"]
            )
            messages = reply.get("Messages", [])
            if not messages:
                return delivered
            delivered += len(messages)
            self._deliver(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(message) for message in messages]}
        self.stats["invocations"] += 1
        try:
            reply = self.function.invoke(event) or {}
        except Exception:  # the whole batch failed: every message comes back after its timeout
            self.stats["failed"] += len(messages)
            return
        failed = (
            {item["itemIdentifier"] for item in reply.get("batchItemFailures", [])} if self.reports_failures else set()
        )
        done = [m for m in messages if m["MessageId"] not in failed]
        self.stats["failed"] += len(failed)
        self.stats["succeeded"] += len(done)
        if done:
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }

    def fire_schedules(self) -> int:
        """Deliver due one-time schedules to their queue and delete them (moto never fires them)."""
        if not self.schedule_group:
            return 0
        fired = 0
        now = self.clock.now()
        for summary in self._list():
            name = summary["Name"]
            if name not in self._schedules:
                self._schedules[name] = self.scheduler.get_schedule(GroupName=self.schedule_group, Name=name)
            schedule = self._schedules[name]
            expression = schedule["ScheduleExpression"]
            if not expression.startswith("at("):
                continue
            due = datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)
            if due > now:
                continue
            target = schedule["Target"]
            url = self.sqs.get_queue_url(QueueName=target["Arn"].rsplit(":", 1)[-1])["QueueUrl"]
            self.sqs.send_message(QueueUrl=url, MessageBody=target["Input"])
            self.scheduler.delete_schedule(GroupName=self.schedule_group, Name=name)
            del self._schedules[name]
            fired += 1
        self.stats["schedules_fired"] += fired
        return fired

    def pending_schedules(self) -> int:
        return len(self._list()) if self.schedule_group else 0

    def _list(self) -> list[dict[str, Any]]:
        pages = self.scheduler.get_paginator("list_schedules").paginate(GroupName=self.schedule_group)
        return [summary for page in pages for summary in page.get("Schedules", [])]
