"""The training report's recommendations section: each recommender's figures on the validation
and test windows, the blend's weights and whether it or co-occurrence alone is served."""

from __future__ import annotations

import html
from typing import Any

COLUMNS = (("hit_rate_3", "hit@3"), ("hit_rate_10", "hit@10"), ("ndcg_3", "NDCG@3"), ("ndcg_10", "NDCG@10"),
           ("coverage", "coverage"), ("cold_hit_rate_10", "cold hit@10"))  # fmt: skip


def section(manifest: dict[str, Any]) -> str:
    blend = manifest["blend"]
    rows = "".join(
        f"<tr><td>{window}</td><td>{html.escape(name)}</td>"
        + "".join(f"<td>{_cell(figures[key])}</td>" for key, _label in COLUMNS)
        + f"<td>{figures['trials']:,}</td><td>{figures['cold_trials']:,}</td></tr>"
        for window, compared in manifest["comparison"].items()
        for name, figures in compared.items()
    )
    header = "".join(f"<th>{label}</th>" for _key, label in COLUMNS)
    weights = ", ".join(f"{html.escape(s)} {w:g}" for s, w in blend["weights"].items())
    chosen = blend["validation_ndcg_10"]
    return (
        f"<h2>recommendations</h2><p>Serving the <b>{html.escape(blend['served'])}</b>: the blend ({weights}) "
        f"scored NDCG@10 {chosen['hybrid']:.4f} on the validation window against {chosen['co-occurrence']:.4f} "
        "for co-occurrence alone, and is served only if it is higher.</p>"
        f"<table><tr><th>window</th><th>recommender</th>{header}<th>trials</th><th>cold trials</th></tr>{rows}</table>"
        "<p class='note'>Each trial hides one product of a held-out order; the recommender gets the order's other "
        "products, what was viewed the day before and the customer's segment at the window's start. Popularity is "
        "the shop's best sellers for everyone; every other recommender fills its list as served, with the best "
        "sellers of the customer's segment first. Cold: products never bought while it learned.</p>"
    )


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
