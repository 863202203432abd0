"""python -m training monitor: are the promoted models still fit for the customers they score?

Drift: every customer in the lake is replayed as of the run (the same replay `score` does) and
each feature and each score is compared with the manifest's training baseline (PSI). Live
performance: the scores the engine recorded in the ledger when it decided, for decisions whose
label horizon has passed, against whether the customer bought within it (purchases read from the
lake, so a sale the attribution window would miss still counts). Purchases after a sent offer
include the offer's effect; the figures are of the customers the engine decided on.

    <out>/latest.json, <out>/<as-of date>.json

With `--metrics-namespace` the figures go to CloudWatch (the stack's alarms and dashboard read them).
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from microtarget.clock import DAY_MS, to_ms
from microtarget.features import FEATURE_NAMES
from microtarget.identity import is_pid

from training import monitoring
from training.batch import as_of_or_now, scored
from training.cloudwatch import point, put_metrics
from training.commands import pseudonymizer, registry_of, say
from training.lake import Window, list_objects, object_lines
from training.results_cmd import dated, finite, read_ledger_file, replaces_latest, scan_ledger
from training.sources import write_bytes

CLASSIFIERS = {"propensity": ("propensity", "purchase"), "churn": ("churn_risk", "no purchase")}
ORDERS = FEATURE_NAMES.index("orders_total")


def drift(models: Mapping[str, Any], values: np.ndarray, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per classifier: each feature's and the score's PSI on the model's population; segments' shares."""
    found: dict[str, Any] = {}
    for name, (key, _positive) in CLASSIFIERS.items():
        manifest = models[name].manifest
        keep = values[:, ORDERS] > 0 if name == "churn" else np.ones(len(values), bool)  # as training chose rows
        baseline = manifest.get("feature_baseline", {})
        features = {
            feature: monitoring.column_drift(baseline[feature]["bins"], values[keep, index])
            for index, feature in enumerate(FEATURE_NAMES)
            if "bins" in baseline.get(feature, {})
        }
        scores = np.array([r[key] for r, k in zip(records, keep, strict=True) if k], np.float64)
        score = monitoring.column_drift(manifest["score_baseline"], scores) if "score_baseline" in manifest else None
        psis = [f["psi"] for f in [*features.values(), score or {}] if f.get("psi") is not None]
        found[name] = {"version": models[name].version, "customers": int(keep.sum()), "score": score,
                       "features": features, "max_psi": max(psis) if psis else None}  # fmt: skip
    sizes = models["segments"].manifest["metrics"]["validation"]["sizes"]
    segments = monitoring.category_drift(sizes, Counter(r["segment_name"] for r in records))
    found["segments"] = {"version": models["segments"].version, "customers": len(records), **segments,
                         "max_psi": segments["psi"]}  # fmt: skip
    return found


def decisions(items: Iterable[dict[str, Any]], first_ms: int, last_ms: int) -> dict[str, dict[str, Any]]:
    """Each customer's first decision in [first, last] that recorded scores: pid → (at, scores, versions).
    (The first: a customer decided on every day counts once, as in a test window.)"""
    chosen: dict[str, dict[str, Any]] = {}
    for item in items:
        if not str(item.get("sk", "")).startswith("d#") or not first_ms <= int(item.get("at", -1)) <= last_ms:
            continue
        detail = item.get("detail") or "{}"
        detail = json.loads(detail) if isinstance(detail, str) else detail
        if not detail.get("models") or not detail.get("scores"):
            continue
        at, pid = int(item["at"]), str(item["pid"])
        if pid not in chosen or at < chosen[pid]["at"]:
            chosen[pid] = {"at": at, "scores": detail["scores"], "models": detail["models"],
                           "orders": detail.get("orders_total")}  # None: recorded before monitoring needed it  # fmt: skip
    return chosen


def purchases(source: str, pids: set[str], window: Window, to_pid: Any) -> dict[str, list[int]]:
    """When each of these customers bought, from the lake (sorted ms)."""
    found: dict[str, list[int]] = {}
    for location, _size in list_objects(source, window).objects:
        for line in object_lines(location):
            if b'"purchase"' not in line:  # most lines are views: skip them before parsing
                continue
            try:
                raw = json.loads(line)
                if raw.get("event_type") != "purchase":
                    continue
                customer, moment = str(raw["customer_id"]), datetime.fromisoformat(raw["occurred_at"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # a bad line is ingest's and training's to report; here it is not a purchase
            pid = customer if is_pid(customer) else to_pid(customer)
            if pid in pids and window.holds(moment):
                found.setdefault(pid, []).append(to_ms(moment))
    return {pid: sorted(times) for pid, times in found.items()}


def performance(args: Any, models: Mapping[str, Any], as_of: datetime, items: Iterable[dict]) -> dict[str, Any]:
    horizon = {name: int(models[name].manifest["label"]["horizon_days"]) for name in CLASSIFIERS}
    longest = max(horizon.values())
    end = to_ms(as_of) - min(horizon.values()) * DAY_MS
    chosen = decisions(items, end - args.lookback_days * DAY_MS, to_ms(as_of))
    matured = {pid for pid, d in chosen.items() if d["at"] <= end}
    window = Window(as_of - timedelta(days=args.lookback_days + longest), as_of)
    secret = cache(lambda: pseudonymizer(args))  # only a lake with raw ids needs the key

    def to_pid(raw_id: str) -> str:
        return str(secret().lake_pid(raw_id))

    bought = purchases(args.source, matured, window, to_pid) if matured else {}
    expected = _test_metrics(args, models, chosen)
    report = {}
    for name, (key, positive) in CLASSIFIERS.items():
        h = horizon[name] * DAY_MS
        rows = [
            monitoring.Scored(d["models"][name], float(d["scores"][key]), _bought(bought.get(pid, []), d["at"], h))
            for pid, d in chosen.items()
            if name in d["models"]
            and isinstance(d["scores"].get(key), float)
            and d["at"] + h <= to_ms(as_of)
            and (name != "churn" or d["orders"] is None or d["orders"] > 0)  # churn: customers who have bought
        ]
        live = monitoring.live_performance(rows, expected[name], positive, args.margin)
        maturing = sum(1 for d in chosen.values() if name in d["models"] and d["at"] + h > to_ms(as_of))
        report[name] = {"horizon_days": horizon[name], "versions": live, "maturing": maturing}
    return report


def _bought(times: list[int], at: int, horizon_ms: int) -> bool:
    after = bisect_right(times, at)
    return after < len(times) and times[after] <= at + horizon_ms


def _test_metrics(args: Any, models: Mapping[str, Any], chosen: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The test-window metrics of each classifier version that scored a decision (the loaded
    ones, and from the registry the versions promoted before them)."""
    found = {name: {models[name].version: models[name].manifest["metrics"]["test"]} for name in CLASSIFIERS}
    if args.models:  # a train --out folder holds one version of each
        return found
    registry = registry_of(args)
    for name in CLASSIFIERS:
        known = set(registry.versions(name))
        for version in {d["models"][name] for d in chosen.values() if name in d["models"]} - set(found[name]):
            if version in known:
                found[name][version] = registry.manifest(name, version)["metrics"]["test"]
    return found


def alerts(document: Mapping[str, Any]) -> list[str]:
    found = []
    for name, entry in document["drift"].items():
        if entry["max_psi"] is not None and entry["max_psi"] > monitoring.DRIFT:
            moved = [f for f, d in entry.get("features", {}).items() if d["level"] == "drift"]
            found.append(f"{name}: drift (PSI {entry['max_psi']:.2f}" + (f"; {', '.join(moved)})" if moved else ")"))
    for name, entry in document.get("performance", {}).items():
        for version, live in entry["versions"].items():
            if live.get("status") == "below test":
                found.append(
                    f"{name} {version}: live ROC-AUC {live['roc_auc']:.3f}, {live['auc_shortfall']:.3f} below its test window"
                )
    return found


def metric_data(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The CloudWatch figures: per model and feature, and the worst of all (what the alarms watch)."""

    worst = [e["max_psi"] for e in document["drift"].values() if e["max_psi"] is not None]
    if worst:  # nothing measurable sends nothing: a 0 would tell the alarm all is well
        yield point("DriftMax", max(worst))
    for name, entry in document["drift"].items():
        if entry["max_psi"] is not None:
            yield point("DriftMax", entry["max_psi"], Model=name)
        if entry.get("score") and entry["score"]["psi"] is not None:
            yield point("ScoreDrift", entry["score"]["psi"], Model=name)
        for feature, found in entry.get("features", {}).items():
            if found["psi"] is not None:
                yield point("FeatureDrift", found["psi"], Model=name, Feature=feature)
    shortfalls = []
    for name, entry in document.get("performance", {}).items():
        live_version = document["drift"][name]["version"]
        # the newest version with matured figures that is not newer than the live one (versions
        # begin with their time): a fresh promotion has none for a label horizon, so its
        # predecessor's speak until then; after a rollback the retired newer one no longer does
        measured = [v for v, live in entry["versions"].items() if "roc_auc" in live and v <= live_version]
        if not measured:
            continue
        live = entry["versions"][max(measured)]
        yield point("LiveRocAuc", live["roc_auc"], Model=name)
        yield point("LiveCalibrationError", live["calibration_error"], Model=name)
        if "auc_shortfall" in live:
            shortfalls.append(live["auc_shortfall"])
            yield point("LiveAucShortfall", live["auc_shortfall"], Model=name)
    if shortfalls:
        yield point("LiveAucShortfall", max(shortfalls))


def cmd_monitor(args: Any) -> dict[str, Any]:
    if args.ledger_table and args.ledger_file:
        raise ValueError("give the ledger as one of --ledger-table or --ledger-file")
    as_of = as_of_or_now(args)
    shots, records, models = scored(args, as_of)
    document: dict[str, Any] = {"as_of": as_of.isoformat(), "drift": drift(models, shots.values, records)}
    if args.ledger_table or args.ledger_file:
        items = scan_ledger(args.ledger_table) if args.ledger_table else read_ledger_file(args.ledger_file)
        document["performance"] = performance(args, models, as_of, items)
    else:
        say("no --ledger-table or --ledger-file: live performance is skipped")
    document["alerts"] = alerts(document)
    body = json.dumps(finite(document), indent=1, allow_nan=False).encode()
    folder = args.out.rstrip("/")
    write_bytes(f"{folder}/{dated(as_of)}", body)
    if replaces_latest(folder, as_of):
        write_bytes(f"{folder}/latest.json", body)
    else:
        say(f"{folder}/latest.json is of a later day and stays (a backfill): {dated(as_of)} written")
    sent = put_metrics(args.metrics_namespace, metric_data(document), as_of) if args.metrics_namespace else 0
    for line in document["alerts"] or ["no drift, live performance as tested"]:
        say(line)
    return {"customers": len(records), "alerts": document["alerts"], "metrics": sent, "out": f"{folder}/latest.json",
            "max_psi": {name: entry["max_psi"] for name, entry in document["drift"].items()}}  # fmt: skip
