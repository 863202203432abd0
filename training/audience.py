"""Batch scores and audiences: customers as of a moment → scores → who is in an audience.

The same functions run on the driver (single machine) and in Spark's workers (one Arrow batch at a
time): scoring is the serving code's `score_many` contract on snapshot values, and membership is
the serving code's own rules: `rules.eligible` for the audience's thresholds and its offer's
eligibility, `rules.blocked` for the channel and its consent, and `decisions.arm_of` so that an
experiment's control arm is held out of the export as it is held out of every message."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import numpy as np
from microtarget.campaigns import Campaigns, Eligibility, MessageChannel, Probability
from microtarget.decisions import arm_of
from microtarget.rules import History, blocked, eligible
from microtarget.scoring import LoadedModel
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from training.jobs import CHANNELS, Snapshots

SCORE_KEYS = (("propensity", "propensity"), ("churn", "churn_risk"), ("segments", "segment"))


class AudienceError(ValueError):
    """An audience definition that does not parse, named by field."""


class Audience(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    name: str = ""
    channel: MessageChannel  # the campaign tool sends on it: members must have its consent
    segments: list[str] | None = None
    min_propensity: Probability | None = None
    max_propensity: Probability | None = None
    min_churn_risk: Probability | None = None
    max_churn_risk: Probability | None = None
    offer: str | None = None  # members must be eligible for it (campaigns file), control arms held out

    def criteria(self) -> Eligibility:
        return Eligibility(
            segments=self.segments,
            min_propensity=self.min_propensity,
            max_propensity=self.max_propensity,
            min_churn_risk=self.min_churn_risk,
            max_churn_risk=self.max_churn_risk,
        )


def parse_audience(text: str) -> Audience:
    try:
        return Audience.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(document)"
        raise AudienceError(f"audience {where}: {first['msg']}") from None


def score_records(shots: Snapshots, models: Mapping[str, LoadedModel], as_of: datetime) -> list[dict[str, Any]]:
    """One record per customer: the serving layer's scores of its values (float32 into the models)."""
    if not shots.pids:
        return []
    matrix = shots.values.astype(np.float32)
    records: list[dict[str, Any]] = [{"pid": pid, "as_of": as_of.isoformat()} for pid in shots.pids]
    for name, key in SCORE_KEYS:
        model = models[name]
        for record, value in zip(records, model.predict(matrix), strict=True):
            if name == "segments":
                record["segment"] = int(value)
                record["segment_name"] = model.segment_name(int(value))
            else:
                record[key] = round(float(value), 6)
    return records


@dataclass
class Selection:
    members: list[dict[str, Any]] = field(default_factory=list)
    left_out: Counter[str] = field(default_factory=Counter)  # why the others are not members


def select(
    audience: Audience, shots: Snapshots, records: list[dict[str, Any]], campaigns: Campaigns | None
) -> Selection:
    """The members of an audience among scored snapshots (in the same order)."""
    if audience.offer and campaigns is None:
        raise AudienceError("audience offer: give --campaigns, the file that defines the offer")
    offer = next((o for o in campaigns.offers if o.id == audience.offer), None) if campaigns else None
    if audience.offer and offer is None:
        raise AudienceError(f"audience offer: {audience.offer!r} is not in the campaigns file")
    if offer is not None and offer.trigger_only:
        raise AudienceError(f"audience offer: {offer.id!r} is trigger_only: it is sent by its trigger, never to a list")
    channel, criteria = CHANNELS.index(audience.channel), audience.criteria()  # once, not per customer
    chosen = Selection()
    for values, consent, record in zip(shots.value_dicts(), shots.consent, records, strict=True):
        scores = {
            "propensity": record["propensity"],
            "churn_risk": record["churn_risk"],
            "segment": record["segment_name"],
        }
        why = _left_out(
            audience.channel, criteria, offer, campaigns, values, scores, bool(consent[channel]), record["pid"]
        )
        if why:
            chosen.left_out[why] += 1
        else:
            chosen.members.append(record)
    return chosen


def _left_out(
    channel: str,
    criteria: Eligibility,
    offer: Any,
    campaigns: Campaigns | None,
    values: dict[str, float],
    scores: dict[str, Any],
    consented: bool,
    pid: str,
) -> str | None:
    if not consented:
        return "consent"
    if isinstance(eligible(criteria, values, scores), str):
        return "criteria"
    if offer is None or campaigns is None:
        return None
    if blocked(offer, channel, campaigns, History([], [], consented)) is not None:
        return "channel"
    if isinstance(eligible(offer.eligibility, values, scores), str):
        return "offer_eligibility"
    for experiment in campaigns.experiments:
        if offer.id in experiment.offers and arm_of(experiment, pid).withholds(offer.id):
            return "holdout"
    return None


def manifest(
    audience: Audience, selection: Selection, as_of: datetime, versions: dict[str, str], considered: int
) -> dict[str, Any]:
    return {
        "audience": audience.id,
        "definition": json.loads(audience.model_dump_json()),
        "as_of": as_of.isoformat(),
        "count": len(selection.members),
        "considered": considered,
        "left_out": dict(sorted(selection.left_out.items())),
        "model_versions": versions,
        "ids": "pid",  # the lake holds pids only; a campaign tool matches them through the identity map
    }


def stamp(as_of: datetime) -> str:
    return re.sub(r"[^0-9TZ]", "", as_of.strftime("%Y-%m-%dT%H%M%SZ"))
