"""A customer's contact details (e-mail address, push endpoint, time zone): what dispatch may
use to reach them. Where and how they are sealed: microtarget.aws.contacts."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from microtarget.validation import TimeZoneName


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    push_endpoint: (
        Annotated[str, Field(max_length=512, pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:endpoint/")] | None
    ) = None
    first_name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    timezone: TimeZoneName | None = None
    locale: Annotated[str, Field(max_length=35)] | None = None

    def address(self, channel: str) -> str | None:
        return {"email": self.email, "push": self.push_endpoint}.get(channel)
