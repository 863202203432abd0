"""The publish gate compares like with like: a model is held to the promoted one only when both
answer the same question (label and horizon); otherwise to its baseline alone."""

from __future__ import annotations

from typing import Any

from training.registry import gate, unlike


def manifest(version: str, auc: float, horizon: int = 14, baseline: float = 0.6) -> dict[str, Any]:
    return {
        "version": version,
        "kind": "classifier",
        "label": {"definition": f"purchase within {horizon} days", "horizon_days": horizon},
        "metrics": {"validation": {"roc_auc": auc}},
        "baseline_metrics": {"validation": {"roc_auc": baseline}},
    }


def test_a_worse_model_for_the_same_question_is_refused() -> None:
    assert gate(manifest("new", 0.80), manifest("old", 0.85)) == [
        "validation roc_auc 0.8000 is below promoted old (0.8500)"
    ]


def test_a_model_for_another_horizon_is_held_to_its_baseline_only() -> None:
    longer, promoted = manifest("28d", 0.78, horizon=28), manifest("14d", 0.85)
    assert unlike(longer, promoted) == "promoted 14d answers a 14-day question, this a 28-day one"
    assert gate(longer, promoted) == []
    assert gate(manifest("28d", 0.55, horizon=28), promoted) == [
        "validation roc_auc 0.5500 does not beat the baseline's 0.6000"
    ]


def test_another_label_is_not_compared_either() -> None:
    other = manifest("b", 0.7) | {"label": {"definition": "no purchase within 14 days", "horizon_days": 14}}
    assert unlike(other, manifest("a", 0.9)) is not None and gate(other, manifest("a", 0.9)) == []
