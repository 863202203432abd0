"""Model monitoring: drift of the live population from the training baseline (PSI), and the
models' live performance (the scores recorded at decision time against what the customer did
within the label's horizon afterwards).

PSI (population stability index) compares two distributions over the baseline's bins:
sum((a - e) * ln(a / e)) over bins with expected share e and actual share a. Below 0.1 the
population is stable, 0.1-0.25 it has moved (watch), above 0.25 it has drifted (the model sees
customers unlike those it was trained on). The bins are the baseline's deciles, kept with the
share of the training rows that fell in each: a feature with many ties (most customers have
0 orders in 30 days) has fewer, wider bins and its shares are what training saw, not 10 % each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training import evaluate

WATCH, DRIFT = 0.1, 0.25
FLOOR = 1e-4  # a share of 0 on either side would make the log infinite
MIN_ROWS, MIN_CLASS = 200, 20  # live performance needs this many matured decisions, of each outcome


def shares(edges: Sequence[float], column: np.ndarray) -> np.ndarray:
    """The share of the column in each of the bins `edges` make (as evaluate.binning counts them)."""
    counts = np.bincount(np.searchsorted(np.asarray(edges), column, side="left"), minlength=len(edges) + 1)
    return counts / max(1, len(column))


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray) -> float:
    e = np.maximum(np.asarray(expected, np.float64), FLOOR)
    a = np.maximum(np.asarray(actual, np.float64), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float | None) -> str:
    if value is None:
        return "unknown"
    return "drift" if value > DRIFT else "watch" if value > WATCH else "stable"


def column_drift(bins: Mapping[str, Any], column: np.ndarray) -> dict[str, Any]:
    """PSI of the column against the baseline's bins; unknown when either side has no rows."""
    if not len(column) or not bins["fractions"]:
        return {"psi": None, "level": "unknown"}
    value = psi(bins["fractions"], shares(bins["edges"], column))
    return {"psi": round(value, 4), "level": level(value)}


def category_drift(expected_sizes: Mapping[str, int], actual_sizes: Mapping[str, int]) -> dict[str, Any]:
    """PSI over categories (segments): the baseline's share of each against the live share."""
    if not sum(expected_sizes.values()) or not sum(actual_sizes.values()):
        return {"psi": None, "level": "unknown", "shares": {}}
    names = sorted(set(expected_sizes) | set(actual_sizes))
    expected_total, actual_total = max(1, sum(expected_sizes.values())), max(1, sum(actual_sizes.values()))
    expected = [expected_sizes.get(name, 0) / expected_total for name in names]
    observed = [actual_sizes.get(name, 0) / actual_total for name in names]
    value = psi(expected, observed)
    by_name = {
        n: {"baseline": round(e, 4), "live": round(o, 4)} for n, e, o in zip(names, expected, observed, strict=True)
    }
    return {"psi": round(value, 4), "level": level(value), "shares": by_name}


@dataclass(frozen=True)
class Scored:
    """One decision's score, with whether the customer then bought within the horizon."""

    version: str
    score: float
    purchased: bool


def calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the rows' weighted |mean score - observed rate| over score deciles."""
    order = np.argsort(scores, kind="stable")
    error = 0.0
    for part in np.array_split(order, min(bins, len(order))):
        error += len(part) / len(order) * abs(float(scores[part].mean()) - float(labels[part].mean()))
    return error


def live_performance(rows: Sequence[Scored], expected: Mapping[str, Any], positive: str, margin: float) -> dict:
    """Per model version: live ROC-AUC, PR-AUC, top-decile lift, Brier and calibration, beside
    the test-window figures of the manifest (`expected`, by version) and the shortfall."""
    by_version: dict[str, list[Scored]] = {}
    for row in rows:
        by_version.setdefault(row.version, []).append(row)
    report = {}
    for version, found in sorted(by_version.items()):
        scores = np.array([r.score for r in found])
        bought = np.array([r.purchased for r in found], np.int8)
        labels = bought if positive == "purchase" else 1 - bought
        entry: dict[str, Any] = {"decisions": len(found), "positives": int(labels.sum())}
        if len(found) < MIN_ROWS or min(labels.sum(), len(labels) - labels.sum()) < MIN_CLASS:
            entry["status"] = f"too few matured decisions (need {MIN_ROWS}, with {MIN_CLASS} of each outcome)"
            report[version] = entry
            continue
        entry |= {k: round(v, 4) for k, v in evaluate.classifier_metrics(labels, scores).items() if k != "rows"}
        entry["calibration_error"] = round(calibration_error(labels, scores), 4)
        entry["mean_score"] = round(float(scores.mean()), 4)
        test = expected.get(version)
        if test is not None:
            entry["test_roc_auc"] = round(test["roc_auc"], 4)
            entry["auc_shortfall"] = round(test["roc_auc"] - entry["roc_auc"], 4)
            entry["status"] = "below test" if entry["auc_shortfall"] > margin else "as tested"
        else:
            entry["status"] = "no manifest for this version"
        report[version] = entry
    return report
