"""An experiment's results: arms, sample-ratio check, lift of each arm over control on every
metric (fixed horizon, CUPED, always valid, power), and how the lift moved day by day.

The figures to act on when looking every day are `sequential` (always valid); `fixed` and
`cuped` hold at a sample size set in advance, and `power` says what the current size can detect.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
from microtarget.clock import DAY_MS

from training import stats
from training.experiments import Units

METRICS = {"converted": "pre_orders", "revenue": "pre_revenue"}  # each metric's pre-exposure covariate
MAX_LOOKS = 180  # daily looks kept in the series (the ledger keeps 180 days)


def analyse(units: Units, weights: dict[str, float] | None, control: str | None, window_days: int, until_ms: int,
            alpha: float = stats.ALPHA, tuning: int = stats.SEQUENTIAL_TUNING, by_offer: bool = True) -> dict[str, Any]:  # fmt: skip
    """The results document (JSON-ready) of one experiment as of `until_ms`. With the configured
    weights, every configured arm is reported (one with no customer yet too); with more than one
    offer, each offer's customers (by their first exposure) are measured apart as well."""
    missing = [name for name in weights or {} if name not in units.arms]
    units = replace(units, arms=units.arms + missing) if missing else units
    control = control if control in units.arms else units.arms[0]
    looks = _looks(units, until_ms)
    series: list[dict[str, Any]] = []
    running: dict[tuple[str, str], float] = {}  # the smallest always-valid p so far, per arm and metric
    data: dict[str, np.ndarray] = {}
    for look in looks:
        data = units.outcomes(look, window_days)
        point: dict[str, Any] = {"day": _day(look), "customers": _counts(units, data["arm"]), "lifts": {}}
        for arm, metric, lift, seq in _lifts(units, data, control, alpha, tuning, running):
            point["lifts"].setdefault(arm, {})[metric] = {"relative": lift.relative, "absolute": lift.absolute,
                                                          "ci": seq.ci, "relative_ci": seq.relative_ci}  # fmt: skip
        series.append(point)
    data = data if looks else units.outcomes(until_ms, window_days)  # the last look is `until_ms`
    arms = [_arm(units, data, i, (weights or {}).get(name)) for i, name in enumerate(units.arms)]
    counts = [a["customers"] for a in arms]
    known = weights is not None and set(weights) == set(units.arms)
    check = stats.srm(counts, [weights[a] for a in units.arms]) if known and weights else None
    lifts = [_lift_entry(units, data, arm, metric, control, alpha, tuning, running, weights)
             for arm in units.arms if arm != control for metric in METRICS]  # fmt: skip
    return {
        "experiment": units.experiment,
        "as_of": datetime.fromtimestamp(until_ms / 1000, UTC).isoformat(),
        "window_days": window_days,
        "control": control,
        "alpha": alpha,
        "sequential_tuning": tuning,
        "arms": arms,
        "srm": check,
        "lifts": lifts,
        "series": series,
        "verdicts": _verdicts(lifts, check, control),
        "offers": _by_offer(units, weights, control, window_days, until_ms, alpha, tuning) if by_offer else [],
    }


def _by_offer(units: Units, weights: dict[str, float] | None, control: str, window_days: int, until_ms: int,
              alpha: float, tuning: int) -> list[dict[str, Any]]:  # fmt: skip
    """Each offer's arms, lifts and verdicts, from the customers whose first exposure was for it
    (a holdout records the offer it held back). Nothing when the experiment has a single offer;
    only a note when control customers name no offer (holdouts a campaign tool reported): the
    offers' lifts would then have no control to compare with."""
    if len(units.offers) < 2:
        return []
    entered = units.entered <= until_ms
    if "" in units.offers:
        unnamed = entered & (units.offer == units.offers.index(""))
        held = int((unnamed & (units.arm == units.arms.index(control))).sum()) if control in units.arms else 0
        why = "exposures that name no offer (holdouts a campaign tool reported): in the totals only"
        if held:
            why += f"; {held:,} of them are the control's, so no offer is measured on its own"
        note: dict[str, Any] = {"offer": None, "customers": int(unnamed.sum()), "note": why}
        if held:
            return [note]
    found: list[dict[str, Any]] = []
    for index, offer in enumerate(units.offers):
        if not offer:
            found.append(note)
            continue
        doc = analyse(units.only(units.offer == index), weights, control, window_days, until_ms, alpha, tuning,
                      by_offer=False)  # fmt: skip
        arms = [{k: a[k] for k in ("name", "customers", "conversions", "conversion_rate")} for a in doc["arms"]]
        found.append({"offer": offer, "customers": sum(a["customers"] for a in arms), "arms": arms,
                      "srm": doc["srm"], "lifts": doc["lifts"], "verdicts": doc["verdicts"]})  # fmt: skip
    return found


def _looks(units: Units, until_ms: int) -> list[int]:
    """The end of each day from the first exposure to `until_ms` (the last look is `until_ms`)."""
    if not len(units.entered):
        return []
    first = int(units.entered.min()) // DAY_MS * DAY_MS + DAY_MS - 1
    ends = list(range(first, until_ms, DAY_MS))[-(MAX_LOOKS - 1) :]
    return [*ends, until_ms] if not ends or ends[-1] != until_ms else ends


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def _counts(units: Units, arm: np.ndarray) -> dict[str, int]:
    return {name: int((arm == i).sum()) for i, name in enumerate(units.arms)}


def _arm(units: Units, data: dict[str, np.ndarray], index: int, weight: float | None) -> dict[str, Any]:
    mask = data["arm"] == index
    return {
        "name": units.arms[index],
        "weight": weight,
        "customers": int(mask.sum()),
        "conversions": int(data["converted"][mask].sum()),
        "redemptions": int(data["redeemed"][mask].sum()),
        "revenue": float(data["revenue"][mask].sum()),
        "conversion_rate": _rate_ci(data["converted"][mask]),
        "revenue_per_customer": _mean_ci(data["revenue"][mask]),
    }


def _rate_ci(converted: np.ndarray, alpha: float = stats.ALPHA) -> dict[str, Any]:
    """The conversion rate with its Wilson score interval: honest at 0 of 5 (up to 43 %), where a
    t-interval collapses to [0, 0]."""
    n = len(converted)
    if not n:
        return {"value": None, "ci": None}
    p, z = float(converted.mean()), float(stats.special.ndtri(1 - alpha / 2))
    centre, half = (
        (p + z * z / (2 * n)) / (1 + z * z / n),
        z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)),
    )
    return {"value": p, "ci": (max(0.0, centre - half), min(1.0, centre + half))}


def _mean_ci(values: np.ndarray, alpha: float = stats.ALPHA) -> dict[str, Any]:
    """The mean with its t-interval, kept at 0 or above (revenue cannot be negative)."""
    m = stats.moments(values)
    if m.n < 2:
        return {"value": m.mean if m.n else None, "ci": None}
    half = float(stats.special.stdtrit(m.n - 1, 1 - alpha / 2)) * math.sqrt(m.var / m.n)
    return {"value": m.mean, "ci": (max(0.0, m.mean - half), m.mean + half)}


def _pair(data: dict[str, np.ndarray], metric: str, c: int, t: int, cuped: bool) -> tuple[stats.Moments, stats.Moments]:
    both = (data["arm"] == c) | (data["arm"] == t)
    y = data[metric]
    if cuped:
        x = data[METRICS[metric]]
        theta = stats.cuped_theta(y[both], x[both])
        y = stats.adjusted(y, x, theta, float(x[both].mean()) if both.any() else 0.0)
    return stats.moments(y[data["arm"] == c]), stats.moments(y[data["arm"] == t])


def _lifts(units: Units, data, control: str, alpha: float, tuning: int, running: dict):
    """(arm, metric, CUPED lift, always-valid figures) at one look; `running` keeps the smallest p."""
    c = units.arms.index(control)
    for t, arm in enumerate(units.arms):
        if arm == control:
            continue
        for metric in METRICS:
            mc, mt = _pair(data, metric, c, t, cuped=True)
            lift = stats.compare(mc, mt, alpha)
            if lift is None:
                continue
            seq = stats.sequential(lift, mc, mt, running.get((arm, metric), 1.0), alpha, tuning)
            running[(arm, metric)] = seq.p_value
            yield arm, metric, lift, seq


def _lift_entry(units: Units, data, arm: str, metric: str, control: str, alpha: float, tuning: int,
                running: dict, weights: dict[str, float] | None) -> dict[str, Any]:  # fmt: skip
    c, t = units.arms.index(control), units.arms.index(arm)
    raw_c, raw_t = _pair(data, metric, c, t, cuped=False)
    adj_c, adj_t = _pair(data, metric, c, t, cuped=True)
    fixed, cuped = stats.compare(raw_c, raw_t, alpha), stats.compare(adj_c, adj_t, alpha)
    entry: dict[str, Any] = {"arm": arm, "metric": metric, "fixed": fixed and fixed.as_dict(),
                             "cuped": cuped and cuped.as_dict(), "sequential": None, "power": None}  # fmt: skip
    if fixed is None or cuped is None:
        entry["note"] = "too few customers (or no variation) in an arm to compare"
        return entry
    entry["variance_reduction"] = 1 - cuped.scale**2 / fixed.scale**2 if fixed.scale else 0.0
    entry["sequential"] = stats.sequential(
        cuped, adj_c, adj_t, running.get((arm, metric), 1.0), alpha, tuning
    ).as_dict()
    entry["power"] = stats.power(cuped, adj_c, adj_t, alpha)
    pair = (weights or {}).get(control, 1.0), (weights or {}).get(arm, 1.0)
    entry["power"]["customers_needed_for_5pct"] = stats.customers_needed(adj_c, adj_t, 0.05, pair, alpha)
    return entry


def _verdicts(lifts: list[dict[str, Any]], check: dict[str, Any] | None, control: str) -> list[str]:
    if check and check["mismatch"]:
        return [f"sample ratio mismatch (p = {check['p_value']:.2g}): the split is broken; do not trust the lifts"]
    out = []
    for entry in lifts:
        seq = entry["sequential"]
        if seq is None:
            out.append(f"{entry['arm']} vs {control}, {entry['metric']}: not enough data")
            continue
        low, high = seq["ci"]
        word = "better than" if low > 0 else "worse than" if high < 0 else "not distinguishable yet from"
        out.append(f"{entry['arm']} is {word} {control} on {entry['metric']} (always-valid p = {seq['p_value']:.3g})")
    return out
