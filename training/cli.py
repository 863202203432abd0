"""python -m training <command> --help"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from microtarget.errors import MicrotargetError

from training import batch, catalog_cmd, commands, monitor_cmd, results_cmd, retrain_cmd, uplift_cmd
from training.export import ParityError
from training.registry import GateRefused
from training.sources import SourceError
from training.transactions import ImportError_


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 date or timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_of(text: str) -> datetime:
    """A timestamp, or a date meaning the end of that day (UTC unless it names a zone)."""
    moment = _moment(text)
    return moment + timedelta(days=1) if len(text.strip()) == 10 else moment


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m training", description="Train, check and publish microtarget models."
    )
    sub = root.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write seeded synthetic site traffic in the archive's layout")
    gen.add_argument("--customers", type=_positive, default=5000)
    gen.add_argument("--days", type=_positive, default=90)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--end", type=_moment, help="last moment of traffic (default: now)")
    gen.add_argument("--out", required=True, help="folder or s3://bucket/prefix")
    gen.add_argument("--truth", help="also write customer_id,persona ground truth to this CSV")
    gen.set_defaults(run=commands.cmd_generate)

    imp = sub.add_parser("import-csv", help="turn a historical transactions CSV into purchase events")
    imp.add_argument("file", help="CSV path or s3:// URI")
    imp.add_argument("--out", required=True, help="folder or s3://bucket/prefix for the events")
    imp.add_argument("--customer-column", default="customer_id")
    imp.add_argument("--date-column", default="date")
    imp.add_argument("--quantity-column", default="quantity")
    imp.add_argument("--amount-column", default="amount")
    imp.add_argument("--order-column", help="optional order id column: its lines become one purchase")
    imp.add_argument("--product-column", help="optional product id column (else items are 'unknown')")
    imp.add_argument("--line-column", help="optional line number column: a repeated line is a duplicate row")
    imp.add_argument("--timezone", default="UTC", help="zone of timestamps without one (default UTC)")
    imp.add_argument("--date-format", help="strptime format, when dates are not ISO-8601")
    imp.add_argument("--skip-bad", action="store_true", help="skip and count bad rows instead of stopping")
    imp.add_argument("--secret-id", help="Secrets Manager id of the pseudonymization key (the lake holds pids)")
    imp.add_argument("--key-env", help="environment variable holding the key (local use)")
    imp.add_argument("--profiles-table", help="the stack's ProfilesTable: leave out orders of customers erased since")
    imp.set_defaults(run=commands.cmd_import_csv)

    train = sub.add_parser("train", help="build point-in-time datasets, fit, evaluate and export all models")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--source", help="folder or s3://bucket/prefix of v1 JSON lines (optionally .gz)")
    source.add_argument("--synthetic", type=_positive, metavar="CUSTOMERS", help="train on generated customers")
    train.add_argument("--days", type=_positive, default=70, help="synthetic days (default 70)")
    train.add_argument("--truth", help="customer_id,persona CSV to score segmentation against")
    _training_options(train)
    train.add_argument("--out", required=True, help="folder for models, report.html and metrics.json")
    train.set_defaults(run=commands.cmd_train)

    for name, helptext in (
        ("publish", "upload trained models as new immutable versions (gated)"),
        ("promote", "point an environment's alias at a version"),
        ("rollback", "move an environment's alias back to its previous version"),
        ("list", "show a model's versions and which one is live"),
    ):
        command = sub.add_parser(name, help=helptext)
        command.add_argument("--bucket", help="model registry bucket (default: $MODELS_BUCKET)")
        command.add_argument("--environment", default="prod")
        if name == "publish":
            command.add_argument("path", help="a train --out folder (all models) or one model's folder")
            command.add_argument("--force", action="store_true", help="publish even if the gate refuses")
            command.add_argument("--promote", action="store_true", help="promote what was published")
        else:
            command.add_argument("--model", required=True, choices=(*commands.MODELS, "recommendations", "uplift"))
        if name == "promote":
            command.add_argument("--version", required=True)
        command.set_defaults(run=getattr(commands, f"cmd_{name}"))

    score = sub.add_parser("score", help="score every customer in an event source as of a time")
    _scoring_options(score)
    score.add_argument("--out", required=True, help=".csv or .jsonl")
    score.add_argument("--secret-id", help="the pseudonymization key, for a source with raw ids (the lake has pids)")
    score.add_argument("--key-env", help="environment variable holding the key (local use)")
    score.set_defaults(run=batch.cmd_score)

    audience = sub.add_parser(
        "audience", help="export an audience (segment, scores, offer, consent) for a campaign tool"
    )
    _scoring_options(audience)
    audience.add_argument("--definition", required=True, help="the audience's JSON definition (path or s3://)")
    audience.add_argument("--campaigns", help="campaigns file, for the definition's offer (path or s3://)")
    audience.add_argument("--out", required=True, help="folder or s3://bucket/audiences: <id>/<as-of>/members.csv")
    audience.add_argument("--event-bus", help="announce the export on this EventBridge bus when it is written")
    audience.add_argument("--match", help="the campaign tool's ids (CSV, path or s3://): members it knows get them")
    audience.add_argument("--match-column", default="customer_id", help="the --match file's id column")
    audience.add_argument("--secret-id", help="Secrets Manager id of the pseudonymization key (for --match)")
    audience.add_argument("--key-env", help="environment variable holding the key (local use)")
    audience.set_defaults(run=batch.cmd_audience)
    results = sub.add_parser("results", help="experiment results from the decisions ledger: JSON and an HTML report")
    results.add_argument("--ledger-table", help="the stack's LedgerTable (scanned)")
    results.add_argument("--ledger-file", help="or a ledger export, JSON lines (path or s3://)")
    results.add_argument("--campaigns", help="campaigns file (path or s3://): arm weights, control, window")
    results.add_argument("--experiment", help="only this experiment (default: every one in the ledger)")
    results.add_argument("--as-of", type=_as_of, help="a timestamp, or a date for the end of that day (default: now)")
    results.add_argument("--out", required=True, help="folder or s3://<models bucket>/results (what the API serves)")
    results.add_argument("--metrics-namespace", help="send each experiment's lifts to CloudWatch (the dashboard)")
    results.set_defaults(run=results_cmd.cmd_results)
    monitor = sub.add_parser("monitor", help="drift from the training baseline (PSI) and the models' live performance")
    _scoring_options(monitor)
    monitor.add_argument("--ledger-table", help="the stack's LedgerTable: the scores recorded at decision time")
    monitor.add_argument("--ledger-file", help="or a ledger export, JSON lines (path or s3://)")
    monitor.add_argument("--lookback-days", type=_positive, default=28, help="decisions matured in this many days")
    monitor.add_argument("--margin", type=float, default=0.05, help="live ROC-AUC this far below test is an alert")
    monitor.add_argument("--metrics-namespace", help="send the figures to CloudWatch under this namespace")
    monitor.add_argument("--secret-id", help="the pseudonymization key, for a source with raw ids (the lake has pids)")
    monitor.add_argument("--key-env", help="environment variable holding the key (local use)")
    monitor.add_argument("--out", required=True, help="folder or s3://<models bucket>/monitoring: latest.json")
    monitor.set_defaults(run=monitor_cmd.cmd_monitor)
    _retrain(sub)
    uplift_cmd.register(sub, _as_of, _positive, _engine_options)
    catalog_cmd.register(sub)
    return root


def _training_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--seed", type=int, default=7)
    command.add_argument("--end", type=_moment, help="end of the data to use (default: the newest event)")
    command.add_argument("--horizon-days", type=_positive, default=14)
    command.add_argument("--train-cutoffs", type=_positive, default=3)
    command.add_argument("--step-days", type=_positive, default=7)
    command.add_argument("--skip-bad", action="store_true", help="skip and count invalid lines")
    command.add_argument("--catalog", help="the product catalog (path or s3://, as `catalog` writes it): the "
                                           "recommender's content signal")  # fmt: skip
    command.add_argument(
        "--max-rows", type=_positive, default=2_000_000, help="fit on at most this many rows (stratified sample)"
    )
    _engine_options(command)


def _retrain(sub: Any) -> None:
    retrain = sub.add_parser("retrain", help="the scheduled job: train on the lake, gate, publish, promote or ask")
    retrain.add_argument("--source", required=True, help="folder or s3://bucket/prefix of the lake")
    _training_options(retrain)
    retrain.add_argument("--bucket", help="model registry bucket (default: $MODELS_BUCKET)")
    retrain.add_argument("--environment", default="prod")
    retrain.add_argument("--approval", choices=("auto", "manual"), default="manual",
                         help="auto: promote what passes the gate; manual: publish and ask (default)")  # fmt: skip
    retrain.add_argument("--topic", help="SNS topic told the outcome (the stack's AlarmTopic)")
    retrain.add_argument("--reports", help="folder or s3:// prefix for each run's report.html and metrics.json")
    retrain.add_argument("--ledger-table", help="with --campaigns: the uplift model from the experiments' outcomes")
    retrain.add_argument("--as-of", type=_as_of, help="uplift: exposures whose window closed by then (default: now)")
    retrain.add_argument("--campaigns", help="campaigns file (path or s3://): the experiments' control arms")
    retrain.set_defaults(run=retrain_cmd.cmd_retrain, synthetic=None, truth=None, days=None)


def _engine_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--engine", choices=("local", "spark"), default="local", help="spark: the distributed engine")
    command.add_argument("--history-days", type=_positive, help="read only this many days before the earliest cutoff")
    command.add_argument("--privacy-table", help="the stack's PrivacyTable: leave out customers with an open erasure")
    command.add_argument("--workers", type=_positive, help="local engine: processes for the replay (default: cores)")
    command.add_argument(
        "--spark-work", help="spark engine on a cluster: s3:// prefix for the job's intermediate Parquet"
    )


def _scoring_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--source", required=True, help="folder or s3://bucket/prefix of the lake")
    command.add_argument("--as-of", type=_as_of, help="a timestamp, or a date for the end of that day (default: now)")
    command.add_argument("--models", help="a train --out folder (instead of the registry)")
    command.add_argument("--bucket", help="model registry bucket (default: $MODELS_BUCKET)")
    command.add_argument("--environment", default="prod")
    command.add_argument("--skip-bad", action="store_true")
    _engine_options(command)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result: Any = args.run(args)
    except (SourceError, ImportError_, GateRefused, ParityError, MicrotargetError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str))
    return 0
