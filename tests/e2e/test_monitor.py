"""Monitoring end to end: models trained on a synthetic lake, then `monitor` on that lake (stable),
on the lake with every customer's orders doubled (drift, named by feature), and on the scores a
ledger recorded 20 days before (live ROC-AUC as tested; with the scores shuffled, below test)."""

from __future__ import annotations

import csv
import gzip
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from microtarget.identity import Pseudonymizer

from local.aws import LocalAws
from training.cli import main as cli
from training.sources import load_events

END = datetime(2026, 11, 1, tzinfo=UTC)
KEY = "a-monitoring-test-key-of-enough-length"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("monitor")
    assert (
        cli(["generate", "--customers", "900", "--days", "70", "--end", END.isoformat(), "--out", str(root / "lake")])
        == 0
    )
    assert cli(["train", "--source", str(root / "lake"), "--out", str(root / "models")]) == 0
    return root


def _monitor(root: Path, lake: Path, out: Path, *extra: str) -> dict[str, Any]:
    argv = ["monitor", "--source", str(lake), "--models", str(root / "models"), "--as-of", END.isoformat(),
            "--out", str(out), "--workers", "1", "--key-env", "MONITOR_TEST_KEY", *extra]  # fmt: skip
    assert cli(argv) == 0
    return json.loads((out / "latest.json").read_text())


def _doubled(lake: Path, out: Path) -> Path:
    """The same traffic (gzipped JSON lines) with each purchase made twice (a second order a minute later)."""
    for path in lake.rglob("*"):
        if path.is_file():
            lines = []
            for line in gzip.decompress(path.read_bytes()).decode().splitlines():
                lines.append(line)
                event = json.loads(line)
                if event["event_type"] == "purchase":
                    moment = datetime.fromisoformat(event["occurred_at"]) + timedelta(minutes=1)
                    twin = event | {"event_id": event["event_id"] + "-2", "occurred_at": moment.isoformat()}
                    twin["properties"] = event["properties"] | {
                        "order_id": f"{event['properties'].get('order_id', '')}-2"
                    }
                    lines.append(json.dumps(twin))
            target = out / path.relative_to(lake)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return out


@pytest.mark.slow
def test_the_lake_it_was_trained_on_is_stable_and_doubled_orders_drift(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_TEST_KEY", KEY)
    same = _monitor(trained, trained / "lake", tmp_path / "same")
    for model in ("propensity", "churn"):
        assert same["drift"][model]["score"]["level"] != "drift"
        drifted = {name for name, found in same["drift"][model]["features"].items() if found["level"] == "drift"}
        # the synthetic cohort arrived in its first days: 14 days after the test window every
        # customer is older than any the model saw (tenure out of range), and nothing else moved
        assert drifted == {"days_since_first_seen"}, model
    assert same["drift"]["segments"]["level"] == "stable"
    moved = _monitor(trained, _doubled(trained / "lake", tmp_path / "doubled"), tmp_path / "moved")
    features = moved["drift"]["propensity"]["features"]
    assert features["orders_total"]["level"] == "drift" and features["orders_total"]["psi"] > 0.25
    assert features["orders_total"]["psi"] > 5 * same["drift"]["propensity"]["features"]["orders_total"]["psi"]
    assert any(a.startswith("propensity: drift") and "orders_total" in a for a in moved["alerts"])
    assert (tmp_path / "moved" / "2026-10-31.json").read_text() == (tmp_path / "moved" / "latest.json").read_text()
    newer = '{"as_of": "2026-11-30T00:00:00+00:00"}'  # a later run's: this one is a backfill
    (tmp_path / "moved" / "latest.json").write_text(newer)
    _monitor(trained, _doubled(trained / "lake", tmp_path / "doubled"), tmp_path / "moved")
    assert (tmp_path / "moved" / "latest.json").read_text() == newer


def _ledger(trained: Path, tmp_path: Path, shuffle: bool) -> Path:
    """Decisions 20 days before the end, with the scores `score` gives then (as dispatch records them)."""
    at = END - timedelta(days=20)
    scores = tmp_path / "scores.csv"
    argv = ["score", "--source", str(trained / "lake"), "--models", str(trained / "models"), "--as-of", at.isoformat(),
            "--key-env", "MONITOR_TEST_KEY", "--workers", "1", "--out", str(scores)]  # fmt: skip
    assert cli(argv) == 0
    rows = list(csv.DictReader(scores.open()))
    values = [(float(r["propensity"]), float(r["churn_risk"])) for r in rows]
    if shuffle:
        random.Random(1).shuffle(values)
    versions = {
        n: json.loads((trained / "models" / n / "manifest.json").read_text())["version"]
        for n in ("propensity", "churn", "segments")
    }
    to_pid, orders = Pseudonymizer(KEY).pid, Counter()
    for event in load_events(str(trained / "lake")).events:  # what dispatch knows at the decision: orders so far
        if event.event_type == "purchase" and event.occurred_at <= at:
            orders[to_pid(event.customer_id)] += 1
    path = tmp_path / "ledger.jsonl"
    with path.open("w") as handle:
        for row, (propensity, churn) in zip(rows, values, strict=True):
            detail = {"scores": {"propensity": propensity, "churn_risk": churn, "segment": row["segment_name"]},
                      "models": versions, "campaigns": "test", "orders_total": orders[row["pid"]]}  # fmt: skip
            item = {
                "pid": row["pid"],
                "sk": f"d#t-{row['pid']}",
                "at": int(at.timestamp() * 1000),
                "outcome": "holdout",
                "detail": json.dumps(detail),
            }
            handle.write(json.dumps(item) + "\n")
    return path


@pytest.mark.slow
def test_live_performance_from_recorded_scores_and_the_purchases_that_followed(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_aws: LocalAws
) -> None:
    monkeypatch.setenv("MONITOR_TEST_KEY", KEY)
    manifest = json.loads((trained / "models" / "propensity" / "manifest.json").read_text())
    version, test_auc = manifest["version"], manifest["metrics"]["test"]["roc_auc"]
    honest = _monitor(trained, trained / "lake", tmp_path / "honest", "--ledger-file", str(_ledger(trained, tmp_path, False)),
                      "--metrics-namespace", "microtarget-test")  # fmt: skip
    live = honest["performance"]["propensity"]["versions"][version]
    assert live["status"] == "as tested" and live["decisions"] > 500
    assert abs(live["roc_auc"] - test_auc) < 0.05 and live["test_roc_auc"] == round(test_auc, 4)
    (churn,) = honest["performance"]["churn"]["versions"].values()
    assert 0 < churn["decisions"] < live["decisions"]  # customers who have bought: churn's population
    assert churn["status"] == "as tested"
    shuffled = _monitor(
        trained, trained / "lake", tmp_path / "shuffled", "--ledger-file", str(_ledger(trained, tmp_path, True))
    )
    assert shuffled["performance"]["propensity"]["versions"][version]["status"] == "below test"
    assert any("live ROC-AUC" in a for a in shuffled["alerts"])

    cloudwatch = local_aws.client("cloudwatch")
    names = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
             for m in cloudwatch.list_metrics(Namespace="microtarget-test")["Metrics"]}  # fmt: skip
    assert ("DriftMax", ()) in names and ("LiveAucShortfall", ()) in names  # what the alarms watch
    assert ("LiveRocAuc", (("Model", "propensity"),)) in names
    assert ("FeatureDrift", (("Feature", "orders_total"), ("Model", "propensity"))) in names
