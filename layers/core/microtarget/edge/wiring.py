"""The adapters more than one function builds, each built in one place from its settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3

from microtarget.aws.serving import ServingState
from microtarget.edge.settings import ServingConfig, TriggerQueueConfig

if TYPE_CHECKING:
    from microtarget.aws.trigger_queue import TriggerQueue

Report = Callable[[str, str], None]  # (metric name, detail): see edge.reporting.problem_reporter


class Aws:
    """The boto3 clients and tables of one function's root, from the environment it runs in."""

    def __init__(self) -> None:
        self._dynamodb: Any = None

    def table(self, name: str) -> Any:
        if self._dynamodb is None:  # one resource for all of a root's tables
            self._dynamodb = boto3.resource("dynamodb")
        return self._dynamodb.Table(name)

    def client(self, service: str, **kwargs: Any) -> Any:
        return boto3.client(service, **kwargs)


def serving_state(config: ServingConfig, aws: Aws, report: Report) -> ServingState:
    return ServingState(
        aws.client("s3"), config.models_bucket, config.campaigns_key, config.model_environment,
        config.refresh_seconds, on_problem=report,
    )  # fmt: skip


def trigger_queue(config: TriggerQueueConfig, aws: Aws) -> TriggerQueue:
    from microtarget.aws.trigger_queue import TriggerQueue  # ingest and dispatch only: not the api's cold start

    return TriggerQueue(
        aws.client("sqs"), config.trigger_queue_url, config.trigger_queue_arn,
        aws.client("scheduler"), config.schedule_group, config.scheduler_role_arn,
    )  # fmt: skip
