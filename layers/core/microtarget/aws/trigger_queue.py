"""Put fired triggers on the trigger queue so they arrive when they are due.

Up to 15 minutes ahead: an SQS message with DelaySeconds. Further ahead: a one-time
EventBridge Scheduler schedule named after the trigger id that delivers the same message to
the same queue and deletes itself; a second schedule with that name is refused by the
service, which is exactly the idempotency a re-processed batch needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from microtarget.aws.calls import error_code
from microtarget.clock import from_ms

if TYPE_CHECKING:  # the event contract behind it costs the api's cold start ~30 ms
    from microtarget.triggers import TriggerMessage

MAX_SQS_DELAY_S = 900
SQS_BATCH = 10


def schedule_prefix(pid: str) -> str:
    """What a customer's schedule names start with (64 bits of the pid), so an erasure finds them."""
    return pid.partition("_")[2][:16] + "-"  # after the version prefix (c_, c2_, …)


def schedule_name(message: TriggerMessage) -> str:
    return schedule_prefix(message.pid) + message.idempotency_key.replace(".", "-")  # 52 of 64 characters


class TriggerQueue:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        scheduler: Any = None,
        schedule_group: str = "default",
        scheduler_role_arn: str = "",
    ) -> None:
        self._sqs, self.queue_url, self.queue_arn = sqs, queue_url, queue_arn
        self._scheduler, self._group, self._role = scheduler, schedule_group, scheduler_role_arn

    def send(self, messages: Sequence[TriggerMessage], now_ms: int) -> set[str]:
        """Queue or schedule each message; the trigger ids that could not be handed over."""
        failed: set[str] = set()
        soon = [m for m in messages if m.due_ms - now_ms <= MAX_SQS_DELAY_S * 1000]
        for start in range(0, len(soon), SQS_BATCH):
            failed |= self._send_batch(soon[start : start + SQS_BATCH], now_ms)
        for message in messages:
            if message.due_ms - now_ms > MAX_SQS_DELAY_S * 1000 and not self._schedule(message):
                failed.add(message.trigger_id)
        return failed

    def _send_batch(self, batch: Sequence[TriggerMessage], now_ms: int) -> set[str]:
        entries = [
            {
                "Id": str(i),
                "MessageBody": message.model_dump_json(),
                "DelaySeconds": max(0, min(MAX_SQS_DELAY_S, math.ceil((message.due_ms - now_ms) / 1000))),
            }
            for i, message in enumerate(batch)
        ]
        try:
            reply = self._sqs.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        except (ClientError, BotoCoreError):
            return {message.trigger_id for message in batch}
        return {batch[int(entry["Id"])].trigger_id for entry in reply.get("Failed", [])}

    def _schedule(self, message: TriggerMessage) -> bool:
        if self._scheduler is None:
            return False
        at = from_ms(message.due_ms).strftime("%Y-%m-%dT%H:%M:%S")
        try:
            self._scheduler.create_schedule(
                Name=schedule_name(message),
                GroupName=self._group,
                ScheduleExpression=f"at({at})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                Target={"Arn": self.queue_arn, "RoleArn": self._role, "Input": message.model_dump_json()},
            )
        except ClientError as exc:
            return error_code(exc) == "ConflictException"  # already scheduled: the same trigger
        except BotoCoreError:
            return False
        return True
