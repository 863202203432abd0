"""Point-in-time datasets: replay each customer's events up to a cutoff through the shared
aggregation and feature code, and label from the window after the cutoff only."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from microtarget.aggregation import apply_events
from microtarget.events import EVENT_ADAPTER, Event
from microtarget.features import FEATURE_NAMES, feature_vector
from microtarget.profile import Profile

SHARDS = 8  # fixed, so synthetic data does not depend on the number of workers


@dataclass(frozen=True)
class Timeline:
    start: datetime
    end: datetime
    horizon: timedelta
    train_cutoffs: tuple[datetime, ...]
    valid_cutoff: datetime
    test_cutoff: datetime

    @property
    def cutoffs(self) -> tuple[datetime, ...]:
        return (*self.train_cutoffs, self.valid_cutoff, self.test_cutoff, self.end)


def plan_timeline(
    start: datetime,
    end: datetime,
    horizon_days: int = 14,
    train_cutoffs: int = 3,
    step_days: int = 7,
    min_history_days: int = 14,
) -> Timeline:
    """test = end - H, validation = end - 2H, training cutoffs step back from end - 3H.

    History is counted in calendar days, the first event's day and the cutoff's own day
    included: events come at hours of the day, so a day's traffic ends hours before midnight,
    and a data set whose last event is at 23:50 has that day as much as one ending at 20:10."""
    horizon = timedelta(days=horizon_days)
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)  # history counts from the first day
    test, valid = end - horizon, end - 2 * horizon
    train = tuple(valid - horizon - timedelta(days=step_days * k) for k in reversed(range(train_cutoffs)))
    if (train[0].date() - start.date()).days + 1 < min_history_days:
        needed = 3 * horizon_days + step_days * (train_cutoffs - 1) + min_history_days
        span = (end.date() - start.date()).days + 1
        raise ValueError(
            f"{span} days of events is too short: {needed} days are needed for "
            f"horizon {horizon_days} d, {train_cutoffs} training cutoffs and {min_history_days} d of history"
        )
    return Timeline(start, end, horizon, train, valid, test)


@dataclass
class Rows:
    """One row per (customer, cutoff) where the customer was already known at the cutoff."""

    features: np.ndarray  # float32 (n, len(FEATURE_NAMES))
    purchased: np.ndarray  # int8: a purchase in (cutoff, cutoff + horizon]
    had_purchased: np.ndarray  # bool: at least one order by the cutoff (churn population)
    cutoff: np.ndarray  # int16 index into the cutoffs given
    customer: list[str] = field(default_factory=list)

    @staticmethod
    def concat(parts: Sequence[Rows]) -> Rows:
        width = len(FEATURE_NAMES)
        return Rows(
            np.concatenate([p.features for p in parts]) if parts else np.zeros((0, width), np.float32),
            np.concatenate([p.purchased for p in parts]) if parts else np.zeros(0, np.int8),
            np.concatenate([p.had_purchased for p in parts]) if parts else np.zeros(0, bool),
            np.concatenate([p.cutoff for p in parts]) if parts else np.zeros(0, np.int16),
            [c for p in parts for c in p.customer],
        )

    def capped(self, limit: int, seed: int = 0) -> Rows:
        """At most `limit` rows for the fit: the same share of every (cutoff, label) stratum, so
        each window keeps its purchase rate (the fit runs on one machine; the feature table is the
        only thing it needs, and 2 million rows of 25 float32 are 200 MB)."""
        if len(self.customer) <= limit:
            return self
        rng = np.random.default_rng(seed)
        share = limit / len(self.customer)
        kept: list[np.ndarray] = []
        for cutoff in np.unique(self.cutoff):
            for label in (0, 1):
                members = np.flatnonzero((self.cutoff == cutoff) & (self.purchased == label))
                take = round(len(members) * share)
                kept.append(rng.choice(members, size=take, replace=False) if take < len(members) else members)
        return self.take(np.sort(np.concatenate(kept)))

    def ordered(self) -> Rows:
        """By customer, then cutoff: the same order whichever engine built the rows."""
        return self.take(sorted(range(len(self.customer)), key=lambda i: (self.customer[i], int(self.cutoff[i]))))

    def take(self, order: Sequence[int] | np.ndarray) -> Rows:
        return Rows(
            self.features[order],
            self.purchased[order],
            self.had_purchased[order],
            self.cutoff[order],
            [self.customer[i] for i in order],
        )


def replay_customer(customer: str, events: Iterable[Event], cutoffs: Sequence[datetime], horizon: timedelta) -> Rows:
    """Features as of each cutoff (events at or before it only) and the label after it."""
    ordered = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    purchases = [e.occurred_at for e in ordered if e.event_type == "purchase"]
    profile, applied = Profile(customer), 0
    features, purchased, had, index = [], [], [], []
    for position, cutoff in enumerate(cutoffs):
        upto = applied
        while upto < len(ordered) and ordered[upto].occurred_at <= cutoff:
            upto += 1
        if upto > applied:
            apply_events(profile, ordered[applied:upto])  # in time order: nothing is late
            applied = upto
        if profile.first_seen is None:
            continue  # not a customer yet at this cutoff
        features.append(feature_vector(profile, cutoff))
        purchased.append(any(cutoff < moment <= cutoff + horizon for moment in purchases))
        had.append(profile.orders > 0)
        index.append(position)
    width = len(FEATURE_NAMES)
    return Rows(
        np.array(features, dtype=np.float32).reshape(-1, width),
        np.array(purchased, dtype=np.int8),
        np.array(had, dtype=bool),
        np.array(index, dtype=np.int16),
        [customer] * len(index),
    )


def group_by_customer(events: Iterable[Event]) -> dict[str, list[Event]]:
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.customer_id, []).append(event)
    return groups


# --- building rows in parallel: workers inherit the groups through fork, results come back as arrays
_GROUPS: dict[str, list[Event]] = {}


def _replay_slice(args: tuple[list[str], Sequence[datetime], timedelta]) -> Rows:
    customers, cutoffs, horizon = args
    gc.disable()
    return Rows.concat([replay_customer(c, _GROUPS[c], cutoffs, horizon) for c in customers])


def build_rows(
    groups: dict[str, list[Event]], cutoffs: Sequence[datetime], horizon: timedelta, workers: int | None = None
) -> Rows:
    customers = sorted(groups)
    workers = workers or min(SHARDS, os.cpu_count() or 1)
    if workers <= 1 or len(customers) < 2_000:
        return Rows.concat([replay_customer(c, groups[c], cutoffs, horizon) for c in customers])
    global _GROUPS
    _GROUPS = groups
    try:
        slices = [(customers[i::SHARDS], cutoffs, horizon) for i in range(SHARDS)]
        # fork shares the parsed events with the workers without pickling them
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context("fork")) as pool:
            return Rows.concat(list(pool.map(_replay_slice, slices)))
    finally:
        _GROUPS = {}


def _synthetic_shard(args: tuple[int, int, int, int, datetime, Sequence[datetime], timedelta]) -> tuple[Rows, dict]:
    from training.synthetic import generate

    shard, customers, days, seed, end, cutoffs, horizon = args
    gc.disable()  # hundreds of thousands of long-lived objects: generational GC only rescans them
    traffic = generate(customers, days, seed=seed * 100 + shard, end=end, iso=False)
    validate = EVENT_ADAPTER.validator.validate_python
    groups = group_by_customer(validate(event) for event in traffic.events)
    rows = Rows.concat([replay_customer(c, groups[c], cutoffs, horizon) for c in sorted(groups)])
    return rows, traffic.truth


def synthetic_rows(
    customers: int,
    days: int,
    seed: int,
    end: datetime,
    cutoffs: Sequence[datetime],
    horizon: timedelta,
    workers: int | None = None,
) -> tuple[Rows, dict[str, str]]:
    """Generate, validate and replay synthetic customers shard by shard in worker processes."""
    sizes = [customers // SHARDS + (1 if i < customers % SHARDS else 0) for i in range(SHARDS)]
    jobs = [(i, n, days, seed, end, cutoffs, horizon) for i, n in enumerate(sizes) if n]
    workers = workers or min(SHARDS, os.cpu_count() or 1)
    if workers <= 1:
        results = [_synthetic_shard(job) for job in jobs]
    else:
        # forkserver: the caller may run threads (a moto server, tqdm) that fork would copy mid-lock
        with ProcessPoolExecutor(max_workers=workers, mp_context=_context("forkserver")) as pool:
            results = list(pool.map(_synthetic_shard, jobs))
    truth = {cid: persona for _rows, shard_truth in results for cid, persona in shard_truth.items()}
    return Rows.concat([rows for rows, _truth in results]), truth


def _context(method: str) -> Any:
    import multiprocessing

    return multiprocessing.get_context(method)
