"""The dispatch function's services, from DispatchSettings."""

from __future__ import annotations

from dataclasses import dataclass

from microtarget.aws.channels import SENDER_CONFIG, Channels
from microtarget.aws.contacts import ContactBook
from microtarget.aws.dead_letters import SqsDeadLetters
from microtarget.aws.ledger import Ledger
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.send_guard import SendGuard
from microtarget.aws.templates import TemplateStore
from microtarget.dispatch import DispatchService
from microtarget.edge.settings import DispatchSettings
from microtarget.edge.wiring import Aws, Report, serving_state, trigger_queue


@dataclass(frozen=True, slots=True)
class DispatchRoot:
    service: DispatchService
    dead_letters: SqsDeadLetters  # messages that can never succeed, with their reason


def dispatch_root(config: DispatchSettings, aws: Aws, report: Report) -> DispatchRoot:
    return DispatchRoot(_service(config, aws, report), SqsDeadLetters(aws.client("sqs"), config.dead_letter_queue_url))


def _service(config: DispatchSettings, aws: Aws, report: Report) -> DispatchService:
    channels = Channels(
        aws.client("ses", config=SENDER_CONFIG), aws.client("sns", config=SENDER_CONFIG),
        aws.client("events", config=SENDER_CONFIG), config.sender_address, config.event_bus,
    )  # fmt: skip
    return DispatchService(
        serving_state(config, aws, report),
        TemplateStore(aws.client("s3"), config.models_bucket, config.templates_prefix, config.refresh_seconds),
        DynamoProfileStore(aws.table(config.profiles_table)),
        ContactBook(aws.table(config.contacts_table), aws.client("kms")),
        Ledger(aws.table(config.ledger_table), retention_days=config.ledger_retention_days),
        channels,
        trigger_queue(config, aws),
        SendGuard(aws.table(config.ledger_table), config.ledger_retention_days),
    )
