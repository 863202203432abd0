"""The uplift model's page: per offer, the held-out customers, the Qini coefficients of the model
and of ranking by the recorded propensity with the interval of their difference, and the Qini
curves (inline SVG) beside random targeting; the offers without a model and what they lack."""

from __future__ import annotations

import html
from typing import Any

import matplotlib.pyplot as plt

from training.results_html import STYLE, _svg, _table


def render(manifest: dict[str, Any]) -> str:
    offers = manifest["metrics"]["validation"]["offers"]
    rows, figures = [], []
    for offer, m in offers.items():
        held, (low, high) = m["held_out"], m["qini_difference_ci"]
        observed = f"{m['observed_uplift']:+.3f}" if m["observed_uplift"] is not None else "\u2013"
        rows.append([offer, f"{held['treated']:,} ({held['treated_converted']:,})",
                     f"{held['control']:,} ({held['control_converted']:,})", f"{m['qini']:+.4f}",
                     f"{m['propensity_qini']:+.4f}", f"[{low:+.4f}, {high:+.4f}]", observed,
                     f"{m['mean_predicted_uplift']:+.3f}"])  # fmt: skip
        curve = m["qini_curve"]
        figure, axis = plt.subplots(figsize=(7, 3.2))
        axis.plot(curve["share"], curve["uplift"], label="uplift model")
        axis.plot(curve["share"], curve["propensity"], label="recorded propensity")
        axis.plot([0, 1], [0, curve["uplift"][-1]], linestyle="--", color="grey", label="random")
        axis.set(xlabel="share of customers targeted, best first", ylabel="incremental buyers per customer",
                 title=f"Qini curves: {offer}")  # fmt: skip
        axis.legend(fontsize=8)
        figures.append(f'<figure id="qini-{html.escape(offer)}">{_svg(figure)}</figure>')
    skipped = manifest["data"]["skipped"]
    missing = "".join(f"<li>{html.escape(reason)}</li>" for reason in skipped.values())
    table = _table(["offer", "sent (bought)", "held out (bought)", "Qini: uplift", "Qini: propensity",
                    "difference 95 % CI", "observed uplift", "mean predicted"], rows)  # fmt: skip
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Uplift model {html.escape(manifest["version"])}</title><style>{STYLE}</style></head><body>
<h1>Uplift model {html.escape(manifest["version"])}</h1>
<p class="note">{html.escape(manifest["label"]["definition"])}; exposures as of {html.escape(manifest["data"]["as_of"])};
judged on the held-out customers. The gate publishes it only when its Qini beats ranking by propensity.</p>
<h2>Held-out customers</h2>{table}
{"<h2>Offers without a model</h2><ul>" + missing + "</ul>" if missing else ""}
<h2>Qini curves</h2>{"".join(figures)}
</body></html>"""
