"""The api function's services, from ApiSettings."""

from __future__ import annotations

import boto3

from microtarget.aws.contacts import ContactBook
from microtarget.aws.event_intake import EventIntake
from microtarget.aws.ledger import Ledger
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.decision_service import DecisionService
from microtarget.edge.settings import ApiSettings
from microtarget.edge.wiring import Report, serving_state, table
from microtarget.errors import RetryableError


def decision_service(config: ApiSettings, report: Report) -> DecisionService:
    return DecisionService(
        serving_state(config, report),
        DynamoProfileStore(table(config.profiles_table)),
        pseudonymizer_from_secret(config.pseudonym_secret_id),
        ledger=Ledger(table(config.ledger_table)) if config.ledger_table else None,
    )


def contact_book(config: ApiSettings) -> ContactBook:
    if not config.contacts_table or not config.contacts_key_id:
        raise RetryableError("contacts are not configured for this stack")
    return ContactBook(table(config.contacts_table), boto3.client("kms"), config.contacts_key_id)


def event_intake(config: ApiSettings) -> EventIntake:
    return EventIntake(boto3.client("kinesis"), config.events_stream)
