"""The rekey job's composition root: after a key is added to the pseudonymization secret, each
run moves what it can of every store to the newest pids (microtarget.aws.rekey_stores)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from microtarget.aws.contacts import ContactBook
from microtarget.aws.ledger import Ledger
from microtarget.aws.privacy_table import PrivacyTable
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.rekey_stores import STAGES, OutOfTime, RekeyStores, TimeLeft
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.edge.settings import RekeySettings
from microtarget.edge.wiring import Aws


class Resume(BaseModel):
    """Where a run that ran out of time was: its own answer, passed back as is."""

    model_config = ConfigDict(extra="forbid")

    stage: Literal[STAGES]  # type: ignore[valid-type]
    start: Any = None


class RekeyRequest(BaseModel):
    """What an invocation asks: one slice of the tables ({} is all of them, in one function)."""

    model_config = ConfigDict(extra="forbid")

    segment: int = Field(0, ge=0)
    segments: int = Field(1, ge=1, le=1000)
    resume: Resume | None = None

    @model_validator(mode="after")
    def _segment_in_range(self) -> RekeyRequest:
        if self.segment >= self.segments:
            raise ValueError(f"segment {self.segment} is not below segments ({self.segments})")
        return self


class RekeyJob:
    def __init__(self, config: RekeySettings, aws: Aws) -> None:
        self._config, self._aws = config, aws

    def run(self, request: RekeyRequest, time_left: TimeLeft) -> dict[str, Any]:
        """One pass; `complete` False when its time ran out first: invoke it again with the
        answer's `resume`, and it goes on from there (without, it starts over, moving what is left)."""
        config, aws = self._config, self._aws
        pids = pseudonymizer_from_secret(config.pseudonym_secret_id)  # read now: the newest keys
        names = {"profiles": config.profiles_table, "contacts": config.contacts_table,
                 "ledger": config.ledger_table, "privacy": config.privacy_table}  # fmt: skip
        tables = {stage: aws.table(name) for stage, name in names.items()}
        stores = RekeyStores(
            pids, DynamoProfileStore(tables["profiles"], retention_days=config.profile_retention_days), tables,
            ContactBook(tables["contacts"], aws.client("kms"), config.contacts_key_id),
            Ledger(tables["ledger"], retention_days=config.ledger_retention_days), PrivacyTable(tables["privacy"]),
            aws.client("s3"), config.data_lake_bucket,
        )  # fmt: skip
        answer: dict[str, Any] = {"key_version": pids.version, "segment": request.segment, "segments": request.segments}
        try:
            if pids.version > 1:
                resume = request.resume.model_dump() if request.resume else None
                stores.run(request.segment, request.segments, time_left, resume)
            answer["complete"] = True
        except OutOfTime:
            answer |= {"complete": False, "resume": stores.resume}
        return answer | {"moved": {store: count for store, count in stores.moved.items() if count}}
