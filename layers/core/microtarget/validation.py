"""The validation rules more than one contract shares: pydantic's first problem as a reason,
time-zone names, and the sha256 check every published artifact passes before it is used."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ValidationError

from microtarget.errors import PermanentError


def first_problem(exc: ValidationError) -> tuple[str, str, tuple[Any, ...]]:
    """(pydantic's error type, its message, where) of the first error: the one a person needs first."""
    first = exc.errors(include_url=False)[0]
    return str(first["type"]), str(first["msg"]), tuple(first["loc"])


def dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(map(str, loc))


def known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(known_zone)]


def sha256_mismatch(body: bytes, manifest: dict[str, Any]) -> str | None:
    """Why `body` is not the artifact the manifest published, or None when it is."""
    digest = hashlib.sha256(body).hexdigest()
    return None if digest == manifest.get("sha256") else f"sha256 {digest[:12]}… does not match the manifest"


def as_reason(code: str, exc: ValidationError, whole: str = "body") -> PermanentError:
    """A contract's ValidationError as the PermanentError a dead letter or a 400 carries."""
    _kind, message, loc = first_problem(exc)
    return PermanentError(code, message, dotted(loc) or whole)
