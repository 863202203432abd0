"""report.html with PNG plots a person can open, beside metrics.json."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA
from sklearn.metrics import precision_recall_curve, roc_curve

from training import recommend_html


def _save(figure: Any, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path.name


def classifier_plots(
    name: str, curves: dict[str, np.ndarray], calibration: dict[str, list[float]], out: Path
) -> list[str]:
    labels = curves["labels"]
    files = []
    figure, axes = plt.subplots(1, 4, figsize=(17, 4))
    for key, style in (("model", "-"), ("baseline", "--")):
        fpr, tpr, _ = roc_curve(labels, curves[key])
        axes[0].plot(fpr, tpr, style, label=key)
        precision, recall, _ = precision_recall_curve(labels, curves[key])
        axes[1].plot(recall, precision, style, label=key)
        order = np.argsort(-curves[key], kind="stable")
        gains = np.cumsum(labels[order]) / max(1, labels.sum())
        axes[2].plot(np.linspace(0, 1, len(gains)), gains, style, label=key)
    axes[0].plot([0, 1], [0, 1], ":", color="grey")
    axes[2].plot([0, 1], [0, 1], ":", color="grey", label="random")
    axes[3].plot(calibration["predicted"], calibration["observed"], "o-", label="model")
    axes[3].plot([0, 1], [0, 1], ":", color="grey")
    titles = ("ROC (test window)", "precision-recall", "cumulative gains", "calibration")
    labels_xy = (
        ("false positive rate", "true positive rate"),
        ("recall", "precision"),
        ("share of customers contacted", "share of positives reached"),
        ("predicted", "observed"),
    )
    for axis, title, (x_label, y_label) in zip(axes, titles, labels_xy, strict=True):
        axis.set_title(f"{name}: {title}")
        axis.set_xlabel(x_label)
        axis.set_ylabel(y_label)
        axis.legend(loc="best")
    files.append(_save(figure, out / f"{name}_curves.png"))
    return files


def segment_plots(
    search: dict[str, dict[int, float]], mapped: tuple[np.ndarray, np.ndarray, dict], out: Path
) -> list[str]:
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    ks = sorted(search["inertia"])
    axes[0].plot(ks, [search["inertia"][k] for k in ks], "o-")
    axes[0].set_title("elbow: inertia by k")
    axes[0].set_xlabel("k")
    twin = axes[0].twinx()
    twin.plot(ks, [search["silhouette"][k] for k in ks], "s--", color="tab:orange")
    twin.set_ylabel("silhouette (orange)")
    transformed, labels, names = mapped
    points = PCA(n_components=2, random_state=0).fit_transform(transformed)
    for segment, name in sorted(names.items()):
        chosen = labels == segment
        axes[1].scatter(points[chosen, 0], points[chosen, 1], s=4, alpha=0.5, label=name)
    axes[1].set_title("segments on the first two principal components")
    axes[1].legend(markerscale=3, fontsize=8)
    return [_save(figure, out / "segments.png")]


def write_report(results: dict[str, dict[str, Any]], out: Path) -> Path:
    sections = []
    for name in ("propensity", "churn"):
        manifest = results[name]["manifest"]
        images = classifier_plots(name, results[name]["curves"], manifest["calibration_test"], out)
        rows = "".join(
            f"<tr><td>{w}</td><td>{scope}</td>"
            + "".join(f"<td>{_figure(m.get(k))}</td>" for k in ("roc_auc", "pr_auc", "lift_top10", "brier"))
            + "</tr>"
            for w in ("validation", "test")
            for scope, m in (("model", manifest["metrics"][w]), ("RFM baseline", manifest["baseline_metrics"][w]))
        )
        top = list(manifest["importance_test"].items())[:8]
        importance = ", ".join(f"{html.escape(k)} {v:.3f}" for k, v in top)
        sections.append(
            f"<h2>{name}</h2>"
            + "".join(f"<p class='warn'>⚠ {html.escape(w)}</p>" for w in manifest.get("warnings", []))
            + f"<p>{html.escape(manifest['label']['definition'])}. Selected "
            f"<b>{manifest['selection']['family']}</b> {html.escape(str(manifest['selection']['params']))}; "
            f"ONNX parity max |Δ| {manifest['parity']['max_abs_diff']:.1e} on {manifest['parity']['rows']} rows.</p>"
            "<table><tr><th>window</th><th>scorer</th><th>ROC-AUC</th><th>PR-AUC</th><th>lift@10%</th><th>Brier</th></tr>"
            f"{rows}</table><p class='note'>The RFM baseline ranks customers; it gives no probability, so it has no Brier score.</p>"
            f"<p>Permutation importance (ROC-AUC drop, test): {importance}</p>"
            + "".join(f'<img src="{image}" width="100%">' for image in images)
        )
    segments = results["segments"]["manifest"]
    images = segment_plots(segments["k_search"], results["segments"]["map"], out)
    metrics = segments["metrics"]["validation"]
    profile_rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{metrics['sizes'][name]}</td>"
        + "".join(f"<td>{profile[f]:.1f}</td>" for f in segments["segment_features"])
        + "</tr>"
        for name, profile in segments["segment_profiles"].items()
    )
    header = "".join(f"<th>{html.escape(f.replace('_', ' '))}</th>" for f in segments["segment_features"])
    ari = (
        f", adjusted Rand index vs planted types {metrics['adjusted_rand_index']:.3f}"
        if "adjusted_rand_index" in metrics
        else ""
    )
    sections.append(
        f"<h2>segments</h2><p>k = {metrics['k']} by silhouette ({metrics['silhouette']:.3f}){ari}.</p>"
        f"<div class='wide'><table><tr><th>segment</th><th>customers</th>{header}</tr>{profile_rows}</table></div>"
        + "".join(f'<img src="{image}" width="90%">' for image in images)
    )
    if "recommendations" in results:
        sections.append(recommend_html.section(results["recommendations"]["manifest"]))
    page = (
        "<!doctype html><meta charset='utf-8'><title>microtarget training report</title>"
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}"
        "table{border-collapse:collapse;font-size:0.9em}td,th{padding:2px 6px;text-align:right}"
        "th{vertical-align:bottom;max-width:7em;overflow-wrap:break-word}.wide{overflow-x:auto}.note{color:#555}.warn{color:#a40}</style>"
        "<h1>microtarget training report</h1>" + "".join(sections)
    )
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _figure(value: float | None) -> str:
    return "—" if value is None or value != value else f"{value:.4f}"  # value != value: nan
