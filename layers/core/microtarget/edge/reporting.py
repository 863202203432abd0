"""What the functions report about themselves beyond their own logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def problem_reporter(metrics: Any, logger: Any) -> Callable[[str, str], None]:
    """What ServingState calls on a problem (a campaigns file that stopped validating, a model
    refused): one metric named for it, and a warning with the detail."""

    def report(name: str, detail: str) -> None:
        metrics.add_metric(name=name, unit="Count", value=1)
        logger.warning(detail)

    return report
