"""Trigger queue → one message per due trigger. Thin adapter: parse, send each trigger once
(Powertools idempotency on the trigger id), dead-letter what can never succeed with its
reason, and let SQS retry the rest (partial batch failures)."""

from __future__ import annotations

import gc

gc.disable()  # init builds only long-lived objects: collection passes during import are wasted cold start

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.aws.channels import SENDER_CONFIG, Channels
from microtarget.aws.contacts import ContactBook
from microtarget.aws.dead_letters import SqsDeadLetters
from microtarget.aws.ledger import Ledger
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.send_guard import SendGuard
from microtarget.aws.serving import ServingState
from microtarget.aws.templates import TemplateStore
from microtarget.aws.trigger_queue import TriggerQueue
from microtarget.dispatch import DispatchService
from microtarget.edge.reporting import problem_reporter
from microtarget.edge.settings import DispatchSettings, load_settings
from microtarget.errors import PermanentError
from microtarget.ports import Rejection
from microtarget.triggers import TriggerMessage
from pydantic import ValidationError

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
idempotency = IdempotencyConfig(
    event_key_jmespath="idempotency_key",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=int(os.environ.get("IDEMPOTENCY_HOURS", "48")) * 3600,
)
persistence = DynamoDBPersistenceLayer(table_name=os.environ.get("IDEMPOTENCY_TABLE", "idempotency"))


@cache
def settings() -> DispatchSettings:
    return load_settings(DispatchSettings)


@cache
def service() -> DispatchService:
    config = settings()
    dynamodb = boto3.resource("dynamodb")
    problem = problem_reporter(metrics, logger)
    s3 = boto3.client("s3")
    state = ServingState(
        s3, config.models_bucket, config.campaigns_key, config.model_environment, config.refresh_seconds,
        on_problem=problem,
    )  # fmt: skip
    return DispatchService(
        state,
        TemplateStore(s3, config.models_bucket, config.templates_prefix, config.refresh_seconds),
        DynamoProfileStore(dynamodb.Table(config.profiles_table)),
        ContactBook(dynamodb.Table(config.contacts_table), boto3.client("kms")),
        Ledger(dynamodb.Table(config.ledger_table)),
        Channels(
            boto3.client("ses", config=SENDER_CONFIG),
            boto3.client("sns", config=SENDER_CONFIG),
            boto3.client("events", config=SENDER_CONFIG),
            config.sender_address,
            config.event_bus,
        ),
        TriggerQueue(
            boto3.client("sqs"),
            config.trigger_queue_url,
            config.trigger_queue_arn,
            boto3.client("scheduler"),
            config.schedule_group,
            config.scheduler_role_arn,
        ),
        SendGuard(dynamodb.Table(config.ledger_table)),
    )


@cache
def dead_letters() -> SqsDeadLetters:
    return SqsDeadLetters(boto3.client("sqs"), settings().dead_letter_queue_url)


@idempotent_function(data_keyword_argument="job", persistence_store=persistence, config=idempotency)
def dispatch_once(job: dict[str, Any]) -> dict[str, str]:
    """Runs once per trigger id (and deferral): a redelivery gets the recorded outcome back."""
    return service().handle(job["message"]).summary()


def record_handler(record: SQSRecord) -> dict[str, str]:
    settings()  # a missing setting fails loudly here, before anything is stored
    try:
        message = TriggerMessage.model_validate_json(record.body)
        result = dispatch_once(job={"idempotency_key": message.idempotency_key, "message": message})
    except (PermanentError, ValidationError) as error:
        reason = error if isinstance(error, PermanentError) else _invalid(error)
        source = {"message_id": record.message_id, "event_source_arn": record.event_source_arn or ""}
        dead_letters().send([Rejection(reason, record.body.encode(), source)])
        metrics.add_metric("DispatchDeadLettered", MetricUnit.Count, 1)
        logger.warning("message dead-lettered", code=reason.code, field=reason.field, reason=reason.message)
        return {"outcome": "dead_lettered", "code": reason.code}
    metrics.add_metric(f"Dispatch{result['outcome'].title()}", MetricUnit.Count, 1)
    logger.info("trigger dispatched", decision_id=result["decision_id"], outcome=result["outcome"], code=result["code"])
    return result


def _invalid(error: ValidationError) -> PermanentError:
    first = error.errors(include_url=False)[0]
    return PermanentError("invalid_message", str(first["msg"]), ".".join(map(str, first["loc"])) or "body")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


gc.freeze()  # what init built stays out of every later collection
gc.enable()
