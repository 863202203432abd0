"""Kinesis → profiles (→ triggers, attribution). Thin adapter: decode each record, commit the
batch, report partial failures."""

from __future__ import annotations

import gc

gc.disable()  # init builds only long-lived objects: collection passes during import are wasted cold start

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.edge.ingest_root import ingest_service, reaction_settings
from microtarget.edge.kinesis_batch import CustomerBatchProcessor, raw_record
from microtarget.edge.reporting import problem_reporter, report_batch
from microtarget.edge.settings import IngestSettings, load_settings
from microtarget.ingest import BatchReport, Decoded, IngestService

logger = Logger()
metrics = Metrics()


@cache
def service() -> IngestService:
    return ingest_service(load_settings(IngestSettings), reaction_settings(), problem_reporter(metrics, logger))


def record_handler(record: KinesisStreamRecord) -> Decoded:
    return service().decode(raw_record(record))


def commit(decoded: list[Decoded]) -> BatchReport:
    report = service().commit(decoded)
    report_batch(report, metrics, logger)
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
