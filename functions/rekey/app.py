"""The rekey job, on demand after a pseudonymization key is added (README, key rotation):
`aws lambda invoke --function-name <RekeyFunction> --payload '{}' out.json`, again until it
answers "complete": true; {"segment": i, "segments": n} splits the tables over n invocations."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext
from microtarget.edge.rekey_root import RekeyJob, RekeyRequest
from microtarget.edge.settings import RekeySettings, load_settings
from microtarget.edge.wiring import Aws
from pydantic import ValidationError

logger, metrics = Logger(), Metrics()


@cache
def job() -> RekeyJob:
    return RekeyJob(load_settings(RekeySettings), Aws())


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = RekeyRequest.model_validate(event or {})
    except ValidationError as exc:  # a wrong payload: say which field, run nothing
        problems = [{"field": ".".join(map(str, e["loc"])) or "event", "reason": e["msg"]} for e in exc.errors()]
        logger.error("rekey request refused", extra={"problems": problems})
        return {"refused": problems}
    summary = job().run(request, lambda: context.get_remaining_time_in_millis() / 1000)
    metrics.add_metric(name="ItemsRekeyed", unit="Count", value=sum(summary["moved"].values()))
    logger.info("rekey pass", extra=summary)
    return summary
