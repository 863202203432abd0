"""An experiment's results as one self-contained HTML page: the verdicts, the arms, the lifts
with their intervals, the sample-ratio check, and two plots (inline SVG): the cumulative lift of
each arm with its always-valid interval, day by day, and the arm sizes over time."""

from __future__ import annotations

import html
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

NONE = "\u2013"  # an en dash where there is no figure
STYLE = """body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:60rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}
.warn{background:#fde8e8;padding:.5rem 1rem;border-left:4px solid #c00}figure{margin:0 0 1.5rem}
svg{max-width:100%;height:auto}.note{color:#555;font-size:.85rem}"""


def _pct(value: float | None) -> str:
    return NONE if value is None else f"{value:+.1%}"


def _ci(pair: Any, form: str = "+.1%") -> str:
    return NONE if not pair else f"[{pair[0]:{form}}, {pair[1]:{form}}]"


def _svg(figure: Any) -> str:
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _plots(results: dict[str, Any]) -> list[tuple[str, str]]:
    series = results["series"]
    if not series:
        return []
    days = np.array([point["day"] for point in series], dtype="datetime64[D]")
    plots = []
    for metric in ("converted", "revenue"):
        figure, axis = plt.subplots(figsize=(9, 3.4))
        for arm in [a["name"] for a in results["arms"] if a["name"] != results["control"]]:
            points = [(d, p["lifts"].get(arm, {}).get(metric)) for d, p in zip(days, series, strict=True)]
            points = [(d, v) for d, v in points if v and v["relative"] is not None and v["relative_ci"]]
            if not points:
                continue
            xs = np.array([d for d, _ in points], dtype="datetime64[D]")
            axis.plot(xs, [v["relative"] for _, v in points], label=f"{arm}: relative lift")
            low, high = [v["relative_ci"][0] for _, v in points], [v["relative_ci"][1] for _, v in points]
            axis.fill_between(xs, low, high, alpha=0.2, label=f"{arm}: always-valid 95 % interval")
            settled = len(points) // 4  # the first days' intervals are very wide: scaled to the rest
            axis.set_ylim(max(-1.0, min(low[settled:]) - 0.05), max(high[settled:]) + 0.05)
        axis.axhline(0, color="grey", linestyle=":")
        axis.set_title(f"cumulative lift over {results['control']}: {metric}")
        axis.set_ylabel("relative lift")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="best", fontsize=8)
        else:
            axis.text(0.5, 0.5, "too few customers in the arms to compare yet", ha="center", transform=axis.transAxes)
        figure.autofmt_xdate()
        plots.append((f"lift-{metric}", _svg(figure)))
    figure, axis = plt.subplots(figsize=(9, 3))
    for arm in [a["name"] for a in results["arms"]]:
        axis.plot(days, [p["customers"].get(arm, 0) for p in series], label=arm)
    axis.set_title("customers in each arm (cumulative)")
    axis.legend(loc="best", fontsize=8)
    figure.autofmt_xdate()
    plots.append(("arm-sizes", _svg(figure)))
    return plots


def _table(head: list[str], rows: list[list[str]]) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + f"</tr>{cells}</table>"


def _offers(offers: list[dict[str, Any]]) -> str:
    """Each offer's customers and conversion lift (a section only when the experiment has several)."""
    if not offers:
        return ""
    rows = []
    for entry in offers:
        if entry["offer"] is None:
            rows.append([NONE, f"{entry['customers']:,}", NONE, NONE, NONE, entry["note"]])
            continue
        rates = "; ".join(
            f"{a['name']} {a['conversion_rate']['value'] or 0:.1%} of {a['customers']:,}" for a in entry["arms"]
        )
        broken = [v for v in entry["verdicts"] if v.startswith("sample ratio mismatch")]
        for e in (e for e in entry["lifts"] if e["metric"] == "converted"):
            cuped, seq = e["cuped"] or {}, e["sequential"] or {}
            mine = broken or [v for v in entry["verdicts"] if v.startswith(f"{e['arm']} ") and "converted" in v]
            rows.append([f"{entry['offer']} · {e['arm']}", f"{entry['customers']:,}", rates, _pct(cuped.get("relative")),
                         _ci(seq.get("relative_ci")), "; ".join(mine)])  # fmt: skip
    head = ["offer · arm", "customers", "converted per arm", "lift (CUPED)", "95 % CI (always valid)", "verdict"]
    return (
        "<h2>Per offer</h2>"
        + _table(head, rows)
        + (
            '<p class="note">Customers by the offer of their first exposure (a holdout records the offer it held back).</p>'
        )
    )


def render(results: dict[str, Any]) -> str:
    arms = [
        [a["name"], f"{a['weight']:g}" if a["weight"] is not None else NONE, f"{a['customers']:,}",
         f"{a['conversions']:,}", f"{a['conversion_rate']['value'] or 0:.2%}", _ci(a["conversion_rate"]["ci"], ".2%"),
         f"{a['revenue_per_customer']['value'] or 0:.2f}", _ci(a["revenue_per_customer"]["ci"], ".2f"), f"{a['redemptions']:,}"]
        for a in results["arms"]
    ]  # fmt: skip
    lifts = []
    for e in results["lifts"]:
        fixed, cuped, seq, power = e["fixed"] or {}, e["cuped"] or {}, e["sequential"] or {}, e["power"] or {}
        lifts.append([
            f"{e['arm']} · {e['metric']}", _pct(cuped.get("relative")), _ci(cuped.get("relative_ci")),
            _ci(seq.get("relative_ci")), f"{seq['p_value']:.3g}" if seq else NONE,
            f"{cuped['p_value']:.3g}" if cuped else NONE, f"{max(0.0, e.get('variance_reduction') or 0.0):.0%}",
            _pct(fixed.get("relative")), _pct(power.get("minimum_detectable_relative")),
        ])  # fmt: skip
    srm = results["srm"]
    srm_text = (
        "no configured weights for these arms: not checked"
        if srm is None
        else f"χ² = {srm['chi2']:.2f}, p = {srm['p_value']:.3g} "
        + ("(MISMATCH: the split is broken)" if srm["mismatch"] else "(no mismatch)")
    )
    verdicts = "".join(f"<li>{html.escape(v)}</li>" for v in results["verdicts"])
    warn = ' class="warn"' if srm and srm["mismatch"] else ""
    figures = "".join(f'<figure id="{name}">{svg}</figure>' for name, svg in _plots(results))
    offers = _offers(results.get("offers", []))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Experiment {html.escape(results["experiment"])}</title><style>{STYLE}</style></head><body>
<h1>Experiment {html.escape(results["experiment"])}</h1>
<p class="note">As of {html.escape(results["as_of"])}; each customer counted from their first exposure for
{results["window_days"]} days; control arm: {html.escape(results["control"])}.</p>
<ul{warn}>{verdicts}</ul>
<h2>Arms</h2>{
        _table(
            ["arm", "weight", "customers", "converted", "rate", "95 % CI", "revenue / customer", "95 % CI", "redeemed"],
            arms,
        )
    }
<h2>Lift over control</h2>{
        _table(
            [
                "arm · metric",
                "lift (CUPED)",
                "95 % CI (fixed)",
                "95 % CI (always valid)",
                "p (always valid)",
                "p (fixed)",
                "variance cut",
                "lift (raw)",
                "detectable",
            ],
            lifts,
        )
    }
<p class="note">Act on the always-valid interval and p-value: they stay valid however often this page is
looked at. The fixed-horizon figures hold only at a sample size chosen in advance; "detectable" is the
smallest relative lift this sample finds with 80 % power. CUPED adjusts each customer's outcome by their
orders and revenue in the 90 days before the exposure.</p>
<h2>Sample ratio</h2><p>{html.escape(srm_text)}</p>{offers}
<h2>Over time</h2>{figures}
</body></html>"""
