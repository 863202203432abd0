"""What the batch jobs compute for one customer, the same on one machine and on Spark.

A task turns one customer's events (one group of the lake, by pid) into output with the core
layer's own code: the point-in-time dataset's rows (`DatasetTask`) or the profile as of a moment
(`SnapshotTask`, for batch scoring and audiences). Both drop what an open erasure's tombstone
covers: events older than the erasure, which the lake still holds until the erasure job's pass."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
from microtarget.aggregation import apply_events
from microtarget.clock import to_ms
from microtarget.events import Event
from microtarget.features import FEATURE_NAMES, feature_dict
from microtarget.profile import Profile

from training.dataset import Rows, replay_customer
from training.identities import Logins
from training.recommend import orders_of

CHANNELS = ("email", "push", "webhook")  # consent columns of a snapshot


def _kept(events: Iterable[Event], tombstones: Mapping[str, int], end: datetime | None) -> list[Event]:
    return [
        e
        for e in events
        if (end is None or e.occurred_at <= end) and to_ms(e.occurred_at) >= tombstones.get(e.customer_id, -1)
    ]


def _alone(customer: str, events: list[Event], logins: Logins) -> bool:
    """No login touches the group: one id's events, as before logins were read (the common case)."""
    return customer not in logins.merged and all(e.customer_id == customer for e in events)


def _profiles(events: list[Event], logins: Logins, moment_ms: int, tombstones: Mapping[str, int]) -> dict[str, list]:
    """The group's events as serving's profiles held them at a moment: each id's own, or a
    customer's with the anonymous visits merged into it by then (training.identities)."""
    by_id: dict[str, list[Event]] = {}
    for event in events:
        by_id.setdefault(event.customer_id, []).append(event)
    found: dict[str, list[Event]] = {}
    for pid, root in logins.at(by_id, moment_ms, tombstones).items():
        found.setdefault(root, []).extend(by_id[pid])
    return found


@dataclass(frozen=True)
class DatasetTask:
    cutoffs: tuple[datetime, ...]
    horizon: timedelta
    end: datetime | None = None
    tombstones: Mapping[str, int] = field(default_factory=dict)
    with_orders: bool = True  # the recommender's baskets
    logins: Logins = field(default_factory=Logins)

    def run(self, customer: str, events: Iterable[Event]) -> tuple[Rows, list[tuple[str, datetime, list, list]]]:
        """The group's rows (the customer's; a visitor's of its own at cutoffs before its login), and
        (customer, when, products, viewed before) of each purchase up to the end."""
        kept = _kept(events, self.tombstones, self.end)
        if _alone(customer, kept, self.logins):
            rows = replay_customer(customer, kept, self.cutoffs, self.horizon)
        else:
            ids = {e.customer_id for e in kept}
            plans: dict[tuple[tuple[str, str], ...], list[int]] = {}  # cutoffs with the same profiles: one replay
            for index, cutoff in enumerate(self.cutoffs):
                key = tuple(sorted(self.logins.at(ids, to_ms(cutoff), self.tombstones).items()))
                plans.setdefault(key, []).append(index)
            parts = []
            for indices in plans.values():
                profiles = _profiles(kept, self.logins, to_ms(self.cutoffs[indices[0]]), self.tombstones)
                for root, mine in sorted(profiles.items()):
                    part = replay_customer(root, mine, [self.cutoffs[i] for i in indices], self.horizon)
                    parts.append(replace(part, cutoff=np.asarray(indices, dtype=part.cutoff.dtype)[part.cutoff]))
            rows = Rows.concat(parts) if parts else replay_customer(customer, [], self.cutoffs, self.horizon)
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
    logins: Logins = field(default_factory=Logins)

    def run(self, customer: str, events: Iterable[Event]) -> Snapshots:
        kept = _kept(events, self.tombstones, self.as_of)
        if _alone(customer, kept, self.logins):
            return _snapshot(customer, kept, self.as_of)
        profiles = _profiles(kept, self.logins, to_ms(self.as_of), self.tombstones)
        return Snapshots.concat([_snapshot(root, mine, self.as_of) for root, mine in sorted(profiles.items())])


def _snapshot(pid: str, events: list[Event], as_of: datetime) -> Snapshots:
    kept = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    if not kept:
        return Snapshots()
    profile = Profile(pid)
    apply_events(profile, kept)
    if profile.first_seen is None:  # as the dataset's replay: not a customer yet
        return Snapshots()
    values = feature_dict(profile, as_of)
    consents = profile.consents()
    return Snapshots(
        [pid],
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
    logins: Logins = field(default_factory=Logins)

    def run(self, customer: str, events: Iterable[Event]) -> Snapshots:
        kept = _kept(events, self.tombstones, None)
        ids = sorted({customer} | {e.customer_id for e in kept})  # a visitor exposed before its login too
        parts = []
        for pid in ids:
            for at_ms in sorted(self.moments.get(pid, ())):
                before = [e for e in kept if to_ms(e.occurred_at) < at_ms]
                root = self.logins.at([pid], at_ms - 1, self.tombstones)[pid]
                mine = _profiles(before, self.logins, at_ms - 1, self.tombstones).get(root, [])
                shot = _snapshot(pid, mine, _moment(at_ms))
                if shot.pids:
                    parts.append(Snapshots([exposure_key(pid, at_ms)], shot.values, shot.consent))
        return Snapshots.concat(parts)


def _moment(at_ms: int) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, UTC)
