"""python -m training uplift: the uplift model from the ledger's experiments and the data lake.

    python -m training uplift --ledger-table T --campaigns campaigns.yaml --source s3://lake --out models/uplift
    python -m training publish models/uplift --promote

An offer gets a model once its experiments hold enough buyers and non-buyers in each arm
(`--min-outcomes`); the others are listed with what they lack, and no model is written when no
offer qualifies (exit 0: nothing to publish yet, offers rank by score x value)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from microtarget.campaigns import parse_campaigns

from training import uplift_html
from training.batch import as_of_or_now
from training.commands import say, tombstones
from training.results_cmd import read_ledger_file, scan_ledger
from training.sources import read_text
from training.train import identity, write_model
from training.uplift import MIN_OUTCOMES, OfferModel, TooFewOutcomes, fit_offer
from training.uplift_data import Exposed, exposed, with_features
from training.uplift_export import check_parity, compose


def register(sub: Any, as_of: Any, positive: Any, engine_options: Any) -> None:
    command = sub.add_parser("uplift", help="the uplift model from the ledger's experiments (a T-learner per offer)")
    command.add_argument("--ledger-table", help="the stack's LedgerTable (scanned)")
    command.add_argument("--ledger-file", help="or a ledger export, JSON lines (path or s3://)")
    command.add_argument("--campaigns", required=True, help="campaigns file: the control arms and the window")
    command.add_argument("--source", required=True, help="folder or s3://bucket/prefix of the lake (the features)")
    command.add_argument("--as-of", type=as_of, help="count exposures whose window closed by then (default: now)")
    command.add_argument("--min-outcomes", type=positive, default=MIN_OUTCOMES,
                         help="buyers and non-buyers needed in each arm of an offer")  # fmt: skip
    command.add_argument("--skip-bad", action="store_true")
    command.add_argument("--out", required=True, help="the model folder to write (then publish it)")
    engine_options(command)
    command.set_defaults(run=cmd_uplift)


def cmd_uplift(args: argparse.Namespace) -> dict[str, Any]:
    if bool(args.ledger_table) == bool(args.ledger_file):
        raise ValueError("give the ledger as one of --ledger-table or --ledger-file")
    campaigns = parse_campaigns(read_text(args.campaigns))
    as_of = as_of_or_now(args)
    items = scan_ledger(args.ledger_table) if args.ledger_table else read_ledger_file(args.ledger_file)
    found = exposed(items, campaigns, as_of)
    options = {"history_days": args.history_days, "engine": args.engine, "workers": args.workers,
               "skip_bad": args.skip_bad, "tombstones": tombstones(args.privacy_table), "work": args.spark_work}  # fmt: skip
    found, missing = with_features(found, args.source, **options)
    fits, skipped = [], {}
    for offer, data in found.items():
        try:
            fits.append(fit_offer(data, args.min_outcomes))
        except TooFewOutcomes as reason:
            skipped[offer] = str(reason)
            say(f"no uplift model for {reason}")
    summary: dict[str, Any] = {"offers": {f.offer: f.metrics for f in fits}, "skipped": skipped,
                               "customers_without_features": missing}  # fmt: skip
    if not fits:
        say("no offer has enough outcomes for an uplift model yet: nothing written")
        return summary
    manifest = build(fits, found, campaigns.attribution_days, as_of.isoformat(), skipped, args.min_outcomes)
    write_model(Path(args.out), manifest.pop("_onnx"), manifest)
    (Path(args.out) / "report.html").write_text(uplift_html.render(manifest), encoding="utf-8")
    for fit in fits:
        say(f"uplift {fit.offer}: Qini {fit.metrics['qini']:+.4f} on held-out customers, "
            f"ranking by recorded propensity {fit.metrics['propensity_qini']:+.4f}")  # fmt: skip
    return summary | {"version": manifest["version"], "out": args.out, "report": f"{args.out}/report.html"}


def build(fits: list[OfferModel], found: dict[str, Exposed], window: int, as_of: str, skipped: dict[str, str],
          min_outcomes: int) -> dict[str, Any]:  # fmt: skip
    """The graph and its manifest (the graph under `_onnx`): gated on the mean Qini over offers
    against the mean Qini of ranking by the recorded propensity, on the same customers."""
    model_bytes = compose(fits)
    rows = np.vstack([found[fit.offer].features for fit in fits])
    parity = check_parity(fits, model_bytes, rows)
    per_offer = {fit.offer: fit.metrics for fit in fits}
    return {
        **identity("uplift", "uplift", model_bytes),
        "offers": [fit.offer for fit in fits],
        "output": {"name": "uplift", "shape": [None, len(fits)], "meaning": "P(buy | sent) - P(buy | held out)"},
        "label": {
            "definition": f"purchase within {window} days after an exposure, sent minus held out",
            "horizon_days": window,
        },
        "metrics": {
            "validation": {"qini": float(np.mean([m["qini"] for m in per_offer.values()])), "offers": per_offer}
        },
        "baseline_metrics": {
            "validation": {"qini": float(np.mean([m["propensity_qini"] for m in per_offer.values()]))}
        },
        "parity": parity,
        "data": {
            "as_of": as_of,
            "min_outcomes": min_outcomes,
            "skipped": skipped,
            "customers": {offer: data.counts() for offer, data in found.items()},
        },
        "_onnx": model_bytes,
    }
