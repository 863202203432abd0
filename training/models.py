"""Model families, searched inside the training window and selected on the validation window."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from microtarget.features import FEATURE_NAMES, MAX_DAYS
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, silhouette_score
from sklearn.model_selection import GridSearchCV, PredefinedSplit, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PowerTransformer, StandardScaler

CANDIDATES: dict[str, tuple[Any, dict[str, list[Any]]]] = {
    "logistic": (
        Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=2000))]),
        {"model__C": [0.01, 0.1, 1.0]},
    ),
    "gradient_boosting": (
        Pipeline([("model", HistGradientBoostingClassifier(early_stopping=False, random_state=0))]),
        {"model__max_iter": [80, 160], "model__max_leaf_nodes": [15], "model__learning_rate": [0.1]},
    ),
}
SEGMENT_FEATURES = (
    "days_since_last_seen",
    "days_since_first_seen",
    "orders_90d",
    "avg_order_value",
    "product_views_30d",
    "searches_30d",
    "add_to_cart_30d",
    "offers_redeemed_90d",
    "email_opens_30d",
)


@dataclass
class Selected:
    family: str
    estimator: Any
    params: dict[str, Any]
    search: dict[str, dict[str, float]]  # family -> inner CV AUC and validation AUC


def fit_classifier(
    x_train: np.ndarray, y_train: np.ndarray, groups: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray
) -> Selected:
    """Grid-search each family on the training rows (the latest training cutoff is the inner
    validation fold, so the search looks forward in time too), then pick the family with the
    best ROC-AUC on the later validation window. The test window is never seen here."""
    _require_two_classes(y_train, "training")
    _require_two_classes(y_valid, "validation")
    latest = groups.max()
    if len(np.unique(groups)) > 1 and len(np.unique(y_train[groups == latest])) == 2:
        splitter: Any = PredefinedSplit(np.where(groups == latest, 0, -1))
    else:
        splitter = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    results: dict[str, dict[str, float]] = {}
    fitted: dict[str, GridSearchCV] = {}
    for family, (estimator, grid) in CANDIDATES.items():
        search = GridSearchCV(clone(estimator), grid, scoring="roc_auc", cv=splitter, refit=True, n_jobs=1)
        search.fit(x_train, y_train)
        valid_auc = roc_auc_score(y_valid, search.predict_proba(x_valid)[:, 1])
        results[family] = {"inner_cv_roc_auc": float(search.best_score_), "validation_roc_auc": float(valid_auc)}
        fitted[family] = search
    best = max(results, key=lambda family: results[family]["validation_roc_auc"])
    return Selected(best, fitted[best].best_estimator_, fitted[best].best_params_, results)


def _require_two_classes(labels: np.ndarray, window: str) -> None:
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(
            f"the {window} window has a single label class ({classes.tolist()}): widen the history or the horizon"
        )


@dataclass
class Segmentation:
    pipeline: Pipeline
    k: int
    silhouette: dict[int, float]
    inertia: dict[int, float]
    labels: np.ndarray
    names: dict[int, str]
    centroids: dict[int, dict[str, float]]  # median raw feature values per segment


def segmenter(k: int) -> Pipeline:
    columns = [FEATURE_NAMES.index(name) for name in SEGMENT_FEATURES]
    return Pipeline(
        [
            ("select", ColumnTransformer([("behavior", PowerTransformer(), columns)], remainder="drop")),
            ("cluster", KMeans(n_clusters=k, n_init=10, random_state=0)),
        ]
    )


def fit_segments(features: np.ndarray, k_range: range = range(2, 9), sample: int = 4000) -> Segmentation:
    """KMeans on power-transformed behavior features; k by silhouette (inertia kept for the elbow)."""
    if len(features) < max(k_range) * 5:
        raise ValueError(f"{len(features)} customers are too few to segment")
    rng = np.random.default_rng(0)
    picked = rng.choice(len(features), size=min(sample, len(features)), replace=False)
    silhouette, inertia, fitted = {}, {}, {}
    for k in k_range:
        pipeline = segmenter(k).fit(features)
        labels = pipeline.predict(features[picked])
        transformed = pipeline.named_steps["select"].transform(features[picked])
        silhouette[k] = float(silhouette_score(transformed, labels))
        inertia[k] = float(pipeline.named_steps["cluster"].inertia_)
        fitted[k] = pipeline
    best = max(silhouette, key=lambda k: silhouette[k])
    labels = fitted[best].predict(features)
    centroids = {
        int(s): {name: float(np.median(features[labels == s, FEATURE_NAMES.index(name)])) for name in FEATURE_NAMES}
        for s in np.unique(labels)
    }
    medians = {name: float(np.median(features[:, FEATURE_NAMES.index(name)])) for name in FEATURE_NAMES}
    names = name_segments(centroids, medians)
    return Segmentation(fitted[best], best, silhouette, inertia, labels, names, centroids)


# Each name is earned by what the centroid shows against the population's medians (m), then
# handed out greedily, best score first; a segment that earns none is named by its strongest trait.
Centroid = dict[str, float]
_NAMES: dict[str, tuple[Callable[[Centroid, Centroid], bool], Callable[[Centroid], float]]] = {
    "new": (
        lambda c, m: c["days_since_first_seen"] <= 0.5 * m["days_since_first_seen"],
        lambda c: -c["days_since_first_seen"],
    ),
    "lapsing": (
        lambda c, m: (
            c["days_since_last_purchase"] < MAX_DAYS  # has bought, longer ago than most
            and c["days_since_last_purchase"] > m["days_since_last_purchase"]
            and c["product_views_30d"] <= 0.5 * m["product_views_30d"]
        ),
        lambda c: c["days_since_last_purchase"],
    ),
    "loyal high-value": (
        lambda c, m: c["orders_90d"] > m["orders_90d"] and c["avg_order_value"] >= m["avg_order_value"],
        lambda c: c["avg_order_value"] * (1 + c["orders_90d"]),
    ),
    "bargain hunter": (
        lambda c, m: (
            c["offers_redeemed_90d"] > m["offers_redeemed_90d"] or c["searches_30d"] >= 2 * max(m["searches_30d"], 1)
        ),
        lambda c: c["offers_redeemed_90d"] * 10 + c["searches_30d"] - c["avg_order_value"] / 100,
    ),
    "window shopper": (
        lambda c, m: c["product_views_30d"] > m["product_views_30d"] and c["orders_90d"] <= m["orders_90d"],
        lambda c: c["product_views_30d"] / (1 + c["orders_90d"]),
    ),
}


def name_segments(centroids: dict[int, Centroid], medians: Centroid) -> dict[int, str]:
    earned = sorted(
        (-score(centroid), name, segment)
        for name, (qualifies, score) in _NAMES.items()
        for segment, centroid in centroids.items()
        if qualifies(centroid, medians)
    )
    names: dict[int, str] = {}
    for _score, name, segment in earned:
        if segment not in names and name not in names.values():
            names[segment] = name
    for segment, centroid in sorted(centroids.items()):
        if segment not in names:
            trait = _strongest_trait(centroid, medians)
            names[segment] = trait if trait not in names.values() else f"{trait} ({segment})"
    return names


def _strongest_trait(centroid: Centroid, medians: Centroid) -> str:
    """'high orders 90d', 'low avg order value' …: the feature furthest from the population's median."""
    feature = max(SEGMENT_FEATURES, key=lambda f: abs(centroid[f] - medians[f]) / (abs(medians[f]) + 1))
    return f"{'high' if centroid[feature] >= medians[feature] else 'low'} {feature.replace('_', ' ')}"
