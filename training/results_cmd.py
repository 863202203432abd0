"""python -m training results: every experiment's results from the decisions ledger, as JSON
(what GET /v1/experiments/{id}/results serves) and an HTML report, per experiment.

    <out>/<experiment>/latest.json, latest.html   the newest results (replaced each run)
    <out>/<experiment>/<as-of date>.json           one per day, for the record

With `--out s3://<models bucket>/results` the API answers with the newest. The ledger is read by
a parallel scan (segments), keeping only what results need: exposures and conversions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError
from microtarget.campaigns import Campaigns, parse_campaigns
from microtarget.clock import to_ms

from training import results_html
from training.batch import as_of_or_now
from training.cloudwatch import point, put_metrics
from training.commands import say
from training.experiments import collect
from training.results import analyse
from training.sources import SourceError, read_text, write_bytes
from training.stats import SEQUENTIAL_TUNING

FIELDS = ("pid", "sk", "at", "outcome", "offer_id", "experiments", "detail", "event_type", "revenue_cents")
DEFAULT_WINDOW_DAYS = 7


def scan_ledger(table_name: str, segments: int = 4) -> Iterator[dict[str, Any]]:
    """Every exposure and conversion in the ledger, by `segments` scans at once."""
    table = boto3.resource("dynamodb").Table(table_name)
    names = {f"#{name}": name for name in FIELDS}

    def segment(number: int) -> list[dict[str, Any]]:
        items, start = [], None
        while True:
            page: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            reply = table.scan(Segment=number, TotalSegments=segments, ProjectionExpression=", ".join(names),
                               ExpressionAttributeNames=names, **page)  # fmt: skip
            items.extend(reply["Items"])
            start = reply.get("LastEvaluatedKey")
            if not start:
                return items

    with ThreadPoolExecutor(segments) as pool:
        for items in pool.map(segment, range(segments)):
            yield from items


def read_ledger_file(path: str) -> Iterator[dict[str, Any]]:
    """A ledger export as JSON lines (one item a line, as the table holds it)."""
    for number, line in enumerate(read_text(path).splitlines(), 1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(f"{path} line {number}: not JSON ({exc.msg})") from None


def experiment_config(campaigns: Campaigns | None, name: str) -> tuple[dict[str, float] | None, str | None, int]:
    """(the arms' weights, the control arm, the sequential test's tuning) as the campaigns file
    configures the experiment."""
    experiment = next((e for e in campaigns.experiments if e.id == name), None) if campaigns else None
    if experiment is None:
        return None, None, SEQUENTIAL_TUNING
    control = next((arm.name for arm in experiment.arms if arm.control), None)
    return {arm.name: arm.weight for arm in experiment.arms}, control, experiment.expected_customers_per_arm


def compute(items: Any, campaigns: Campaigns | None, as_of: datetime, experiment: str | None = None) -> list[dict]:
    window = campaigns.attribution_days if campaigns else DEFAULT_WINDOW_DAYS
    found = collect(items, experiment)
    if experiment is not None and experiment not in found:
        raise SourceError(f"experiment {experiment!r} has no exposures in the ledger")
    documents = []
    for name, units in found.items():
        weights, control, tuning = experiment_config(campaigns, name)
        documents.append(analyse(units, weights, control, window, to_ms(as_of), tuning=tuning))
    return documents


def dated(as_of: datetime) -> str:
    """The file a run keeps for the record: named for the last day its figures include (a run as
    of midnight covers the day before)."""
    return f"{(as_of - timedelta(microseconds=1)).date().isoformat()}.json"


def replaces_latest(folder: str, as_of: datetime) -> bool:
    """Whether a run as of `as_of` may replace `<folder>/latest.json`: not when the one there is
    of a later moment (a backfill keeps the newest figures where the API and dashboards read
    them, and writes only its dated file)."""
    try:
        current = json.loads(read_text(f"{folder}/latest.json")).get("as_of")
    except (SourceError, ClientError, ValueError):  # none yet, or unreadable: this run's replaces it
        return True
    return not isinstance(current, str) or datetime.fromisoformat(current) <= as_of


def finite(value: Any) -> Any:
    """The document with every NaN or infinity as null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def metric_data(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Per experiment and arm: customers, and per treatment arm the conversion and revenue lift
    with its always-valid interval (what the dashboard plots); the SRM p-value."""
    name = document["experiment"]
    for arm in document["arms"]:
        yield point("ExperimentCustomers", arm["customers"], Experiment=name, Arm=arm["name"])
    if document["srm"]:
        yield point("ExperimentSrmPValue", document["srm"]["p_value"], Experiment=name)
    for entry in document["lifts"]:
        if entry["cuped"] is None or entry["cuped"]["relative"] is None:
            continue
        metric = "Conversion" if entry["metric"] == "converted" else "Revenue"
        yield point(f"Experiment{metric}Lift", entry["cuped"]["relative"], Experiment=name, Arm=entry["arm"])
        low, high = (entry["sequential"] or {}).get("relative_ci") or (math.nan, math.nan)
        yield point(f"Experiment{metric}LiftLow", low, Experiment=name, Arm=entry["arm"])
        yield point(f"Experiment{metric}LiftHigh", high, Experiment=name, Arm=entry["arm"])


def cmd_results(args: Any) -> dict[str, Any]:
    if bool(args.ledger_table) == bool(args.ledger_file):
        raise ValueError("give the ledger as one of --ledger-table or --ledger-file")
    campaigns = parse_campaigns(read_text(args.campaigns)) if args.campaigns else None
    if campaigns is None:
        say("no --campaigns: the sample-ratio check needs the arms' weights and is skipped")
    as_of = as_of_or_now(args)
    items = scan_ledger(args.ledger_table) if args.ledger_table else read_ledger_file(args.ledger_file)
    summary: dict[str, Any] = {}
    figures: list[dict[str, Any]] = []
    for document in compute(items, campaigns, as_of, args.experiment):
        folder = f"{args.out.rstrip('/')}/{document['experiment']}"
        body = json.dumps(finite(document), indent=1, default=str, allow_nan=False).encode()
        latest = replaces_latest(folder, as_of)
        write_bytes(f"{folder}/{dated(as_of)}", body)
        if latest:
            write_bytes(f"{folder}/latest.html", results_html.render(document).encode())
            write_bytes(f"{folder}/latest.json", body)  # last: the API never serves a report without its page
        else:
            say(f"{document['experiment']}: {folder}/latest.json is of a later day and stays; {dated(as_of)} written")
        summary[document["experiment"]] = {"customers": {a["name"]: a["customers"] for a in document["arms"]},
                                           "verdicts": document["verdicts"],
                                           "report": f"{folder}/latest.html" if latest else f"{folder}/{dated(as_of)}"}  # fmt: skip
        say(f"{document['experiment']}: " + "; ".join(document["verdicts"]))
        figures += metric_data(finite(document))
    if args.metrics_namespace:  # after every experiment's files: a refusal loses no results
        put_metrics(args.metrics_namespace, figures, as_of)
    return summary
