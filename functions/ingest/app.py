"""Kinesis → profiles (→ triggers, attribution). Thin adapter: decode each record, commit the
batch once, report partial failures."""

from __future__ import annotations

import gc

gc.disable()  # init builds only long-lived objects: collection passes during import are wasted cold start

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.edge import kinesis_batch
from microtarget.edge.ingest_root import ingest_service, reaction_settings
from microtarget.edge.reporting import problem_reporter, report_batch
from microtarget.edge.settings import IngestSettings, load_settings
from microtarget.edge.wiring import Aws
from microtarget.ingest import BatchReport, IngestService

logger = Logger()
metrics = Metrics()


@cache
def service() -> IngestService:
    settings, reactions = load_settings(IngestSettings), reaction_settings()
    return ingest_service(settings, reactions, Aws(), problem_reporter(metrics, logger))


def report(result: BatchReport) -> None:
    report_batch(result, metrics, logger)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    gc.disable()  # a batch makes short-lived objects that reference counting frees: collections only rescan them
    try:
        return kinesis_batch.process(event, service(), report)
    finally:
        gc.enable()


gc.freeze()  # what init built stays out of every later collection
gc.enable()
