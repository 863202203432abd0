"""The adapters more than one function builds, each built in one place from its settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import boto3

from microtarget.aws.serving import ServingState
from microtarget.aws.trigger_queue import TriggerQueue
from microtarget.edge.settings import ServingConfig, TriggerQueueConfig

Report = Callable[[str, str], None]  # (metric name, detail): see edge.reporting.problem_reporter


@cache
def dynamodb() -> Any:
    return boto3.resource("dynamodb")


def table(name: str) -> Any:
    return dynamodb().Table(name)


def serving_state(config: ServingConfig, report: Report) -> ServingState:
    return ServingState(
        boto3.client("s3"), config.models_bucket, config.campaigns_key, config.model_environment,
        config.refresh_seconds, on_problem=report,
    )  # fmt: skip


def trigger_queue(config: TriggerQueueConfig) -> TriggerQueue:
    return TriggerQueue(
        boto3.client("sqs"), config.trigger_queue_url, config.trigger_queue_arn,
        boto3.client("scheduler"), config.schedule_group, config.scheduler_role_arn,
    )  # fmt: skip
