"""The api function's composition root: its services, built once from ApiSettings, and what
each route asks of them in the API's own request and response models."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from microtarget.aws.event_intake import EventIntake
from microtarget.aws.ledger import Ledger
from microtarget.aws.profile_store import DynamoProfileStore
from microtarget.aws.results_store import ResultsStore
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.decision_service import DecisionService, Request
from microtarget.edge.api_models import (
    DecisionOut,
    DecisionsRequest,
    DecisionsResponse,
    EventsRequest,
    EventsResponse,
    ExperimentResults,
    ExposuresRequest,
    ExposuresResponse,
    ModelsResponse,
    Rejection,
)
from microtarget.edge.settings import ApiSettings
from microtarget.edge.wiring import Aws, Report, serving_state
from microtarget.errors import NotFound


class ApiRoot:
    def __init__(self, config: ApiSettings, aws: Aws, metrics: Any, report: Report) -> None:
        self.config, self._aws, self._metrics = config, aws, metrics
        self.pseudonymizer = pseudonymizer_from_secret(config.pseudonym_secret_id)
        self.decisions = DecisionService(
            serving_state(config, aws, report),
            DynamoProfileStore(aws.table(config.profiles_table)),
            self.pseudonymizer,
            ledger=Ledger(aws.table(config.ledger_table), retention_days=config.ledger_retention_days)
            if config.ledger_table
            else None,
        )

    @cached_property
    def results(self) -> ResultsStore:
        return ResultsStore(self._aws.client("s3"), self.config.models_bucket)

    def experiment_results(self, experiment_id: str) -> ExperimentResults:
        found = self.results.latest(experiment_id)
        if found is None:
            raise NotFound(f"no results for experiment {experiment_id!r} yet (python -m training results)")
        return ExperimentResults.model_validate(found)

    @cached_property
    def intake(self) -> EventIntake:
        return EventIntake(self._aws.client("kinesis"), self.config.events_stream)

    def decide(self, requests: Sequence[Request], limit: int) -> list[DecisionOut]:
        outs = [DecisionOut.of(decision) for decision in self.decisions.decide_many(requests, limit)]
        self._count("Decisions", len(outs))
        self._count("DecisionsFallback", sum(bool(out.fallback) for out in outs))
        return outs

    def decide_batch(self, request: DecisionsRequest) -> DecisionsResponse:
        requests = [(c.customer_id, c.channel, c.context.domain()) for c in request.customers]
        return DecisionsResponse(decisions=self.decide(requests, request.limit))

    def publish(self, request: EventsRequest) -> EventsResponse:
        accepted, rejected = self.intake.publish(request.events)
        return EventsResponse(accepted=accepted, rejected=[Rejection.of(i, reason) for i, reason in rejected])

    def record(self, request: ExposuresRequest) -> ExposuresResponse:
        reports = [(e.customer_id, e.decision_id, e.channel, e.offer_id, e.exposed_at) for e in request.exposures]
        rejected = self.decisions.record_exposures(reports)
        self._count("ExposuresRecorded", len(reports) - len(rejected))
        return ExposuresResponse(
            recorded=len(reports) - len(rejected), rejected=[Rejection.of(i, reason) for i, reason in rejected]
        )

    def models(self) -> ModelsResponse:
        return ModelsResponse.of(self.decisions.state)

    def warm(self) -> None:
        """Under SnapStart, into the snapshot: the campaigns file and the model sessions."""
        self.decisions.state.campaigns()
        self.decisions.state.models()

    def expire(self) -> None:
        self.decisions.state.expire()
        self.pseudonymizer.expire()  # a snapshot may be older than the last key rotation

    def _count(self, name: str, value: int) -> None:
        self._metrics.add_metric(name=name, unit="Count", value=value)
