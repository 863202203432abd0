"""The dispatch function's services, from DispatchSettings."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from microtarget.aws.channels import SENDER_CONFIG, Channels
from microtarget.aws.contacts import ContactBook
from microtarget.aws.dead_letters import SqsDeadLetters
from microtarget.aws.ledger import Ledger
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.send_guard import SendGuard
from microtarget.aws.templates import TemplateStore
from microtarget.dispatch import DispatchService
from microtarget.edge.settings import DispatchSettings
from microtarget.edge.wiring import Report, serving_state, table, trigger_queue


@dataclass(frozen=True, slots=True)
class DispatchRoot:
    service: DispatchService
    dead_letters: SqsDeadLetters  # messages that can never succeed, with their reason


def dispatch_root(config: DispatchSettings, report: Report) -> DispatchRoot:
    return DispatchRoot(_service(config, report), SqsDeadLetters(boto3.client("sqs"), config.dead_letter_queue_url))


def _service(config: DispatchSettings, report: Report) -> DispatchService:
    channels = Channels(
        boto3.client("ses", config=SENDER_CONFIG), boto3.client("sns", config=SENDER_CONFIG),
        boto3.client("events", config=SENDER_CONFIG), config.sender_address, config.event_bus,
    )  # fmt: skip
    return DispatchService(
        serving_state(config, report),
        TemplateStore(boto3.client("s3"), config.models_bucket, config.templates_prefix, config.refresh_seconds),
        DynamoProfileStore(table(config.profiles_table)),
        ContactBook(table(config.contacts_table), boto3.client("kms")),
        Ledger(table(config.ledger_table)),
        channels,
        trigger_queue(config),
        SendGuard(table(config.ledger_table)),
    )
