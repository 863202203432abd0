"""Small fitted models and manifests for export and registry tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from microtarget.features import FEATURE_NAMES
from sklearn.base import clone

from training.models import CANDIDATES, segmenter


def features(rows: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.gamma(2.0, 3.0, size=(rows, len(FEATURE_NAMES))).astype(np.float32)


def fitted_classifier(family: str = "logistic", seed: int = 0) -> tuple[Any, np.ndarray]:
    x = features(seed=seed)
    y = (x[:, 3] + x[:, 9] + np.random.default_rng(seed).normal(0, 2, len(x)) > 12).astype(int)
    return clone(CANDIDATES[family][0]).fit(x, y), x


def fitted_segmenter() -> tuple[Any, np.ndarray]:
    x = features(seed=3)
    return segmenter(4).fit(x), x


def model_folder(root: Any, name: str, version: str, auc: float, baseline_auc: float = 0.6) -> Any:
    """A train-output folder for one classifier: model.onnx + a manifest with these figures."""
    import hashlib
    import json

    from training.export import convert

    model, _x = fitted_classifier()
    body = convert(model)
    folder = root / f"{name}-{version}"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(body)
    manifest = {
        "model": name,
        "kind": "classifier",
        "version": version,
        "created": "2026-11-22T00:00:00+00:00",
        "sha256": hashlib.sha256(body).hexdigest(),
        "feature_names": list(FEATURE_NAMES),
        "metrics": {"validation": {"roc_auc": auc}},
        "baseline_metrics": {"validation": {"roc_auc": baseline_auc}},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder
