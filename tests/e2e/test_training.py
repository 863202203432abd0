"""Training on synthetic traffic with planted types: quality on a later window, and the CLI end to end."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from microtarget.identity import Pseudonymizer

from local.aws import LocalAws
from training.cli import main as cli
from training.dataset import plan_timeline, synthetic_rows
from training.sources import load_events, write_events
from training.synthetic import generate
from training.train import train_all


@pytest.mark.slow
def test_models_beat_baselines_and_segments_recover_planted_types(tmp_path: Path) -> None:
    end = datetime(2026, 11, 1, tzinfo=UTC)
    timeline = plan_timeline(end - timedelta(days=70), end)
    rows, truth = synthetic_rows(3000, 70, 11, end, timeline.cutoffs, timeline.horizon)
    results = train_all(rows, timeline, tmp_path, truth)
    for name in ("propensity", "churn"):
        manifest = results[name]["manifest"]
        model, baseline = manifest["metrics"]["test"]["roc_auc"], manifest["baseline_metrics"]["test"]["roc_auc"]
        assert model > baseline, f"{name}: {model:.3f} vs baseline {baseline:.3f}"
        assert manifest["parity"]["max_abs_diff"] <= 1e-5
        assert (tmp_path / name / "model.onnx").stat().st_size > 0
    segments = results["segments"]["manifest"]
    assert segments["metrics"]["validation"]["adjusted_rand_index"] >= 0.8
    assert set(segments["segment_names"].values()) >= {"new", "lapsing", "loyal high-value"}


@pytest.mark.slow
def test_cli_generates_trains_publishes_and_scores(local_aws: LocalAws, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    lake = f"s3://{local_aws.ref('DataLakeBucket')}/history"
    bucket = local_aws.ref("ModelsBucket")
    truth = tmp_path / "truth.csv"
    assert cli(["generate", "--customers", "900", "--days", "70", "--out", lake, "--truth", str(truth)]) == 0
    out = tmp_path / "models"
    assert cli(["train", "--source", lake, "--truth", str(truth), "--out", str(out)]) == 0
    assert (out / "report.html").exists() and (out / "metrics.json").exists()
    assert {p.name for p in out.glob("*.png")} == {"propensity_curves.png", "churn_curves.png", "segments.png"}
    assert cli(["publish", str(out), "--bucket", bucket, "--promote"]) == 0
    assert cli(["publish", str(out), "--bucket", bucket]) == 2  # versions are immutable: the same one is refused
    monkeypatch.setenv("TEST_PSEUDONYM_KEY", "a-test-key-of-enough-length")
    scores = tmp_path / "scores.csv"
    assert (
        cli(["score", "--source", lake, "--bucket", bucket, "--key-env", "TEST_PSEUDONYM_KEY", "--out", str(scores)])
        == 0
    )
    with scores.open() as handle:
        rows = list(csv.DictReader(handle))
    raw_ids = set(next(csv.reader(truth.open())) and (r["customer_id"] for r in csv.DictReader(truth.open())))
    assert len(rows) == len(raw_ids)
    assert all(r["pid"].startswith("c_") and r["pid"] not in raw_ids for r in rows)
    assert all(0.0 <= float(r["propensity"]) <= 1.0 and r["segment_name"] for r in rows)
    listing = json.loads((out / "propensity" / "manifest.json").read_text())
    assert listing["parity"]["max_abs_diff"] <= 1e-5
    # the same history as the archive holds it (pids): scored without the key, to the same rows
    history = [e.model_dump(mode="json") for e in load_events(lake).events]
    write_events(history, f"{lake}-pids", "history", Pseudonymizer("a-test-key-of-enough-length"))
    as_of = rows[0]["as_of"]
    again = tmp_path / "again.csv"
    assert cli(["score", "--source", f"{lake}-pids", "--bucket", bucket, "--as-of", as_of, "--out", str(again)]) == 0
    assert sorted(csv.DictReader(again.open()), key=lambda r: r["pid"]) == sorted(rows, key=lambda r: r["pid"])
    assert cli(["score", "--source", lake, "--bucket", bucket, "--out", str(again)]) == 2  # raw ids need the key


def test_cli_reports_bad_arguments_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["train", "--source", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli(["train", "--source", str(tmp_path / "empty"), "--out", str(tmp_path)]) == 2
    assert "no event files" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(["train", "--synthetic", "0", "--out", str(tmp_path)])


def _order_history(path: Path, products: bool) -> None:
    """The synthetic shop's purchases as a till export: a row per line, with or without the product."""
    traffic = generate(700, 70, seed=13, end=datetime(2026, 11, 1, tzinfo=UTC))
    with path.open("w", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["customer", "date", "qty", "amount", "order", *(["sku"] if products else [])])
        for event in traffic.events:
            if event["event_type"] == "purchase":
                for item in event["properties"]["items"]:
                    rows.writerow([event["customer_id"], event["occurred_at"], item["quantity"],
                                   round(item["price"] * item["quantity"], 2), event["properties"]["order_id"],
                                   *([item["product_id"]] if products else [])])  # fmt: skip


@pytest.mark.slow
def test_an_order_history_without_products_trains_and_publishes_all_but_the_recommender(
    local_aws: LocalAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEST_PSEUDONYM_KEY", "a-test-key-of-enough-length")
    bucket, trained = local_aws.ref("ModelsBucket"), {}
    for products in (False, True):
        history, lake, out = (
            tmp_path / f"orders-{products}.csv",
            tmp_path / f"lake-{products}",
            tmp_path / f"m-{products}",
        )
        _order_history(history, products)
        assert cli(["import-csv", str(history), "--out", str(lake), "--customer-column", "customer", "--quantity-column",
                    "qty", "--order-column", "order", *(["--product-column", "sku"] if products else []),
                    "--key-env", "TEST_PSEUDONYM_KEY"]) == 0  # fmt: skip
        capsys.readouterr()
        assert cli(["train", "--source", str(lake), "--out", str(out), "--workers", "1"]) == 0
        said = capsys.readouterr()
        trained[products] = json.loads(said.out) | {"said": said.err}
    assert "recommendations" in trained[False]["skipped"] and not (tmp_path / "m-False" / "recommendations").exists()
    assert "no recommendations model: 0 orders with two or more known products" in trained[False]["said"]
    # the gate may find a purchases-only propensity no better than recency (its call): forced past it,
    # every model the history supports goes out, and no empty recommender stops them
    assert cli(["publish", str(tmp_path / "m-False"), "--bucket", bucket, "--promote", "--force"]) == 0
    published = {p["Key"].split("/")[0] for p in local_aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]}
    assert {"propensity", "churn", "segments"} <= published and "recommendations" not in published
    assert trained[True]["skipped"] == {} and trained[True]["headline"]["recommendations"]["products"] > 20
    # the products-less history trained into the folder that held a recommender: none is left to publish
    assert (
        cli(["train", "--source", str(tmp_path / "lake-False"), "--out", str(tmp_path / "m-True"), "--workers", "1"])
        == 0
    )
    assert not (tmp_path / "m-True" / "recommendations").exists()
