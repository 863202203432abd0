"""python -m training retrain: the scheduled retraining job, what a person at a terminal did by
hand (train, publish, promote), with the gate deciding and the alarm topic told.

    train on the lake (local or Spark engine) → the gate, every model before any is published
      refused: nothing changes; the topic hears why ("kept")
      passed:  every model published; `--approval auto` promotes them, `manual` leaves the live
               versions in place and the topic hears the promote commands to run
    the segments' shares beside the promoted segmentation's (PSI): a shift is reported
    report.html (with its plots) and metrics.json kept under `--reports/<propensity version>/`

    with --ledger-table and --campaigns, the uplift model from the experiments' outcomes, gated
      and published on its own (a refusal or too few outcomes keeps the other models' outcome)

The outcomes of past campaigns reach training twice: through the events (redemptions, e-mail
opens and clicks are features every retraining relearns) and through the ledger, as the uplift
model's data (who was sent what, who was held out, who bought).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import boto3

from training import monitoring
from training.commands import cmd_train, publish_all, registry_of, say
from training.registry import GateRefused, RegistryWriter
from training.sources import write_bytes
from training.uplift import MIN_OUTCOMES
from training.uplift_cmd import cmd_uplift


def promoted_segments(registry: RegistryWriter, environment: str) -> tuple[str, dict[str, int]] | None:
    """(version, segment sizes) of the live segmentation, before this run changes anything."""
    alias = registry.alias("segments", environment)
    if alias is None:
        return None
    return alias["version"], registry.manifest("segments", alias["version"])["metrics"]["validation"]["sizes"]


def segment_shift(before: tuple[str, dict[str, int]] | None, trained: Path) -> dict[str, Any] | None:
    """The new segmentation's shares against the live one's (None before the first)."""
    if before is None:
        return None
    after = json.loads((trained / "segments" / "manifest.json").read_text())["metrics"]["validation"]["sizes"]
    return {"from": before[0], **monitoring.category_drift(before[1], after)}


def _message(outcome: dict[str, Any], environment: str) -> tuple[str, str]:
    lines = [f"microtarget retraining for {environment}: {outcome['status']}"]
    if outcome["status"] == "kept":
        lines.append(f"The gate refused the new models, so the live versions stay: {outcome['reason']}")
    elif outcome["status"] == "promoted":
        lines += [f"Promoted {name} {version}" for name, version in outcome["published"].items()]
    else:
        lines.append("Published, not promoted (approval is manual). To promote:")
        lines += [f"  python -m training promote --model {name} --version {version} --environment {environment}"
                  for name, version in outcome["published"].items()]  # fmt: skip
    uplift = outcome.get("uplift")
    if uplift:
        lines.append(f"Uplift: {uplift['status']}" + (f" ({uplift['reason']})" if uplift.get("reason") else "")
                     + (f", {uplift['version']}" if uplift.get("version") else ""))  # fmt: skip
        if uplift["status"] == "awaiting approval":
            lines.append(f"  python -m training promote --model uplift --version {uplift['version']} "
                         f"--environment {environment}")  # fmt: skip
    shift = outcome.get("segment_shift")
    if shift:
        shares = ", ".join(f"{n} {s['baseline']:.0%} → {s['live']:.0%}" for n, s in shift["shares"].items())
        lines.append(f"Segments against {shift['from']}: PSI {shift['psi']:.2f} ({shift['level']}); {shares}")
    if outcome.get("report"):
        lines.append(f"Report: {outcome['report']}")
    return f"microtarget retraining ({environment}): {outcome['status']}", "\n".join(lines)


def cmd_retrain(args: Any) -> dict[str, Any]:
    try:
        outcome = _retrain(args)
    except Exception as exc:  # the job's failure reaches the topic too, then the job fails
        _tell(args, f"microtarget retraining ({args.environment}): failed",
              f"microtarget retraining for {args.environment} failed; the live versions stay.\n{type(exc).__name__}: {exc}")  # fmt: skip
        raise
    _tell(args, *_message(outcome, args.environment))
    return outcome


def _uplift(args: Any, registry: RegistryWriter, folder: Path) -> dict[str, Any]:
    """The uplift model trained and published by itself: its gate decides for it alone."""
    chosen = {"out": str(folder), "min_outcomes": MIN_OUTCOMES, "ledger_file": None}
    try:
        trained = cmd_uplift(argparse.Namespace(**(vars(args) | chosen)))
    except Exception as exc:  # the other models' outcome stands: this one is reported as failed
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    if "version" not in trained:
        return {"status": "not trained", "reason": "; ".join(trained["skipped"].values()) or "no experiment outcomes"}
    try:
        published = publish_all(registry, folder, args.environment, False, args.approval == "auto")
    except GateRefused as refusal:
        return {"status": "kept", "reason": str(refusal)}
    status = "promoted" if args.approval == "auto" else "awaiting approval"
    if args.reports:  # its page (the Qini curves) beside the run's report
        write_bytes(
            f"{args.reports.rstrip('/')}/{published['uplift']}/uplift.html", (folder / "report.html").read_bytes()
        )
    return {"status": status, "version": published["uplift"], "offers": trained["offers"]}


def _tell(args: Any, subject: str, body: str) -> None:
    say(body)
    if args.topic:
        boto3.client("sns").publish(TopicArn=args.topic, Subject=subject[:100], Message=body)


def _retrain(args: Any) -> dict[str, Any]:
    registry = registry_of(args)
    before = promoted_segments(registry, args.environment)
    with tempfile.TemporaryDirectory(prefix="retrain-") as work:
        args.out = work
        trained = cmd_train(args)
        outcome: dict[str, Any] = {"headline": trained["headline"]}
        try:
            published = publish_all(registry, Path(work), args.environment, False, args.approval == "auto")
        except GateRefused as refusal:
            outcome |= {"status": "kept", "reason": str(refusal), "published": {}}
        else:
            status = "promoted" if args.approval == "auto" else "awaiting approval"
            outcome |= {"status": status, "published": published}
        outcome["segment_shift"] = segment_shift(before, Path(work))
        if args.ledger_table and args.campaigns:
            outcome["uplift"] = _uplift(args, registry, Path(work) / "uplift-model")
        if args.reports:  # under the trained propensity version, published or not
            run = json.loads((Path(work) / "propensity" / "manifest.json").read_text())["version"]
            folder = f"{args.reports.rstrip('/')}/{run}"
            for path in [Path(work) / "report.html", Path(work) / "metrics.json", *sorted(Path(work).glob("*.png"))]:
                write_bytes(f"{folder}/{path.name}", path.read_bytes())  # the page and the plots it shows
            outcome["report"] = f"{folder}/report.html"
    return outcome
