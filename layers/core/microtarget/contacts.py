"""A customer's contact details (e-mail address, push endpoint, time zone): what dispatch may
use to reach them. Where and how they are sealed: microtarget.aws.contacts."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    push_endpoint: (
        Annotated[str, Field(max_length=512, pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:endpoint/")] | None
    ) = None
    first_name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    timezone: str | None = None
    locale: Annotated[str, Field(max_length=35)] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def address(self, channel: str) -> str | None:
        return {"email": self.email, "push": self.push_endpoint}.get(channel)
