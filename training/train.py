"""Train, evaluate and export the three models from a point-in-time dataset."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from microtarget.catalog import Catalog
from microtarget.features import FEATURE_NAMES, FEATURE_SPEC_VERSION
from sklearn.metrics import adjusted_rand_score

from training import evaluate
from training.dataset import Rows, Timeline
from training.export import check_parity, convert
from training.models import SEGMENT_FEATURES, fit_classifier, fit_segments
from training.recommend import Order, train_recommender, unsupported

LABELS = {
    "propensity": "purchase within {h} days after the cutoff (customers known at the cutoff)",
    "churn": "no purchase within {h} days after the cutoff (customers with at least one order by then)",
}


@dataclass
class Windows:
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    now: np.ndarray

    @classmethod
    def of(cls, rows: Rows, timeline: Timeline) -> Windows:
        n = len(timeline.train_cutoffs)
        return cls(rows.cutoff < n, rows.cutoff == n, rows.cutoff == n + 1, rows.cutoff == n + 2)


def train_classifier(model: str, rows: Rows, timeline: Timeline, out: Path) -> dict[str, Any]:
    windows = Windows.of(rows, timeline)
    population = np.ones(len(rows.purchased), bool) if model == "propensity" else rows.had_purchased
    labels = rows.purchased if model == "propensity" else 1 - rows.purchased
    x, train, valid, test = (
        rows.features,
        windows.train & population,
        windows.valid & population,
        windows.test & population,
    )
    selected = fit_classifier(x[train], labels[train], rows.cutoff[train], x[valid], labels[valid])
    scores = {w: selected.estimator.predict_proba(x[m])[:, 1] for w, m in (("validation", valid), ("test", test))}
    metrics = {w: evaluate.classifier_metrics(labels[m], scores[w]) for w, m in (("validation", valid), ("test", test))}
    baseline = {
        w: evaluate.classifier_metrics(labels[m], evaluate.baseline_scores(model, x[m]), probabilities=False)
        for w, m in (("validation", valid), ("test", test))
    }
    onnx_bytes = convert(selected.estimator)
    parity = check_parity(selected.estimator, onnx_bytes, x[test], "classifier")
    extra = {
        "label": {"definition": LABELS[model].format(h=timeline.horizon.days), "horizon_days": timeline.horizon.days},
        "selection": {"family": selected.family, "params": _plain(selected.params), "candidates": selected.search},
        "calibration_test": evaluate.calibration(labels[test], scores["test"]),
        "score_baseline": evaluate.binning(scores["test"]),  # what monitoring compares live scores with
        "importance_test": evaluate.importance(selected.estimator, x[test], labels[test]),
        "rows": {"train": int(train.sum()), "validation": int(valid.sum()), "test": int(test.sum())},
        "warnings": _warnings(model, population),
    }
    manifest = _manifest(model, "classifier", onnx_bytes, timeline, metrics, baseline, parity, x[test], extra)
    write_model(out / model, onnx_bytes, manifest)
    curves = {"labels": labels[test], "model": scores["test"], "baseline": evaluate.baseline_scores(model, x[test])}
    return {"manifest": manifest, "curves": curves, "estimator": selected.estimator, "onnx": onnx_bytes}


def _warnings(model: str, population: np.ndarray) -> list[str]:
    """What a reader of the figures must know before trusting them."""
    if model == "churn" and population.mean() >= 0.99:  # churn's population is the customers who have bought
        return [
            f"{population.mean():.0%} of the rows are customers who have bought already, so churn is "
            "1 - propensity on the same rows: it adds nothing until the history has first-time visitors"
        ]
    return []


def train_segments(rows: Rows, timeline: Timeline, out: Path, truth: dict[str, str] | None) -> dict[str, Any]:
    now = Windows.of(rows, timeline).now
    x = rows.features[now]
    segmentation = fit_segments(x)
    onnx_bytes = convert(segmentation.pipeline)
    parity = check_parity(segmentation.pipeline, onnx_bytes, x, "segmenter")
    sizes = {segmentation.names[s]: int((segmentation.labels == s).sum()) for s in segmentation.names}
    metrics = {
        "validation": {"silhouette": segmentation.silhouette[segmentation.k], "k": segmentation.k, "sizes": sizes}
    }
    if truth:
        planted = [truth.get(customer, "?") for customer, keep in zip(rows.customer, now, strict=True) if keep]
        metrics["validation"]["adjusted_rand_index"] = float(adjusted_rand_score(planted, segmentation.labels))
    extra = {
        "segment_names": {str(s): name for s, name in segmentation.names.items()},
        "segment_profiles": {segmentation.names[s]: c for s, c in segmentation.centroids.items()},
        "segment_features": list(SEGMENT_FEATURES),
        "k_search": {"silhouette": segmentation.silhouette, "inertia": segmentation.inertia},
        "label": {"definition": f"behavioral segment as of {timeline.end.date()}", "horizon_days": 0},
    }
    manifest = _manifest("segments", "segmenter", onnx_bytes, timeline, metrics, {}, parity, x, extra)
    write_model(out / "segments", onnx_bytes, manifest)
    transformed = segmentation.pipeline.named_steps["select"].transform(x)
    mapped = (transformed, segmentation.labels, segmentation.names)
    return {"manifest": manifest, "map": mapped, "estimator": segmentation.pipeline, "onnx": onnx_bytes}


def segment_members(rows: Rows, timeline: Timeline, segments: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Each customer's segment as of the validation and the test cutoff (what the recommender's
    segment best sellers learn from and are checked with), by the segment model just trained."""
    windows, names = Windows.of(rows, timeline), segments["map"][2]
    found = {}
    for window, mask in (("validation", windows.valid), ("test", windows.test)):
        labels = segments["estimator"].predict(rows.features[mask]) if mask.any() else []
        customers = [customer for customer, keep in zip(rows.customer, mask, strict=True) if keep]
        found[window] = {c: names[int(label)] for c, label in zip(customers, labels, strict=True)}
    return found


def train_all(
    rows: Rows,
    timeline: Timeline,
    out: Path,
    truth: dict[str, str] | None = None,
    step: Callable[[str], None] = lambda _name: None,
    orders: list[Order] | None = None,
    catalog: Catalog | None = None,
) -> dict[str, dict[str, Any]]:
    """The three ONNX models from the rows; the recommender too when `orders` are given (with the
    content signal when the product `catalog` is)."""
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for model in ("propensity", "churn"):
        step(model)
        results[model] = train_classifier(model, rows, timeline, out)
    step("segments")
    results["segments"] = train_segments(rows, timeline, out, truth)
    skipped = {}
    if orders is not None:
        step("recommendations")
        skipped["recommendations"] = unsupported(orders, timeline)
        if skipped["recommendations"] is None:
            members = segment_members(rows, timeline, results["segments"])
            results["recommendations"] = train_recommender(orders, timeline, out, catalog, members)
        else:  # an earlier run's in the same folder must not be published as this one's
            shutil.rmtree(out / "recommendations", ignore_errors=True)
    metrics: dict[str, Any] = {
        name: result["manifest"]["metrics"] | {"baseline": result["manifest"]["baseline_metrics"]}
        for name, result in results.items()
    }
    metrics |= {"skipped": {name: why for name, why in skipped.items() if why}}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return results


def _manifest(
    model: str,
    kind: str,
    onnx_bytes: bytes,
    timeline: Timeline,
    metrics: dict[str, Any],
    baseline: dict[str, Any],
    parity: dict[str, Any],
    baseline_features: np.ndarray,  # the rows live traffic is compared with: the test window (or the segments)
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        **identity(model, kind, onnx_bytes),
        "training_window": {
            "start": timeline.start.isoformat(),
            "end": timeline.end.isoformat(),
            "train_cutoffs": [c.isoformat() for c in timeline.train_cutoffs],
            "validation_cutoff": timeline.valid_cutoff.isoformat(),
            "test_cutoff": timeline.test_cutoff.isoformat(),
        },
        "metrics": metrics,
        "baseline_metrics": baseline,
        "parity": parity,
        "feature_baseline": evaluate.distribution_baseline(baseline_features),
        **extra,
    }


def identity(model: str, kind: str, onnx_bytes: bytes) -> dict[str, Any]:
    """What every manifest starts with: the version, the checksum, the input serving must give,
    and the libraries that made the graph."""
    import onnx
    import onnxruntime
    import skl2onnx
    import sklearn

    created = datetime.now(UTC)
    sha = hashlib.sha256(onnx_bytes).hexdigest()
    return {
        "model": model,
        "kind": kind,
        "version": f"{created:%Y%m%dT%H%M%SZ}-{sha[:8]}",
        "created": created.isoformat(timespec="seconds"),
        "sha256": sha,
        "feature_names": list(FEATURE_NAMES),
        "feature_spec_version": FEATURE_SPEC_VERSION,
        "input": {"name": "features", "dtype": "float32", "shape": [None, len(FEATURE_NAMES)]},
        "libraries": {
            "scikit-learn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "numpy": np.__version__,
        },
    }


def write_model(folder: Path, onnx_bytes: bytes, manifest: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(onnx_bytes)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value.item() if hasattr(value, "item") else value for key, value in values.items()}
