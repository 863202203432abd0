"""The two error families: permanent (reject the record with its reason) and retryable."""

from __future__ import annotations


class MicrotargetError(Exception):
    """Base of every error the domain raises on purpose."""


class PermanentError(MicrotargetError):
    """The input can never succeed: reject it to the dead-letter destination with its reason."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {field + ': ' if field else ''}{message}")
        self.code = code
        self.field = field
        self.message = message

    def as_reason(self) -> dict[str, str | None]:
        return {"code": self.code, "field": self.field, "message": self.message}


class NotFound(MicrotargetError):
    """What was asked for does not exist (yet): an API answers 404 with the message."""


class RetryableError(MicrotargetError):
    """A dependency failed or a write raced: fail the record so the platform retries it."""


class ConfigurationError(MicrotargetError):
    """A setting is missing or malformed; names the setting."""


class SendUnconfirmed(RetryableError):
    """The request left but its answer did not come back: the provider may have accepted it."""
