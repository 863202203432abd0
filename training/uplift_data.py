"""The uplift model's data, from the decisions ledger and the data lake.

For each offer: the customers whose first exposure in an experiment with a control arm was for
it (sent, or held out from it: dispatch records the offer a holdout would have got), whether they
bought within the campaigns' attribution window after it (only customers whose window has closed
by `as_of`), the propensity recorded at that decision, and their features just before the
exposure, replayed from the lake as training replays them (`jobs.ExposureTask`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from microtarget.campaigns import Campaigns
from microtarget.clock import DAY_MS, to_ms
from microtarget.features import FEATURE_NAMES
from microtarget.outcomes import EXPOSED

from training import build
from training.experiments import collect
from training.jobs import ExposureTask, exposure_key


@dataclass
class Exposed:
    offer: str
    pids: list[str]
    at: np.ndarray  # int64 ms of the first exposure
    treated: np.ndarray  # bool: sent the offer, else held out from it
    converted: np.ndarray  # bool: bought within the window after the exposure
    propensity: np.ndarray  # the purchase propensity the decision recorded (nan: none recorded)
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURE_NAMES)), np.float32))

    def only(self, keep: np.ndarray) -> Exposed:
        pids = [p for p, k in zip(self.pids, keep, strict=True) if k]
        rows = self.features[keep] if len(self.features) == len(keep) else self.features
        return Exposed(self.offer, pids, self.at[keep], self.treated[keep], self.converted[keep],
                       self.propensity[keep], rows)  # fmt: skip

    def counts(self) -> dict[str, int]:
        return {
            "treated": int(self.treated.sum()),
            "control": int((~self.treated).sum()),
            "treated_converted": int((self.treated & self.converted).sum()),
            "control_converted": int((~self.treated & self.converted).sum()),
        }


def exposed(items: Iterable[dict[str, Any]], campaigns: Campaigns, as_of: datetime) -> dict[str, Exposed]:
    """Each offer's exposed customers whose attribution window has closed by `as_of`, labelled by
    what happened at the exposure (sent, or held out), once each however many experiments it
    counts in. Only dispatch's exposures: a campaign tool's reported holdouts name no offer and
    its sends record no scores, so they would give one side only."""
    items = [it for it in items if not (it["sk"].startswith("d#") and it["sk"].count("#") > 1)]
    window, until = campaigns.attribution_days, to_ms(as_of)
    recorded = _recorded_propensity(items)
    outcome = {(it["pid"], int(it["at"])): it.get("outcome") for it in items if it["sk"].startswith("d#")}
    covered = {e.id: set(e.offers) for e in campaigns.experiments if any(arm.control for arm in e.arms)}
    parts: dict[str, list[Exposed]] = {}
    seen: set[tuple[str, int]] = set()
    for name, units in collect(items).items():
        if name not in covered:  # unknown to the campaigns file, or nobody held out: nothing to compare with
            continue
        units = units.only(units.entered + window * DAY_MS <= until)
        converted = units.outcomes(until, window)["converted"] > 0
        offers = np.array(units.offers, dtype=object)[units.offer] if len(units.arm) else np.array([], object)
        for offer in sorted({o for o in offers if o in covered[name]}):
            rows = [i for i in np.flatnonzero(offers == offer) if (units.pids[i], int(units.entered[i])) not in seen]
            keys = [(units.pids[i], int(units.entered[i])) for i in rows]
            seen.update(keys)
            treated = np.array([outcome.get(key) == "sent" for key in keys], dtype=bool)
            scores = np.array([recorded.get(key, np.nan) for key in keys], dtype=np.float64)
            at = np.array([t for _, t in keys], dtype=np.int64)
            found = Exposed(offer, [p for p, _ in keys], at, treated, converted[rows], scores)
            parts.setdefault(offer, []).append(found)
    return {offer: _concat(offer, found) for offer, found in sorted(parts.items())}


def with_features(found: dict[str, Exposed], source: str, **options: Any) -> tuple[dict[str, Exposed], int]:
    """Each exposed customer's features just before the exposure; those the lake does not know
    (erased, or a raw-id source) are left out. Returns the data and how many were left out."""
    moments: dict[str, set[int]] = {}
    for data in found.values():
        for pid, at in zip(data.pids, data.at, strict=True):
            moments.setdefault(pid, set()).add(int(at))
    if not moments:
        return found, 0
    latest = max(m for ms in moments.values() for m in ms)
    task = ExposureTask({pid: tuple(sorted(ms)) for pid, ms in moments.items()}, options.pop("tombstones", None) or {})
    shots, _read = build.snapshots(source, datetime.fromtimestamp(latest / 1000, UTC), exposures=task, **options)
    row_of = {key: index for index, key in enumerate(shots.pids)}
    kept, missing = {}, 0
    for offer, data in found.items():
        rows = [row_of.get(exposure_key(p, int(t)), -1) for p, t in zip(data.pids, data.at, strict=True)]
        known = np.array(rows, dtype=np.int64) >= 0
        missing += int((~known).sum())
        data = data.only(known)
        data.features = shots.values[np.array(rows, dtype=np.int64)[known]].astype(np.float32)
        kept[offer] = data
    return kept, missing


def _recorded_propensity(items: list[dict[str, Any]]) -> dict[tuple[str, int], float]:
    found = {}
    for item in items:
        if item["sk"].startswith("d#") and item.get("outcome") in EXPOSED and '"propensity"' in item.get("detail", ""):
            value = (json.loads(item["detail"]).get("scores") or {}).get("propensity")
            if isinstance(value, int | float):
                found[(item["pid"], int(item["at"]))] = float(value)
    return found


def _concat(offer: str, parts: list[Exposed]) -> Exposed:
    return Exposed(
        offer,
        [p for part in parts for p in part.pids],
        np.concatenate([p.at for p in parts]),
        np.concatenate([p.treated for p in parts]),
        np.concatenate([p.converted for p in parts]),
        np.concatenate([p.propensity for p in parts]),
    )
