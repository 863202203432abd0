"""Fold archived history into profiles through the same ingest service, one write per customer.

This is what a first deployment does with the history it already has (the archive, or a
transactions CSV imported by `python -m training import-csv`): no Kinesis round trip needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import boto3
from microtarget.aws.dead_letters import SqsDeadLetters
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.ingest import BatchReport, IngestService, RawRecord

from local.aws import LocalAws


def backfill(aws: LocalAws, events: Iterable[dict[str, Any]], from_lake: bool = False) -> BatchReport:
    """`from_lake`: the events as the data lake holds them (keyed by pid), as a runbook backfill reads them."""
    table = boto3.resource("dynamodb", endpoint_url=aws.endpoint).Table(aws.ref("ProfilesTable"))
    service = IngestService(
        DynamoProfileStore(table, write_threads=8),
        SqsDeadLetters(aws.client("sqs"), aws.ref("RejectedEventsQueue"), aws.client("s3"), aws.ref("DataLakeBucket")),
        pseudonymizer_from_secret(aws.ref("PseudonymSecret")),
        from_lake=from_lake,
    )
    records = (
        RawRecord(json.dumps(event).encode(), f"backfill-{i}", {"sequence_number": f"backfill-{i}"})
        for i, event in enumerate(events)
    )
    return service.commit(service.decode(records))
