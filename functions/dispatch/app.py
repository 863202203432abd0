"""Trigger queue → one message per due trigger. Thin adapter: parse, send each trigger once
(Powertools idempotency on the trigger id), dead-letter what can never succeed with its
reason, and let SQS retry the rest (partial batch failures)."""

from __future__ import annotations

import gc

gc.disable()  # init builds only long-lived objects: collection passes during import are wasted cold start

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.edge import snapstart
from microtarget.edge.dispatch_root import DispatchRoot, dispatch_root
from microtarget.edge.event_source import check_source
from microtarget.edge.reporting import problem_reporter
from microtarget.edge.settings import DispatchSettings, load_settings
from microtarget.edge.wiring import Aws
from microtarget.errors import PermanentError
from microtarget.ports import Rejection
from microtarget.triggers import TriggerMessage, owner_of
from microtarget.validation import as_reason
from pydantic import ValidationError

logger = Logger()
metrics = Metrics()
settings = load_settings(DispatchSettings)  # at init: an incomplete environment fails before any message
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# a shortcut for redeliveries only: SendGuard's claim in the ledger is what keeps a send single
idempotency = IdempotencyConfig("idempotency_key", raise_on_no_idempotency_key=True, expires_after_seconds=48 * 3600)
persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)


@cache
def root() -> DispatchRoot:
    return dispatch_root(settings, Aws(), problem_reporter(metrics, logger))


@idempotent_function(data_keyword_argument="job", persistence_store=persistence, config=idempotency)
def dispatch_once(job: dict[str, Any]) -> dict[str, str]:
    """Runs once per trigger id (and deferral): a redelivery gets the recorded outcome back."""
    return root().service.handle(job["message"]).summary()


def record_handler(record: SQSRecord) -> dict[str, str]:
    try:
        message = TriggerMessage.model_validate_json(record.body)
        result = dispatch_once(job={"idempotency_key": message.idempotency_key, "message": message})
    except (PermanentError, ValidationError) as error:
        reason = error if isinstance(error, PermanentError) else as_reason("invalid_message", error)
        source = {"message_id": record.message_id, "event_source_arn": record.event_source_arn or ""}
        root().dead_letters.send([Rejection(reason, record.body.encode(), source, owner_of(record.body))])
        metrics.add_metric("DispatchDeadLettered", MetricUnit.Count, 1)
        logger.warning("message dead-lettered", code=reason.code, field=reason.field, reason=reason.message)
        return {"outcome": "dead_lettered", "code": reason.code}
    metrics.add_metric(f"Dispatch{result['outcome'].title()}", MetricUnit.Count, 1)
    logger.info("trigger dispatched", decision_id=result["decision_id"], outcome=result["outcome"], code=result["code"])
    return result


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    check_source(event, "aws:sqs", "the dispatch function")
    idempotency.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


def warm() -> None:
    root().service.state.campaigns()
    root().service.state.models()
    root().service.templates.environment()


def expire() -> None:
    root().service.state.expire()
    root().service.templates.expire()


snapstart.prepare(warm, expire)  # SnapStart: load into the snapshot, re-read after each restore
gc.freeze()  # what init built stays out of every later collection
gc.enable()
