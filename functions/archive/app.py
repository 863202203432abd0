"""Firehose → the data lake: each stream record archived with the pid in place of the customer id
(microtarget.archive); a record ingest refuses is dropped here, since ingest dead-letters it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import (
    KinesisFirehoseDataTransformationRecord,
    KinesisFirehoseDataTransformationResponse,
    KinesisFirehoseEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.archive import lake_record
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.edge.event_source import check_firehose
from microtarget.edge.settings import ArchiveSettings, load_settings
from microtarget.identity import Pseudonymizer

logger, metrics = Logger(), Metrics()


@cache
def pseudonymizer() -> Pseudonymizer:
    return pseudonymizer_from_secret(load_settings(ArchiveSettings).pseudonym_secret_id)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    check_firehose(event)
    response, dropped = KinesisFirehoseDataTransformationResponse(), 0
    for record in KinesisFirehoseEvent(event).records:
        arrived = datetime.fromtimestamp(record.approximate_arrival_timestamp / 1000, UTC)
        line = lake_record(record.data_as_bytes, pseudonymizer(), arrived)
        if line is None:
            dropped += 1
            response.add_record(KinesisFirehoseDataTransformationRecord(record.record_id, "Dropped"))
        else:
            data = base64.b64encode(line).decode()
            response.add_record(KinesisFirehoseDataTransformationRecord(record.record_id, "Ok", data))
    metrics.add_metric("ArchivedRecords", MetricUnit.Count, len(response.records) - dropped)
    metrics.add_metric("ArchiveDropped", MetricUnit.Count, dropped)
    return response.asdict() if response.records else {"records": []}
