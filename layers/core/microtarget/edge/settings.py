"""Typed settings per function, read once from the environment; errors name the variable."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, Field, ValidationError

from microtarget.errors import ConfigurationError


class ServingConfig(BaseModel):
    """Where campaigns, templates and models come from, and how often they are re-read."""

    models_bucket: str
    campaigns_key: str = "config/campaigns.yaml"
    templates_prefix: str = "config/templates/"
    model_environment: str = "prod"
    refresh_seconds: float = Field(60, ge=1, le=3600)


class TriggerQueueConfig(BaseModel):
    trigger_queue_url: str
    trigger_queue_arn: str
    schedule_group: str = "default"
    scheduler_role_arn: str = ""


class IngestSettings(BaseModel):
    profiles_table: str
    rejected_queue_url: str
    data_lake_bucket: str
    pseudonym_secret_id: str
    rejection_index_table: str  # which records were dead-lettered already (the idempotency table)
    dead_letter_key_id: str = ""  # seals oversized rejected records in S3 (the queue is sealed by SQS)
    late_tolerance_hours: int = Field(72, ge=1, le=720)
    profile_write_threads: int = Field(8, ge=1, le=64)
    profile_retention_days: int = Field(730, ge=30, le=3650)  # inactive this long: the profile goes (TTL)


class ArchiveSettings(BaseModel):
    pseudonym_secret_id: str
    profiles_table: str  # the tombstones of erased customers


class ReactionSettings(ServingConfig, TriggerQueueConfig):
    """Ingest's triggers and attribution (absent: ingest only keeps profiles)."""

    ledger_table: str
    ledger_retention_days: int = Field(180, ge=30, le=730)


class DispatchSettings(ServingConfig, TriggerQueueConfig):
    profiles_table: str
    ledger_table: str
    contacts_table: str
    idempotency_table: str  # also read at import by the handler's idempotency decorator
    dead_letter_queue_url: str
    sender_address: str
    event_bus: str
    ledger_retention_days: int = Field(180, ge=30, le=730)


def load_settings[T: BaseModel](model: type[T], environ: Mapping[str, str] | None = None) -> T:
    """Build `model` from upper-cased environment variables of the same names."""
    env = os.environ if environ is None else environ
    values = {name: env[name.upper()] for name in model.model_fields if name.upper() in env}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"{model.__name__} is incomplete: {problems}") from None


class ApiSettings(ServingConfig):
    profiles_table: str
    events_stream: str
    pseudonym_secret_id: str
    ledger_table: str | None = None  # send history for frequency caps
    ledger_retention_days: int = Field(180, ge=30, le=730)


class PrivacySettings(BaseModel):
    """The personal-data routes (erasure, access) and the erasure job."""

    pseudonym_secret_id: str
    privacy_table: str
    profiles_table: str
    ledger_table: str
    contacts_table: str
    contacts_key_id: str
    events_stream: str = ""  # consent changes go on it (the privacy routes)
    schedule_group: str = "default"
    profile_retention_days: int = Field(730, ge=30, le=3650)
    ledger_retention_days: int = Field(180, ge=30, le=730)
    contact_retention_days: int = Field(30, ge=1, le=3650)  # a contact whose customer is gone, kept this long


class ErasureJobSettings(PrivacySettings):
    """The pseudonym key too: Firehose's error output holds records whole, found by their pid."""

    data_lake_bucket: str
    rejected_queue_url: str
    dead_letter_queue_url: str


class RekeySettings(PrivacySettings):
    """After a key rotation: every store keyed by pid, and the lake."""

    data_lake_bucket: str
