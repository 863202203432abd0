"""Score ONNX models with onnxruntime: the serving half of every model (no scikit-learn here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import onnxruntime as ort

from microtarget.errors import MicrotargetError
from microtarget.features import FEATURE_NAMES, as_vector, feature_dict
from microtarget.profile import Profile
from microtarget.validation import sha256_mismatch

MODEL_NAMES = ("propensity", "churn", "segments", "uplift")  # the ONNX models serving loads
OPTIONAL_MODELS = ("uplift",)  # trained once experiments have outcomes: its absence is no alarm
SCORED_BY = (("propensity", "propensity"), ("churn", "churn_risk"), ("segments", "segment"))  # model, score
# a customer's features, scores, the versions that scored them, and what fell back to rules
Scored = tuple[dict[str, float], dict[str, float | str | None], dict[str, str], list[str]]


def uplift_key(offer_id: str) -> str:
    """The score an uplift model gives an offer: `uplift.<offer id>` beside propensity and churn."""
    return f"uplift.{offer_id}"


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
        """Rows of float32 features → P(positive) for classifiers, segment index for segmenters,
        one column per offer (the manifest's `offers`) of P(buy | sent) - P(buy | not) for uplift."""
        batch = np.ascontiguousarray(features, dtype=np.float32).reshape(-1, len(FEATURE_NAMES))
        outputs = self.session.run(None, {self.input_name: batch})
        if self.kind == "uplift":
            return np.asarray(outputs[0], dtype=np.float64)  # [rows, offers], also for no row
        label, second = outputs[:2]
        if self.kind == "classifier":
            return np.asarray(second)[:, 1]
        return np.asarray(label).astype(np.int64).ravel()

    def uplifts(self, features: np.ndarray) -> list[dict[str, float]]:
        """Per row, offer → the uplift the model gives it (an uplift model only)."""
        offers = list(self.manifest["offers"])
        return [dict(zip(offers, (round(float(v), 6) for v in row), strict=True)) for row in self.predict(features)]

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
    if manifest.get("kind") == "uplift":
        offers, width = manifest.get("offers"), session.get_outputs()[0].shape[-1]
        if not isinstance(offers, list) or not offers or width != len(offers):
            raise ModelRejected(f"{name}: the uplift graph has {width} columns, the manifest names offers {offers!r}")
    return LoadedModel(name, manifest, session, session.get_inputs()[0].name)


def score_many(profiles: Sequence[Profile], now: datetime, models: Mapping[str, LoadedModel]) -> list[Scored]:
    """Each profile's features and scores, with one ONNX run per model for all of them."""
    if not profiles:
        return []
    values = [feature_dict(profile, now) for profile in profiles]
    rows = np.vstack([as_vector(v) for v in values])
    scores: list[dict[str, float | str | None]] = [
        {"propensity": None, "churn_risk": None, "segment": None} for _ in profiles
    ]
    versions: dict[str, str] = {}
    fallback: list[str] = []
    for name, key in SCORED_BY:
        model = models.get(name)
        if model is None:
            fallback.append(f"{name} model unavailable: rules only")
            continue
        for row_scores, value in zip(scores, model.predict(rows), strict=True):
            row_scores[key] = model.segment_name(int(value)) if name == "segments" else round(float(value), 6)
        versions[name] = model.version
    uplift = models.get("uplift")
    if uplift is not None:  # one figure per offer the model knows, beside the scores
        for row_scores, figures in zip(scores, uplift.uplifts(rows), strict=True):
            row_scores.update({uplift_key(offer): value for offer, value in figures.items()})
        versions["uplift"] = uplift.version
    return [(v, s, dict(versions), list(fallback)) for v, s in zip(values, scores, strict=True)]
