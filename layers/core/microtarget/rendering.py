"""Message templates: Jinja2, sandboxed, HTML autoescaped, strict about undefined names.

Templates live beside the campaigns file, one folder per offer template, and are reloaded on
the same TTL (edits go live without a deploy):

    config/templates/<template>/subject.txt   e-mail subject
    config/templates/<template>/body.html     e-mail HTML (autoescaped)
    config/templates/<template>/body.txt      e-mail text part
    config/templates/<template>/push.txt      push notification text

A template that is missing, does not parse or names something the context lacks is a
PermanentError naming the file: that message goes to the dead-letter queue with its reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from jinja2 import DictLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from microtarget.errors import PermanentError, RetryableError

FILES = {"email": ("subject.txt", "body.html", "body.txt"), "push": ("push.txt",)}


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str = ""
    html: str = ""
    text: str = ""


def environment(sources: dict[str, str]) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=DictLoader(sources),
        autoescape=lambda name: bool(name and name.endswith(".html")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(env: SandboxedEnvironment, template: str, channel: str, context: dict[str, Any]) -> Rendered:
    parts = []
    for file in FILES.get(channel, ()):
        name = f"{template}/{file}"
        try:
            parts.append(env.get_template(name).render(context).strip())
        except TemplateError as exc:
            raise PermanentError("template_error", f"{type(exc).__name__}: {exc}", name) from None
    if channel == "email":
        subject, html, text = parts
        return Rendered(" ".join(subject.split()), html, text)
    return Rendered(text=parts[0] if parts else "")


class TemplateStore:
    """The templates under an S3 prefix, as one sandboxed environment, refreshed on a TTL."""

    def __init__(
        self, s3: Any, bucket: str, prefix: str = "config/templates/", ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._s3, self._bucket, self._prefix, self._ttl, self._clock = s3, bucket, prefix, ttl_seconds, clock
        self._env: SandboxedEnvironment | None = None
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
