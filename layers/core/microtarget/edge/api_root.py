"""The api function's services, from ApiSettings."""

from __future__ import annotations

from microtarget.aws.contacts import ContactBook
from microtarget.aws.event_intake import EventIntake
from microtarget.aws.ledger import Ledger
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.decision_service import DecisionService
from microtarget.edge.settings import ApiSettings
from microtarget.edge.wiring import Aws, Report, serving_state
from microtarget.errors import RetryableError


def decision_service(config: ApiSettings, aws: Aws, report: Report) -> DecisionService:
    return DecisionService(
        serving_state(config, aws, report),
        DynamoProfileStore(aws.table(config.profiles_table)),
        pseudonymizer_from_secret(config.pseudonym_secret_id),
        ledger=Ledger(aws.table(config.ledger_table)) if config.ledger_table else None,
    )


def contact_book(config: ApiSettings, aws: Aws) -> ContactBook:
    if not config.contacts_table or not config.contacts_key_id:
        raise RetryableError("contacts are not configured for this stack")
    return ContactBook(aws.table(config.contacts_table), aws.client("kms"), config.contacts_key_id)


def event_intake(config: ApiSettings, aws: Aws) -> EventIntake:
    return EventIntake(aws.client("kinesis"), config.events_stream)
