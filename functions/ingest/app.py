"""Kinesis → profiles. Thin adapter: decode each record, commit the batch, report partial failures."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.dead_letters import SqsDeadLetters
from microtarget.identity import pseudonymizer_from_secret
from microtarget.ingest import BatchReport, Decoded, IngestService
from microtarget.kinesis_batch import CustomerBatchProcessor, raw_record
from microtarget.profile_store import DynamoProfileStore
from microtarget.settings import IngestSettings, load_settings

logger = Logger()
metrics = Metrics()


@cache
def service() -> IngestService:
    settings = load_settings(IngestSettings)
    table = boto3.resource("dynamodb").Table(settings.profiles_table)
    dead_letters = SqsDeadLetters(
        boto3.client("sqs"), settings.rejected_queue_url, boto3.client("s3"), settings.data_lake_bucket
    )
    return IngestService(
        DynamoProfileStore(table, settings.profile_write_threads),
        dead_letters,
        pseudonymizer_from_secret(settings.pseudonym_secret_id),
        tolerance_ms=settings.late_tolerance_hours * 3_600_000,
    )


def record_handler(record: KinesisStreamRecord) -> Decoded:
    return service().decode(raw_record(record))


def commit(decoded: list[Decoded]) -> BatchReport:
    report = service().commit(decoded)
    metrics.add_metric("EventsAccepted", MetricUnit.Count, report.accepted)
    metrics.add_metric("EventsDuplicate", MetricUnit.Count, report.duplicates)
    metrics.add_metric("EventsRejected", MetricUnit.Count, sum(report.rejected.values()))
    metrics.add_metric("ProfilesWritten", MetricUnit.Count, report.profiles_written)
    metrics.add_metric("RecordsFailed", MetricUnit.Count, len(report.failed_sequence_numbers))
    logger.info(
        "batch committed",
        accepted=report.accepted,
        duplicates=report.duplicates,
        rejected=dict(report.rejected),
        customers=report.customers,
        profiles_written=report.profiles_written,
        failed_records=len(report.failed_sequence_numbers),
    )
    return report


processor = CustomerBatchProcessor(commit)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
