"""Request shapes of the personal-data routes (the privacy function's only)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from microtarget.edge.api_models import Moment, _Model
from microtarget.events import Channel


class ConsentRequest(_Model):
    consents: Annotated[dict[Channel, bool], Field(min_length=1, description="granted (true) or denied, per channel")]
    source: Annotated[str, Field(min_length=1, max_length=64, description="where it was given: preference-center …")]
    at: Moment | None = Field(default=None, description="when it was given (ISO 8601 with zone); default now")
