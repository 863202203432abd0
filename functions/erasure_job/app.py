"""The privacy job. Hourly (or on demand, `aws lambda invoke`): for every open erasure, finish
what its request left and search the dead letters, the data lake and the outputs. Daily, with
{"task": "retention"}: the sweep TTL cannot do alone (contact details whose customer is gone)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.edge.privacy_root import ErasureJob
from microtarget.edge.settings import ErasureJobSettings, load_settings
from microtarget.edge.wiring import Aws

logger, metrics = Logger(), Metrics()


@cache
def job() -> ErasureJob:
    return ErasureJob(load_settings(ErasureJobSettings), Aws())


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if isinstance(event, dict) and event.get("task") == "retention":
        swept = job().retention()
        metrics.add_metric(name="ContactsExpired", unit="Count", value=swept["contacts_removed"])
        logger.info("retention sweep", extra=swept)
        return swept
    summary = job().run()
    metrics.add_metric(name="ErasuresCompleted", unit="Count", value=summary["completed"])
    logger.info("erasure pass", **summary)
    return summary
