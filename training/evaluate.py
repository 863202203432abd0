"""Honest numbers: each classifier beside a simple RFM baseline scored on the same rows."""

from __future__ import annotations

from typing import Any

import numpy as np
from microtarget.features import FEATURE_NAMES
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

DECILES = tuple(q / 10 for q in range(1, 10))  # the bins drift is measured over (training.monitoring)

_F = FEATURE_NAMES.index


def baseline_scores(model: str, features: np.ndarray) -> np.ndarray:
    """RFM rules a marketer would use without a model.

    propensity: more orders in 90 days first, then more recent; churn: longer since the last order."""
    recency = features[:, _F("days_since_last_purchase")].astype(np.float64)
    if model == "propensity":
        return features[:, _F("orders_90d")] - recency / 1000.0
    return recency + features[:, _F("orders_90d")] * -1e-3


def lift_at(labels: np.ndarray, scores: np.ndarray, fraction: float = 0.1) -> float:
    """Positive rate in the top `fraction` by score, over the overall positive rate."""
    count = max(1, round(len(scores) * fraction))
    top = np.argsort(-scores, kind="stable")[:count]
    base = labels.mean()
    return float(labels[top].mean() / base) if base > 0 else 0.0


def classifier_metrics(labels: np.ndarray, scores: np.ndarray, probabilities: bool = True) -> dict[str, float]:
    metrics = {
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
        "lift_top10": lift_at(labels, scores),
        "positive_rate": float(labels.mean()),
        "rows": len(labels),
    }
    if probabilities:
        metrics["brier"] = float(brier_score_loss(labels, scores))
    return metrics


def calibration(labels: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    observed, predicted = calibration_curve(labels, probabilities, n_bins=bins, strategy="quantile")
    return {"predicted": predicted.tolist(), "observed": observed.tolist()}


def importance(estimator: Any, features: np.ndarray, labels: np.ndarray, rows: int = 4000) -> dict[str, float]:
    """Permutation importance (drop in ROC-AUC) on a sample of the test rows."""
    rng = np.random.default_rng(0)
    picked = rng.choice(len(labels), size=min(rows, len(labels)), replace=False)
    result = permutation_importance(
        estimator, features[picked], labels[picked], scoring="roc_auc", n_repeats=3, random_state=0, n_jobs=1
    )
    pairs = sorted(zip(FEATURE_NAMES, result.importances_mean, strict=True), key=lambda p: -p[1])
    return {name: float(value) for name, value in pairs}


def binning(column: np.ndarray) -> dict[str, list[float]]:
    """The column's decile edges and the share of its values in each bin.

    Bin i holds edges[i-1] < x <= edges[i]; the first everything at or below edges[0], the last
    everything above edges[-1]. Each edge sits halfway between two distinct values of the column,
    never on one: many customers share a value (the same rows score the same), and a float32
    score or feature that differs from its float64 twice in the 7th digit must not cross an edge."""
    column = np.asarray(column, np.float64)
    if not len(column):
        return {"edges": [], "fractions": []}
    distinct = np.unique(column)
    if len(distinct) == 1:  # a constant: one narrow bin around it, so a move either way shows
        value, margin = float(distinct[0]), max(abs(float(distinct[0])), 1.0) * 1e-6
        return {"edges": [value - margin, value + margin], "fractions": [0.0, 1.0, 0.0]}
    above = np.searchsorted(distinct, np.quantile(column, DECILES), side="right")  # the first value past each
    above = np.unique(above[(above > 0) & (above < len(distinct))])
    edges = (distinct[above - 1] + distinct[above]) / 2
    counts = np.bincount(np.searchsorted(edges, column, side="left"), minlength=len(edges) + 1)
    return {"edges": edges.tolist(), "fractions": (counts / len(column)).tolist()}


def distribution_baseline(features: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per-feature summary kept in the manifest, to compare live traffic against (drift)."""
    quantiles = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
    summary: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(FEATURE_NAMES):
        column = features[:, index].astype(np.float64)
        values = np.quantile(column, quantiles)
        summary[name] = {"mean": float(column.mean()), "std": float(column.std()), "bins": binning(column)}
        summary[name].update({f"p{int(q * 100)}": float(v) for q, v in zip(quantiles, values, strict=True)})
    return summary
