"""ONNX export with a parity gate: onnxruntime must reproduce scikit-learn value for value."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as ort
from microtarget.features import FEATURE_NAMES
from microtarget.scoring import session_options
from skl2onnx import to_onnx

PROBABILITY_TOLERANCE = 1e-5
TARGET_OPSET = 17


class ParityError(Exception):
    """The exported graph does not reproduce the fitted model; nothing is written."""


def convert(estimator: Any) -> bytes:
    """skl2onnx with float32 input named `features` and, for classifiers, plain probability arrays."""
    sample = np.zeros((1, len(FEATURE_NAMES)), dtype=np.float32)
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    options = {id(final): {"zipmap": False}} if hasattr(final, "predict_proba") else None
    model = to_onnx(estimator, sample, options=options, target_opset=TARGET_OPSET, initial_types=None)
    model.graph.input[0].name = _rename_input(model)
    return bytes(model.SerializeToString())


def _rename_input(model: Any) -> str:
    old = model.graph.input[0].name
    for node in model.graph.node:
        node.input[:] = ["features" if name == old else name for name in node.input]
    return "features"


def onnx_outputs(model_bytes: bytes, features: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model_bytes, session_options(1), providers=["CPUExecutionProvider"])
    return [np.asarray(out) for out in session.run(None, {"features": features.astype(np.float32)})]


def check_parity(estimator: Any, model_bytes: bytes, features: np.ndarray, kind: str) -> dict[str, Any]:
    """Compare on held-out rows; raise ParityError naming the worst rows when it fails."""
    rows = features.astype(np.float32)
    label, second = onnx_outputs(model_bytes, rows)[:2]
    if kind == "classifier":
        expected = estimator.predict_proba(rows)[:, 1]
        got = second[:, 1].astype(np.float64)
        difference = np.abs(expected - got)
        worst = np.argsort(-difference)[:5]
        report = {
            "rows": len(rows),
            "max_abs_diff": float(difference.max()),
            "sum_sklearn": float(expected.sum()),
            "sum_onnx": float(got.sum()),
            "tolerance": PROBABILITY_TOLERANCE,
        }
        if report["max_abs_diff"] > PROBABILITY_TOLERANCE:
            detail = ", ".join(f"row {i}: sklearn {expected[i]:.6f} onnx {got[i]:.6f}" for i in worst)
            raise ParityError(f"ONNX probabilities differ by up to {report['max_abs_diff']:.2e}: {detail}")
        return report
    expected_labels = estimator.predict(rows)
    mismatched = np.flatnonzero(expected_labels != label.ravel())
    report = {"rows": len(rows), "label_mismatches": len(mismatched), "labels_identical": not len(mismatched)}
    if len(mismatched):
        detail = ", ".join(f"row {i}: sklearn {expected_labels[i]} onnx {label.ravel()[i]}" for i in mismatched[:5])
        raise ParityError(f"{len(mismatched)} of {len(rows)} segment labels differ: {detail}")
    return report
