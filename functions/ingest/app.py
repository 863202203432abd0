"""Kinesis → profiles (→ triggers, attribution). Thin adapter: decode each record, commit the
batch, report partial failures."""

from __future__ import annotations

import gc

gc.disable()  # init builds only long-lived objects: collection passes during import are wasted cold start

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.aws.dead_letters import RejectionIndex, SqsDeadLetters
from microtarget.aws.ledger import Ledger
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.aws.serving import ServingState
from microtarget.aws.trigger_queue import TriggerQueue
from microtarget.edge.kinesis_batch import CustomerBatchProcessor, raw_record
from microtarget.edge.reporting import problem_reporter
from microtarget.edge.settings import IngestSettings, ReactionSettings, load_settings
from microtarget.ingest import BatchReport, Decoded, IngestService
from microtarget.reactions import Reactions

logger = Logger()
metrics = Metrics()


_problem = problem_reporter(metrics, logger)


def reactions() -> Reactions | None:
    if "TRIGGER_QUEUE_URL" not in os.environ:
        return None
    config = load_settings(ReactionSettings)
    state = ServingState(
        boto3.client("s3"), config.models_bucket, config.campaigns_key, config.model_environment,
        config.refresh_seconds, on_problem=_problem,
    )  # fmt: skip
    queue = TriggerQueue(
        boto3.client("sqs"), config.trigger_queue_url, config.trigger_queue_arn,
        boto3.client("scheduler"), config.schedule_group, config.scheduler_role_arn,
    )  # fmt: skip
    return Reactions(state, queue, Ledger(boto3.resource("dynamodb").Table(config.ledger_table)))


@cache
def service() -> IngestService:
    settings = load_settings(IngestSettings)
    table = boto3.resource("dynamodb").Table(settings.profiles_table)
    index = RejectionIndex(boto3.resource("dynamodb").Table(settings.rejection_index_table))
    dead_letters = SqsDeadLetters(
        boto3.client("sqs"), settings.rejected_queue_url, boto3.client("s3"), settings.data_lake_bucket, index
    )
    return IngestService(
        DynamoProfileStore(table, settings.profile_write_threads),
        dead_letters,
        pseudonymizer_from_secret(settings.pseudonym_secret_id),
        tolerance_ms=settings.late_tolerance_hours * 3_600_000,
        reactions=reactions(),
    )


def record_handler(record: KinesisStreamRecord) -> Decoded:
    return service().decode(raw_record(record))


def commit(decoded: list[Decoded]) -> BatchReport:
    report = service().commit(decoded)
    metrics.add_metric("EventsAccepted", MetricUnit.Count, report.accepted)
    metrics.add_metric("EventsDuplicate", MetricUnit.Count, report.duplicates)
    # each bad record once: a replay's rejections were dead-lettered (and counted) the first time
    metrics.add_metric("EventsRejected", MetricUnit.Count, sum(report.rejected.values()) - report.rejected_before)
    metrics.add_metric("ProfilesWritten", MetricUnit.Count, report.profiles_written)
    metrics.add_metric("RecordsFailed", MetricUnit.Count, len(report.failed_sequence_numbers))
    metrics.add_metric("TriggersFired", MetricUnit.Count, sum(report.triggers.values()))
    metrics.add_metric("Conversions", MetricUnit.Count, report.conversions)
    metrics.add_metric("ProfilesCompacted", MetricUnit.Count, report.compacted)
    logger.info(
        "batch committed",
        accepted=report.accepted,
        duplicates=report.duplicates,
        rejected=dict(report.rejected),
        rejected_before=report.rejected_before,
        customers=report.customers,
        profiles_written=report.profiles_written,
        failed_records=len(report.failed_sequence_numbers),
        triggers=dict(report.triggers),
        stale_triggers=report.stale_triggers,
        conversions=report.conversions,
        compacted=report.compacted,
    )
    for failure in report.failures:  # each cause once per customer, for the operator's runbook
        logger.warning(
            "records failed, Lambda retries them",
            cause=failure.cause,
            customer_pid=failure.customer_pid,
            sequence_numbers=failure.sequence_numbers[:20],
            records=len(failure.sequence_numbers),
        )
    return report


processor = CustomerBatchProcessor(commit)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    gc.disable()  # a batch makes short-lived objects that reference counting frees: collections only rescan them
    try:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        gc.enable()


gc.freeze()  # what init built stays out of every later collection
gc.enable()
