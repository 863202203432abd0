"""Typed settings per function, read once from the environment; errors name the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, Field, ValidationError

from microtarget.errors import ConfigurationError


class IngestSettings(BaseModel):
    profiles_table: str
    rejected_queue_url: str
    data_lake_bucket: str
    pseudonym_secret_id: str
    late_tolerance_hours: int = Field(72, ge=1, le=720)
    profile_write_threads: int = Field(8, ge=1, le=64)


def load_settings[T: BaseModel](model: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build `model` from upper-cased environment variables of the same names."""
    env = os.environ if environ is None else environ
    values = {name: env[name.upper()] for name in model.model_fields if name.upper() in env}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"{model.__name__} is incomplete: {problems}") from None


class ApiSettings(BaseModel):
    profiles_table: str
    models_bucket: str
    events_stream: str
    pseudonym_secret_id: str
    campaigns_key: str = "config/campaigns.yaml"
    model_environment: str = "prod"
    refresh_seconds: float = Field(60, ge=1, le=3600)
