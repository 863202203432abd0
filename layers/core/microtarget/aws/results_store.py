"""The newest results of each experiment, as `python -m training results` publishes them to the
models bucket (results/<experiment>/latest.json): what GET /v1/experiments/{id}/results serves."""

from __future__ import annotations

import json
import re
from typing import Any

from microtarget.aws.calls import object_or_none
from microtarget.campaigns import ID_PATTERN
from microtarget.errors import PermanentError

EXPERIMENT_ID = re.compile(ID_PATTERN)


class ResultsStore:
    def __init__(self, s3: Any, bucket: str, prefix: str = "results/") -> None:
        self._s3, self._bucket, self._prefix = s3, bucket, prefix

    def latest(self, experiment_id: str) -> dict[str, Any] | None:
        """The newest results, or None when none were computed for this experiment."""
        if not EXPERIMENT_ID.fullmatch(experiment_id):
            raise PermanentError("invalid_field", "is not an experiment id (letters, digits, - and _)", "experiment_id")
        key = f"{self._prefix}{experiment_id}/latest.json"
        body = object_or_none("experiment results", self._s3, self._bucket, key)
        return None if body is None else dict(json.loads(body))
