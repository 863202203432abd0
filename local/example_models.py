"""Serving models fitted on random features, for tests and benchmarks of what surrounds them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from microtarget.features import FEATURE_NAMES
from sklearn.base import clone

from training.export import convert
from training.models import CANDIDATES, segmenter


def _features(rows: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.gamma(2.0, 3.0, size=(rows, len(FEATURE_NAMES))).astype(np.float32)


def _classifier(family: str, seed: int = 0) -> Any:
    x = _features(seed=seed)
    y = (x[:, 3] + x[:, 9] + np.random.default_rng(seed).normal(0, 2, len(x)) > 12).astype(int)
    return clone(CANDIDATES[family][0]).fit(x, y)


def serving_models(root: Path) -> Path:
    """A train --out folder with the three serving models, fitted on random features: what
    `score --models` and `audience --models` read, when what is measured is not the models."""
    fitted = {
        "propensity": ("classifier", _classifier("gradient_boosting")),
        "churn": ("classifier", _classifier("logistic", seed=2)),
        "segments": ("segmenter", segmenter(4).fit(_features(seed=3))),
    }
    for name, (kind, estimator) in fitted.items():
        body = convert(estimator)
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "model.onnx").write_bytes(body)
        manifest = {"model": name, "kind": kind, "version": f"{name}-1", "sha256": hashlib.sha256(body).hexdigest(),
                    "feature_names": list(FEATURE_NAMES), "segment_names": {"0": "a", "1": "b", "2": "c", "3": "d"}}  # fmt: skip
        (folder / "manifest.json").write_text(json.dumps(manifest))
    return root
