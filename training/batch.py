"""The commands that score every customer as of a moment: `score` (a scores file) and `audience`
(an export for a campaign tool: members, manifest and an EventBridge event when it is ready)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from microtarget.campaigns import parse_campaigns
from microtarget.identity import is_pid
from microtarget.scoring import LoadedModel

from training import build
from training.audience import Selection, manifest, parse_audience, score_records, select, stamp
from training.commands import load_models, pseudonymizer, say, tombstones
from training.jobs import Snapshots
from training.sources import read_text, write_bytes

MEMBER_COLUMNS = ("pid", "propensity", "churn_risk", "segment_name", "as_of")
EVENT_SOURCE = "microtarget.audiences"
CHUNK = 100_000  # customers scored per ONNX run: memory stays flat however many there are


def as_of_or_now(args: Any) -> datetime:
    if args.as_of is None:
        now = datetime.now(UTC).replace(microsecond=0)
        say(f"as of now, {now.isoformat()} (--as-of to choose)")
        return now
    return args.as_of


def scored(args: Any, as_of: datetime) -> tuple[Snapshots, list[dict[str, Any]], dict[str, LoadedModel]]:
    """Every customer in the source as of `as_of`, scored by the models --models or the registry gives."""
    models = load_models(args)
    shots, read = build.snapshots(
        args.source,
        as_of,
        history_days=args.history_days,
        engine=args.engine,
        workers=args.workers,
        skip_bad=args.skip_bad,
        tombstones=tombstones(args.privacy_table),
        work=args.spark_work,
    )
    say(f"{len(shots.pids):,} customers as of {as_of.isoformat()}; {len(read.skipped)} bad lines skipped")
    records = []
    for start in range(0, len(shots.pids), CHUNK):
        part = Snapshots(
            shots.pids[start : start + CHUNK], shots.values[start : start + CHUNK], shots.consent[start : start + CHUNK]
        )
        records += score_records(part, models, as_of)
    return shots, records, models


def cmd_score(args: Any) -> dict[str, Any]:
    as_of = as_of_or_now(args)
    shots, records, models = scored(args, as_of)
    versions = {name: model.version for name, model in models.items()}
    if any(not is_pid(pid) for pid in shots.pids):  # a source with raw ids: the file holds pids
        to_pid = pseudonymizer(args).lake_pid
        for record in records:
            record["pid"] = to_pid(record["pid"])  # a mixed source: lake_pid never makes a pid of a pid
    _write_scores(records, Path(args.out))
    say(f"{len(records):,} customers scored as of {as_of.isoformat()} → {args.out}")
    return {"customers": len(records), "versions": versions}


def _write_scores(records: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(records[0]) if records else ["pid"])
            writer.writeheader()
            writer.writerows(records)
    else:
        path.write_text("".join(json.dumps(record) + "\n" for record in records))


def cmd_audience(args: Any) -> dict[str, Any]:
    audience = parse_audience(read_text(args.definition))
    campaigns = parse_campaigns(read_text(args.campaigns)) if args.campaigns else None
    as_of = as_of_or_now(args)
    shots, records, models = scored(args, as_of)
    versions = {name: model.version for name, model in models.items()}
    if any(not is_pid(pid) for pid in shots.pids):
        raise ValueError(f"{args.source} holds raw customer ids: audiences are built from the pseudonymized lake")
    chosen = select(audience, shots, records, campaigns)
    written = manifest(audience, chosen, as_of, versions, len(shots.pids))
    columns: tuple[str, ...] = MEMBER_COLUMNS
    if args.match:
        matched = _match(args, {m["pid"] for m in chosen.members})
        for member in chosen.members:
            member["customer_id"] = matched.get(member["pid"], "")
        columns = ("customer_id", *MEMBER_COLUMNS)
        written["ids"] = f"customer_id for the {len(matched):,} members in {args.match}, pid for all"
    folder = f"{args.out.rstrip('/')}/{audience.id}/{stamp(as_of)}"
    written["members"] = f"{folder}/members.csv"
    write_bytes(written["members"], _members_csv(chosen, columns))
    write_bytes(f"{folder}/manifest.json", json.dumps(written, indent=2).encode())
    if args.event_bus:
        _announce(args.event_bus, written)
    say(f"audience {audience.id}: {len(chosen.members):,} of {len(shots.pids):,} customers → {written['members']}")
    return written


def _match(args: Any, members: set[str]) -> dict[str, str]:
    """pid → the campaign tool's own id, for the ids it sent (`--match`, a CSV with a
    `--match-column`): re-identification only of customers the tool already knows, with the
    pseudonymization key; nothing maps pids back to ids at rest."""
    rows = list(csv.DictReader(io.StringIO(read_text(args.match))))
    if rows and args.match_column not in rows[0]:
        raise ValueError(f"--match {args.match}: no column {args.match_column!r} (has {', '.join(rows[0])})")
    to_pid = pseudonymizer(args).pid
    known = {
        to_pid(row[args.match_column].strip()): row[args.match_column].strip()
        for row in rows
        if row[args.match_column].strip()
    }
    return {pid: customer for pid, customer in known.items() if pid in members}


def _members_csv(chosen: Selection, columns: tuple[str, ...]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(chosen.members)
    return text.getvalue().encode()


def _announce(bus: str, written: dict[str, Any]) -> None:
    """`Audience ready` on the bus, after both files are in place: a consumer can fetch at once."""
    detail = {k: written[k] for k in ("audience", "as_of", "count", "members", "model_versions")}
    entry = {"Source": EVENT_SOURCE, "DetailType": "Audience ready", "Detail": json.dumps(detail), "EventBusName": bus}
    reply = boto3.client("events").put_events(Entries=[entry])
    if reply.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused the audience event: {reply['Entries'][0].get('ErrorMessage')}")
