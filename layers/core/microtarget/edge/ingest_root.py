"""The ingest function's services, from IngestSettings (and ReactionSettings when the stack
has triggers)."""

from __future__ import annotations

import os

from microtarget.aws.dead_letters import RejectionIndex, SqsDeadLetters
from microtarget.aws.ledger import Ledger
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.edge.settings import IngestSettings, ReactionSettings, load_settings
from microtarget.edge.wiring import Aws, Report, serving_state, trigger_queue
from microtarget.ingest import IngestService
from microtarget.reactions import Reactions


def ingest_service(
    settings: IngestSettings, reactions: ReactionSettings | None, aws: Aws, report: Report
) -> IngestService:
    dead_letters = SqsDeadLetters(
        aws.client("sqs"), settings.rejected_queue_url, aws.client("s3"), settings.data_lake_bucket,
        RejectionIndex(aws.table(settings.rejection_index_table)), key_id=settings.dead_letter_key_id,
    )  # fmt: skip
    return IngestService(
        DynamoProfileStore(
            aws.table(settings.profiles_table), settings.profile_write_threads, settings.profile_retention_days
        ),
        dead_letters,
        pseudonymizer_from_secret(settings.pseudonym_secret_id),
        tolerance_ms=settings.late_tolerance_hours * 3_600_000,
        reactions=None if reactions is None else _reactions(reactions, aws, report),
    )


def reaction_settings() -> ReactionSettings | None:
    """A stack without a trigger queue keeps profiles only."""
    return load_settings(ReactionSettings) if "TRIGGER_QUEUE_URL" in os.environ else None


def _reactions(config: ReactionSettings, aws: Aws, report: Report) -> Reactions:
    return Reactions(
        serving_state(config, aws, report),
        trigger_queue(config, aws),
        Ledger(aws.table(config.ledger_table), retention_days=config.ledger_retention_days),
    )
