"""What the batch jobs compute for one customer, the same on one machine and on Spark.

A task turns one customer's events (one group of the lake, by pid) into output with the core
layer's own code: the point-in-time dataset's rows (`DatasetTask`) or the profile as of a moment
(`SnapshotTask`, for batch scoring and audiences). Both drop what an open erasure's tombstone
covers: events older than the erasure, which the lake still holds until the erasure job's pass."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from microtarget.aggregation import apply_events
from microtarget.clock import to_ms
from microtarget.events import Event
from microtarget.features import FEATURE_NAMES, feature_dict
from microtarget.profile import Profile

from training.dataset import Rows, replay_customer
from training.recommend import orders_of

CHANNELS = ("email", "push", "webhook")  # consent columns of a snapshot


def _kept(customer: str, events: Iterable[Event], tombstones: Mapping[str, int], end: datetime | None) -> list[Event]:
    erased = tombstones.get(customer)
    return [
        e
        for e in events
        if (end is None or e.occurred_at <= end) and (erased is None or to_ms(e.occurred_at) >= erased)
    ]


@dataclass(frozen=True)
class DatasetTask:
    cutoffs: tuple[datetime, ...]
    horizon: timedelta
    end: datetime | None = None
    tombstones: Mapping[str, int] = field(default_factory=dict)
    with_orders: bool = True  # the recommender's baskets

    def run(self, customer: str, events: Iterable[Event]) -> tuple[Rows, list[tuple[str, datetime, list, list]]]:
        """The customer's rows, and (customer, when, products, viewed before) of each purchase up to the end."""
        kept = _kept(customer, events, self.tombstones, self.end)
        rows = replay_customer(customer, kept, self.cutoffs, self.horizon)
        return rows, [(c, at, p, v) for c, at, p, v in orders_of(kept, customer)] if self.with_orders else []


@dataclass
class Snapshots:
    """Customers as of one moment: their feature values (float64, as serving computes them) and
    consent per channel; the models read the values cast to float32."""

    pids: list[str] = field(default_factory=list)
    values: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURE_NAMES))))
    consent: np.ndarray = field(default_factory=lambda: np.zeros((0, len(CHANNELS)), bool))

    @staticmethod
    def concat(parts: Sequence[Snapshots]) -> Snapshots:
        if not parts:
            return Snapshots()
        return Snapshots(
            [p for part in parts for p in part.pids],
            np.concatenate([p.values for p in parts]),
            np.concatenate([p.consent for p in parts]),
        )

    def ordered(self) -> Snapshots:
        order = sorted(range(len(self.pids)), key=self.pids.__getitem__)
        return Snapshots([self.pids[i] for i in order], self.values[order], self.consent[order])

    def value_dicts(self) -> list[dict[str, float]]:
        return [dict(zip(FEATURE_NAMES, (float(v) for v in row), strict=True)) for row in self.values]


@dataclass(frozen=True)
class SnapshotTask:
    as_of: datetime
    tombstones: Mapping[str, int] = field(default_factory=dict)

    def run(self, customer: str, events: Iterable[Event]) -> Snapshots:
        kept = sorted(_kept(customer, events, self.tombstones, self.as_of), key=lambda e: (e.occurred_at, e.event_id))
        if not kept:
            return Snapshots()
        profile = Profile(customer)
        apply_events(profile, kept)
        if profile.first_seen is None:  # as the dataset's replay: not a customer yet
            return Snapshots()
        values = feature_dict(profile, self.as_of)
        consents = profile.consents()
        return Snapshots(
            [customer],
            np.array([[values[name] for name in FEATURE_NAMES]], dtype=np.float64),
            np.array([[consents.get(channel, False) for channel in CHANNELS]], dtype=bool),
        )


def exposure_key(pid: str, at_ms: int) -> str:
    """A snapshot's key when one customer is taken at several moments (`ExposureTask`)."""
    return f"{pid}@{at_ms}"


@dataclass(frozen=True)
class ExposureTask:
    """Each customer as they were just before each of their moments (ms): the uplift model's
    features, from events strictly before the exposure, as the decision saw them. Keys are
    `exposure_key(pid, moment)`; a customer with no moment, or not a customer yet, gives nothing."""

    moments: Mapping[str, tuple[int, ...]]
    tombstones: Mapping[str, int] = field(default_factory=dict)

    def run(self, customer: str, events: Iterable[Event]) -> Snapshots:
        moments = self.moments.get(customer, ())
        if not moments:
            return Snapshots()
        kept = sorted(_kept(customer, events, self.tombstones, None), key=lambda e: (e.occurred_at, e.event_id))
        parts = []
        for at_ms in sorted(moments):
            before = [e for e in kept if to_ms(e.occurred_at) < at_ms]
            shot = SnapshotTask(_moment(at_ms)).run(customer, before) if before else Snapshots()
            if shot.pids:
                parts.append(Snapshots([exposure_key(customer, at_ms)], shot.values, shot.consent))
        return Snapshots.concat(parts)


def _moment(at_ms: int) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, UTC)
