"""Score ONNX models with onnxruntime: the serving half of every model (no scikit-learn here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from microtarget.errors import MicrotargetError
from microtarget.features import FEATURE_NAMES
from microtarget.validation import sha256_mismatch

MODEL_NAMES = ("propensity", "churn", "segments")  # the ONNX models serving loads


@dataclass(frozen=True, slots=True)
class ModelStatus:
    version: str | None
    status: str  # "live", or the problem that keeps it out
    metrics: dict[str, Any]


class ModelRejected(MicrotargetError):
    """The model file or its manifest cannot be trusted for this code."""


@dataclass(frozen=True)
class LoadedModel:
    name: str
    manifest: dict[str, Any]
    session: ort.InferenceSession
    input_name: str  # read once at load, not per prediction

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Rows of float32 features → P(positive) for classifiers, segment index for segmenters."""
        batch = np.ascontiguousarray(features, dtype=np.float32).reshape(-1, len(FEATURE_NAMES))
        label, second = self.session.run(None, {self.input_name: batch})[:2]
        if self.kind == "classifier":
            return np.asarray(second)[:, 1]
        return np.asarray(label).astype(np.int64).ravel()

    def segment_name(self, index: int) -> str:
        names = self.manifest.get("segment_names", {})
        return str(names.get(str(index), f"segment {index}"))


def session_options(threads: int = 1) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def load_model(name: str, manifest: dict[str, Any], model_bytes: bytes, threads: int = 1) -> LoadedModel:
    """Verify sha256 and feature names against this code, then build one session."""
    mismatch = sha256_mismatch(model_bytes, manifest)
    if mismatch:
        raise ModelRejected(f"{name}: {mismatch}")
    if tuple(manifest.get("feature_names", ())) != FEATURE_NAMES:
        raise ModelRejected(f"{name}: manifest feature names differ from this code's FEATURE_NAMES")
    try:
        session = ort.InferenceSession(model_bytes, session_options(threads), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for bad graphs
        raise ModelRejected(f"{name}: onnxruntime cannot load the model: {exc}") from exc
    return LoadedModel(name, manifest, session, session.get_inputs()[0].name)
