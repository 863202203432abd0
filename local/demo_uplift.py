"""The demo's uplift model: learned from its own experiments' week of answers; its Qini on the
held-out customers against ranking by the recorded propensity (with the interval of their
difference, as the gate sees it); what it learned per planted persona against what was planted;
and, when the gate lets it out, the API's scores carrying it."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from microtarget.campaigns import parse_campaigns
from microtarget.scoring import load_model

from local.api_server import serve
from local.aws import LocalAws, free_port
from local.config import CAMPAIGNS
from local.demo_api import call_api
from local.lambda_runtime import LocalFunction
from local.quiet import CommandFailed, training
from training.results_cmd import scan_ledger
from training.synthetic import ANSWERS
from training.uplift_data import exposed, with_features

MIN_OUTCOMES = 10  # buyers and non-buyers per arm: the demo's week holds a few hundred customers an offer


def show_uplift(aws: LocalAws, now: datetime, lake: str, folder: Path, persona_of: dict[str, str],
                examples: dict[str, str]) -> None:  # fmt: skip
    """`persona_of`: pid → planted persona; `examples`: label → raw id of one customer per persona."""
    summary = training(["uplift", "--ledger-table", aws.ref("LedgerTable"), "--campaigns", str(CAMPAIGNS), "--source",
                    lake, "--as-of", now.isoformat(), "--out", str(folder), "--min-outcomes", str(MIN_OUTCOMES)])  # fmt: skip
    print(f"python -m training uplift (a T-learner per offer; at least {MIN_OUTCOMES} buyers and non-buyers per arm):")
    for offer, figures in summary["offers"].items():
        held, (low, high) = figures["held_out"], figures["qini_difference_ci"]
        print(f"  {offer:<14} Qini on {held['treated'] + held['control']} held-out customers: uplift model "
              f"{figures['qini']:+.4f}, ranking by the recorded propensity {figures['propensity_qini']:+.4f} "
              f"(0 is random); their difference 95 % CI [{low:+.4f}, {high:+.4f}]")  # fmt: skip
    for offer, reason in summary["skipped"].items():
        print(f"  {offer:<14} no model: {reason.split(': ', 1)[1]}")
    if not summary["offers"]:
        print("  nothing to publish yet: offers rank by score x value")
        return
    _by_persona(aws, folder, lake, now, persona_of)
    try:
        training(["publish", str(folder), "--bucket", aws.ref("ModelsBucket"), "--promote"])
    except CommandFailed as refused:
        print(f"publish: {refused.said}\n  (offers with rank_by: uplift keep ranking by score x value until it passes)")
        return
    print(f"publish --promote: uplift {summary['version']} live")
    _asked(aws, folder, examples, list(summary["offers"]))


def _by_persona(aws: LocalAws, folder: Path, lake: str, now: datetime, persona_of: dict[str, str]) -> None:
    """The model's uplift for each offer's exposed customers (the population it learned on, read
    as the command reads it), averaged per planted persona, beside the uplift planted."""
    manifest = json.loads((folder / "manifest.json").read_text())
    model = load_model("uplift", manifest, (folder / "model.onnx").read_bytes())
    campaigns = parse_campaigns(CAMPAIGNS.read_text())
    found, _missing = with_features(exposed(scan_ledger(aws.ref("LedgerTable")), campaigns, now), lake)
    for column, offer in enumerate(manifest["offers"]):
        learned = model.predict(found[offer].features)[:, column]
        persona = np.array([persona_of.get(pid, "") for pid in found[offer].pids])
        pairs = [f"{name.replace('_', ' ')} {learned[persona == name].mean():+.2f} ({sent - held:+.2f}, "
                 f"{(persona == name).sum()})" for name, (held, sent) in ANSWERS.items() if (persona == name).any()]  # fmt: skip
        print(f"  {offer}: uplift learned per persona on its {len(learned)} exposed customers (planted, customers): "
              f"{', '.join(pairs)}")  # fmt: skip


def _asked(aws: LocalAws, folder: Path, examples: dict[str, str], offers: list[str]) -> None:
    """GET /v1/customers/{id}/offers for one customer of each persona: the scores now carry uplift."""
    key, port = secrets.token_urlsafe(16), free_port()
    server = serve(LocalFunction(aws, "ApiFunction", folder.parent / "logs"), key, port)
    offer = "cross-sell" if "cross-sell" in offers else offers[0]
    worth = next(o for o in parse_campaigns(CAMPAIGNS.read_text()).offers if o.id == offer)
    print(f"GET /v1/customers/{{id}}/offers → scores; what {offer} is worth by propensity x value - cost, "
          f"and by uplift x value - cost (rank_by: uplift):")  # fmt: skip
    try:
        for label, customer in examples.items():
            body: dict[str, Any] = call_api(
                f"http://127.0.0.1:{port}/v1/customers/{customer}/offers?channel=email", key
            )
            chance, uplift = body["scores"]["propensity"], body["scores"].get(f"uplift.{offer}")
            if isinstance(chance, float) and isinstance(uplift, float):
                print(f"  {label:<32} propensity {chance:.2f} → {chance * worth.value - worth.cost:+6.2f}   "
                      f"uplift {uplift:+.3f} → {uplift * worth.value - worth.cost:+6.2f}")  # fmt: skip
    finally:
        server.shutdown()
