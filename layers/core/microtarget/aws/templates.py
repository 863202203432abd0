"""The message templates under an S3 prefix (config/templates/<template>/<file>), as one sandboxed
environment, refreshed on a TTL so edits go live without a deploy."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from jinja2.sandbox import SandboxedEnvironment

from microtarget.errors import RetryableError
from microtarget.rendering import environment


class TemplateStore:
    def __init__(
        self, s3: Any, bucket: str, prefix: str = "config/templates/", ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._s3, self._bucket, self._prefix, self._ttl, self._clock = s3, bucket, prefix, ttl_seconds, clock
        self._env: SandboxedEnvironment | None = None
        self._at = float("-inf")

    def expire(self) -> None:
        self._at = float("-inf")

    def environment(self) -> SandboxedEnvironment:
        if self._env is None or self._clock() - self._at >= self._ttl:
            try:
                self._env = environment(self._load())
                self._at = self._clock()
            except (ClientError, BotoCoreError) as exc:
                if self._env is None:
                    raise RetryableError(f"message templates unavailable: {exc}") from exc
        return self._env

    def _load(self) -> dict[str, str]:
        sources: dict[str, str] = {}
        for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=self._prefix):
            for item in page.get("Contents", []):
                body = self._s3.get_object(Bucket=self._bucket, Key=item["Key"])["Body"].read()
                sources[item["Key"][len(self._prefix) :]] = body.decode("utf-8")
        return sources
