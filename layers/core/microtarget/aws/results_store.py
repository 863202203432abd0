"""The newest results of each experiment, as `python -m training results` publishes them to the
models bucket (results/<experiment>/latest.json): what GET /v1/experiments/{id}/results serves."""

from __future__ import annotations

import json
import re
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from microtarget.aws.calls import error_code
from microtarget.errors import PermanentError, RetryableError

EXPERIMENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # as the campaigns file allows


class ResultsStore:
    def __init__(self, s3: Any, bucket: str, prefix: str = "results/") -> None:
        self._s3, self._bucket, self._prefix = s3, bucket, prefix

    def latest(self, experiment_id: str) -> dict[str, Any] | None:
        """The newest results, or None when none were computed for this experiment."""
        if not EXPERIMENT_ID.fullmatch(experiment_id):
            raise PermanentError("invalid_field", "is not an experiment id (letters, digits, - and _)", "experiment_id")
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=f"{self._prefix}{experiment_id}/latest.json")["Body"]
            return dict(json.loads(body.read()))
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise RetryableError(f"experiment results unavailable: {exc}") from exc
        except BotoCoreError as exc:
            raise RetryableError(f"experiment results unavailable: {exc}") from exc
