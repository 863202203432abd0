"""Firehose → the data lake: each stream record archived with the pid in place of the customer id
(microtarget.archive); a record ingest refuses, or one from before its customer's erasure, is
dropped here."""

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
from microtarget.archive import lake_records
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.edge.event_source import check_firehose
from microtarget.edge.settings import ArchiveSettings, load_settings
from microtarget.edge.wiring import Aws
from microtarget.identity import Pseudonymizer

logger, metrics = Logger(), Metrics()


@cache
def root() -> tuple[Pseudonymizer, DynamoProfileStore]:
    settings = load_settings(ArchiveSettings)
    return pseudonymizer_from_secret(settings.pseudonym_secret_id), DynamoProfileStore(
        Aws().table(settings.profiles_table)
    )


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    check_firehose(event)
    records = list(KinesisFirehoseEvent(event).records)
    pseudonymizer, profiles = root()
    arrivals = [datetime.fromtimestamp(r.approximate_arrival_timestamp / 1000, UTC) for r in records]
    lines = lake_records([(r.data_as_bytes, at) for r, at in zip(records, arrivals, strict=True)],
                         pseudonymizer, profiles.erased_before)  # fmt: skip
    response = KinesisFirehoseDataTransformationResponse()
    for record, line in zip(records, lines, strict=True):
        if line is None:
            response.add_record(KinesisFirehoseDataTransformationRecord(record.record_id, "Dropped"))
        else:
            data = base64.b64encode(line).decode()
            response.add_record(KinesisFirehoseDataTransformationRecord(record.record_id, "Ok", data))
    dropped = lines.count(None)
    metrics.add_metric("ArchivedRecords", MetricUnit.Count, len(lines) - dropped)
    metrics.add_metric("ArchiveDropped", MetricUnit.Count, dropped)
    return response.asdict() if response.records else {"records": []}
