"""The rekey job's composition root: after a key is added to the pseudonymization secret, each
run moves what it can of every store to the newest pids (microtarget.aws.rekey_stores)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from microtarget.aws.contacts import ContactBook
from microtarget.aws.ledger import Ledger
from microtarget.aws.privacy_table import PrivacyTable
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.rekey_stores import OutOfTime, RekeyStores, TimeLeft
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.edge.settings import RekeySettings
from microtarget.edge.wiring import Aws

LAKE_PREFIXES = ("events/", "scores/", "audiences/")  # the lake and the per-customer outputs beside it


class RekeyRequest(BaseModel):
    """What an invocation asks: one slice of the tables ({} is all of them, in one function)."""

    model_config = ConfigDict(extra="forbid")

    segment: int = Field(0, ge=0)
    segments: int = Field(1, ge=1, le=1000)

    @model_validator(mode="after")
    def _segment_in_range(self) -> RekeyRequest:
        if self.segment >= self.segments:
            raise ValueError(f"segment {self.segment} is not below segments ({self.segments})")
        return self


class RekeyJob:
    def __init__(self, config: RekeySettings, aws: Aws) -> None:
        self._config, self._aws = config, aws

    def run(self, request: RekeyRequest, time_left: TimeLeft) -> dict[str, Any]:
        """One pass; `complete` False when its time ran out first (run it again: it resumes)."""
        config, aws = self._config, self._aws
        pids = pseudonymizer_from_secret(config.pseudonym_secret_id)  # read now: the newest keys
        tables = {
            name: aws.table(getattr(config, name)) for name in ("profiles_table", "contacts_table", "ledger_table")
        }
        book = PrivacyTable(aws.table(config.privacy_table))
        stores = RekeyStores(
            pids, DynamoProfileStore(tables["profiles_table"], retention_days=config.profile_retention_days),
            tables["profiles_table"], ContactBook(tables["contacts_table"], aws.client("kms"), config.contacts_key_id),
            tables["contacts_table"], Ledger(tables["ledger_table"], retention_days=config.ledger_retention_days),
            tables["ledger_table"], book, aws.client("s3"), config.data_lake_bucket,
        )  # fmt: skip
        slice_ = (request.segment, request.segments, time_left)
        complete = True
        try:
            if pids.version > 1:
                if request.segment == 0:
                    stores.erasures()  # first: an open erasure must search what this run moves
                stores.contacts(*slice_)  # before the profiles: a message that follows a moved
                stores.ledger(*slice_)  # profile then finds the address and the sends of its customer
                stores.profiles(*slice_)
                if request.segment == 0:
                    stores.lake(LAKE_PREFIXES, time_left)
        except OutOfTime:
            complete = False
        return {
            "key_version": pids.version,
            **request.model_dump(),
            "complete": complete,
            "moved": {store: count for store, count in stores.moved.items() if count},
        }
