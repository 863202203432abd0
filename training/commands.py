"""What each CLI command does; cli.py only parses arguments and reports errors."""

from __future__ import annotations

import csv
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from microtarget.aws.model_registry import ModelRegistry
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.catalog import Catalog, CatalogInvalid, parse_catalog
from microtarget.identity import Pseudonymizer, parse_keys
from microtarget.scoring import LoadedModel, load_model
from tqdm import tqdm

from training import build
from training.build import Plan
from training.dataset import Rows, plan_timeline, synthetic_rows
from training.lake import SourceError
from training.registry import GateRefused, RegistryWriter
from training.report import write_report
from training.sources import read_text, write_events
from training.synthetic import generate
from training.train import train_all
from training.transactions import Columns, import_transactions

MODELS = ("propensity", "churn", "segments")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_generate(args: Any) -> dict[str, Any]:
    end = args.end or datetime.now(UTC)
    traffic = generate(args.customers, args.days, seed=args.seed, end=end)
    written = write_events(traffic.events, args.out)
    if args.truth:
        with open(args.truth, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["customer_id", "persona"])
            writer.writerows(sorted(traffic.truth.items()))
    say(f"{len(traffic.events):,} events for {args.customers:,} customers in {len(written)} file(s) under {args.out}")
    return {"events": len(traffic.events), "files": len(written)}


def cmd_import_csv(args: Any) -> dict[str, Any]:
    columns = Columns(args.customer_column, args.date_column, args.quantity_column, args.amount_column,
                      args.order_column, args.product_column, args.line_column)  # fmt: skip
    imported = import_transactions(read_text(args.file), columns, args.timezone, args.date_format, args.skip_bad)
    keyed = pseudonymizer(args)
    events, erased = _not_erased(imported.events, keyed, args.profiles_table)
    written = write_events(events, args.out, Path(args.file).stem, keyed)
    for problem in imported.skipped[:20]:
        say(f"skipped {problem}")
    say(
        f"{len(events):,} purchase events written to {len(written)} file(s); {len(imported.skipped)} rows skipped"
        + (f"; {erased:,} of erased customers left out" if erased else "")
    )
    return {"events": len(events), "skipped": len(imported.skipped), "erased": erased}


def _not_erased(
    events: list[dict[str, Any]], pseudonymizer: Pseudonymizer, profiles_table: str | None
) -> tuple[list[dict[str, Any]], int]:
    """Without the orders of customers erased after them (their tombstones in the profiles table):
    an order history exported before an erasure must not bring the customer back."""
    if not profiles_table:
        return events, 0
    from microtarget.aws.profile_store import DynamoProfileStore

    store = DynamoProfileStore(boto3.resource("dynamodb").Table(profiles_table))
    stones = store.erased_before({pseudonymizer.pid(str(e["customer_id"])) for e in events})
    kept = [e for e in events if _ms(e) >= stones.get(pseudonymizer.pid(str(e["customer_id"])), 0)]
    return kept, len(events) - len(kept)


def _ms(event: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(str(event["occurred_at"])).timestamp() * 1000)


def _dataset(args: Any) -> tuple[Rows, Any, dict[str, str] | None, list | None]:
    """Rows, timeline, ground truth if known, and the orders (for the recommender) from real events."""
    if args.synthetic:
        end = args.end or datetime.now(UTC).replace(microsecond=0)
        timeline = plan_timeline(
            end - timedelta(days=args.days), end, args.horizon_days, args.train_cutoffs, args.step_days
        )
        say(f"generating and replaying {args.synthetic:,} synthetic customers over {args.days} days …")
        rows, planted = synthetic_rows(args.synthetic, args.days, args.seed, end, timeline.cutoffs, timeline.horizon)
        return rows, timeline, planted, None
    plan = Plan(args.end, args.horizon_days, args.train_cutoffs, args.step_days, args.history_days)
    say(f"reading {args.source} on the {args.engine} engine …")
    rows, timeline, orders, read = build.dataset(
        args.source,
        plan,
        engine=args.engine,
        workers=args.workers,
        skip_bad=args.skip_bad,
        tombstones=tombstones(args.privacy_table),
        work=args.spark_work,
    )
    counted = f"{read.events:,} events of " if read.events is not None else ""
    say(
        f"{counted}{read.customers:,} customers; {len(read.skipped)} bad lines skipped; "
        f"{read.pruned_objects} objects outside the window not read"
    )
    truth: dict[str, str] | None = None
    if args.truth:
        with open(args.truth, newline="") as handle:
            truth = {row["customer_id"]: row["persona"] for row in csv.DictReader(handle)}
    return rows, timeline, truth, orders


def tombstones(privacy_table: str | None) -> dict[str, int]:
    """The open erasures' tombstones: the lake still holds these customers' past until the erasure
    job's pass has rewritten it, and no job may read it meanwhile."""
    if not privacy_table:
        return {}
    from microtarget.aws.privacy_table import PrivacyTable

    table = PrivacyTable(boto3.resource("dynamodb").Table(privacy_table))
    return {pid: erasure.requested_at for erasure in table.open_erasures() for pid in erasure.pids}


def cmd_train(args: Any) -> dict[str, Any]:
    rows, timeline, truth, orders = _dataset(args)
    if len(rows.customer) > args.max_rows:
        say(f"{len(rows.customer):,} rows: fitting on a sample of {args.max_rows:,}, stratified by cutoff and label")
        rows = rows.capped(args.max_rows, args.seed)
    say(f"{len(rows.purchased):,} rows; training window {timeline.start.date()} → {timeline.end.date()}")
    models = 3 if orders is None else 4
    with tqdm(total=models, desc="models", file=sys.stderr) as bar:
        results = train_all(
            rows, timeline, Path(args.out), truth, step=lambda name: bar.set_postfix_str(name), orders=orders,
            catalog=product_catalog(args.catalog) if orders is not None else None,
        )  # fmt: skip
        bar.update(models)
    report = write_report(results, Path(args.out))
    for name, result in results.items():
        for warning in result["manifest"].get("warnings", []):
            say(f"warning: {name}: {warning}")
    skipped = json.loads((Path(args.out) / "metrics.json").read_text())["skipped"]
    for name, reason in skipped.items():  # the data cannot support it: the others are trained and publishable
        say(f"no {name} model: {reason}")
    say(f"report: {report}")
    return {"headline": headline(results), "models": str(Path(args.out)), "report": str(report), "skipped": skipped}


def product_catalog(location: str | None) -> Catalog | None:
    """The product feed for the recommender's content signal. Without one (none imported yet, or
    one that cannot be read) the recommender learns from orders and views alone, and says so."""
    if not location:
        return None
    try:
        return parse_catalog(read_text(location).encode())
    except (SourceError, CatalogInvalid, ClientError) as exc:
        say(f"warning: catalog {location}: {exc}; the recommender learns without the content signal")
        return None


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """Test-window figures beside the baseline's, and the segmentation's quality."""
    lines: dict[str, Any] = {}
    for name in ("propensity", "churn"):
        manifest = results[name]["manifest"]
        model, base = manifest["metrics"]["test"], manifest["baseline_metrics"]["test"]
        lines[name] = {
            "model": manifest["selection"]["family"],
            **{f"{k}": round(model[k], 4) for k in ("roc_auc", "pr_auc", "lift_top10", "brier")},
            **{f"baseline_{k}": round(base[k], 4) for k in ("roc_auc", "pr_auc", "lift_top10")},
            "onnx_max_abs_diff": manifest["parity"]["max_abs_diff"],
        }
    segments = results["segments"]["manifest"]["metrics"]["validation"]
    lines["segments"] = {k: v for k, v in segments.items() if k != "sizes"} | {"sizes": segments["sizes"]}
    if "recommendations" in results:
        manifest = results["recommendations"]["manifest"]
        lines["recommendations"] = {
            "hit_rate_at_3": round(manifest["metrics"]["test"]["hit_rate"], 4),
            "baseline_popular_hit_rate_at_3": round(manifest["baseline_metrics"]["test"]["hit_rate"], 4),
            "products": manifest["products"],
            "served": manifest["blend"]["served"],
            "trials": manifest["metrics"]["test"]["trials"],
            "comparison": manifest["comparison"]["test"],
        }
    return lines


def registry_of(args: Any) -> RegistryWriter:
    bucket = args.bucket or os.environ.get("MODELS_BUCKET")
    if not bucket:
        raise ValueError("--bucket (or MODELS_BUCKET) is required")
    return RegistryWriter(boto3.client("s3"), bucket)


def cmd_publish(args: Any) -> dict[str, Any]:
    return publish_all(registry_of(args), Path(args.path), args.environment, args.force, args.promote)


def publish_all(registry: RegistryWriter, root: Path, environment: str, force: bool, promote: bool) -> dict[str, str]:
    """Publish every model of a train output folder (or the one model folder `root` is), all or
    none: each is checked against the gate before any is uploaded. Returns model → version."""
    trained = [*MODELS, "recommendations"]  # a train output folder: every model it holds
    folders = [root / m for m in trained if (root / m).is_dir()] if (root / "metrics.json").exists() else [root]
    checked, refused = [], []
    for folder in folders:  # every model is checked before any is published: a refusal leaves the registry as it was
        try:
            checked.append((folder, *registry.check(folder, environment, force)))
        except GateRefused as refusal:
            refused.append(str(refusal))
    if refused:
        raise GateRefused("; ".join(refused) + " (nothing was published)")
    published = {}
    for folder, manifest, reasons in checked:
        manifest = registry.upload(folder, manifest, reasons if force else [])
        published[manifest["model"]] = manifest["version"]
        if promote:
            registry.promote(manifest["model"], manifest["version"], environment)
        say(f"published {manifest['model']} {manifest['version']}{' and promoted' if promote else ''}")
    return published


def cmd_promote(args: Any) -> dict[str, Any]:
    return registry_of(args).promote(args.model, args.version, args.environment)


def cmd_rollback(args: Any) -> dict[str, Any]:
    return registry_of(args).rollback(args.model, args.environment)


def cmd_list(args: Any) -> list[dict[str, Any]]:
    return registry_of(args).listing(args.model, args.environment)


def load_models(args: Any) -> dict[str, LoadedModel]:
    if args.models:
        found = {}
        for name in MODELS:
            folder = Path(args.models) / name
            if not (folder / "manifest.json").is_file() or not (folder / "model.onnx").is_file():
                raise ValueError(
                    f"--models {args.models}: no {name}/manifest.json and model.onnx (a train --out folder)"
                )
            manifest = json.loads((folder / "manifest.json").read_text())
            found[name] = load_model(name, manifest, (folder / "model.onnx").read_bytes())
        return found
    registry = ModelRegistry(boto3.client("s3"), registry_of(args).bucket)
    loaded = {name: registry.load(name, args.environment) for name in MODELS}
    missing = [name for name, model in loaded.items() if model is None]
    if missing:
        raise ValueError(f"no promoted {args.environment} version of {', '.join(missing)}")
    return {name: model for name, model in loaded.items() if model is not None}


def pseudonymizer(args: Any) -> Pseudonymizer:
    if args.secret_id:
        return pseudonymizer_from_secret(args.secret_id)
    key = os.environ.get(args.key_env or "")
    if not key:
        raise ValueError(
            "the pseudonymization key is needed (for a source with raw ids, or --match): give --secret-id, "
            "or --key-env naming a variable that holds it"
        )
    return Pseudonymizer(parse_keys(key))  # one key, or a rotated secret's {"keys": [...]}
