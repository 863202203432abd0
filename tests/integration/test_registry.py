"""The S3 model registry on moto: publish, promote, rollback, list, the gate, and verification."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from microtarget.aws.model_registry import ModelRegistry, manifest_key, model_key
from microtarget.scoring import ModelRejected

from local.aws import LocalAws
from tests.helpers.models import features, model_folder
from training.registry import GateRefused, RegistryWriter


@pytest.fixture
def registry(local_aws: LocalAws) -> RegistryWriter:
    return RegistryWriter(local_aws.client("s3"), local_aws.ref("ModelsBucket"))


def test_publish_promote_rollback_round_trip(registry: RegistryWriter, tmp_path: Path) -> None:
    registry.publish(model_folder(tmp_path, "propensity", "v1", auc=0.80))
    assert registry.alias("propensity", "prod") is None  # publishing alone changes nothing live
    registry.promote("propensity", "v1")
    registry.publish(model_folder(tmp_path, "propensity", "v2", auc=0.82))
    registry.promote("propensity", "v2")
    assert registry.alias("propensity", "prod")["version"] == "v2"
    assert [(row["version"], row["live"]) for row in registry.listing("propensity")] == [("v1", False), ("v2", True)]
    registry.rollback("propensity")
    assert registry.alias("propensity", "prod")["version"] == "v1"
    loaded = ModelRegistry(registry.s3, registry.bucket).load("propensity", "prod")
    assert loaded is not None and loaded.version == "v1"
    assert loaded.predict(features(3)).shape == (3,)
    with pytest.raises(KeyError, match="no earlier"):
        registry.rollback("propensity")


def test_gate_refuses_a_model_that_does_not_beat_the_baseline(registry: RegistryWriter, tmp_path: Path) -> None:
    with pytest.raises(GateRefused, match="does not beat the baseline"):
        registry.publish(model_folder(tmp_path, "churn", "v1", auc=0.60, baseline_auc=0.65))
    assert registry.versions("churn") == []
    registry.publish(model_folder(tmp_path, "churn", "v1-forced", auc=0.60, baseline_auc=0.65), force=True)
    assert registry.versions("churn") == ["v1-forced"]


def test_gate_refuses_a_model_worse_than_the_promoted_one(registry: RegistryWriter, tmp_path: Path) -> None:
    registry.publish(model_folder(tmp_path, "propensity", "good", auc=0.85))
    registry.promote("propensity", "good")
    with pytest.raises(GateRefused, match=r"below promoted good \(0.8500\)"):
        registry.publish(model_folder(tmp_path, "propensity", "worse", auc=0.80))


def test_versions_are_immutable(registry: RegistryWriter, tmp_path: Path) -> None:
    registry.publish(model_folder(tmp_path, "propensity", "v1", auc=0.8))
    with pytest.raises(GateRefused, match="immutable"):
        registry.publish(model_folder(tmp_path / "again", "propensity", "v1", auc=0.9))


def test_serving_refuses_a_tampered_model_or_foreign_feature_names(registry: RegistryWriter, tmp_path: Path) -> None:
    registry.publish(model_folder(tmp_path, "propensity", "v1", auc=0.8))
    registry.promote("propensity", "v1")
    reader = ModelRegistry(registry.s3, registry.bucket)
    body = reader.model_bytes("propensity", "v1")
    registry.s3.put_object(Bucket=registry.bucket, Key=model_key("propensity", "v1"), Body=body + b"\0")
    with pytest.raises(ModelRejected, match="sha256"):
        reader.load("propensity", "prod")
    registry.s3.put_object(Bucket=registry.bucket, Key=model_key("propensity", "v1"), Body=body)
    manifest = reader.manifest("propensity", "v1") | {"feature_names": ["something", "else"]}
    registry.s3.put_object(Bucket=registry.bucket, Key=manifest_key("propensity", "v1"), Body=json.dumps(manifest))
    with pytest.raises(ModelRejected, match="feature names"):
        reader.load("propensity", "prod")


def test_publish_checks_every_model_before_publishing_any(
    registry: RegistryWriter, local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from training.cli import main as cli

    # Given a train output whose churn model does not beat its baseline, beside a good propensity one
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    model_folder(tmp_path, "propensity", "v1", auc=0.80).rename(out / "propensity")
    model_folder(tmp_path, "churn", "v1", auc=0.55, baseline_auc=0.60).rename(out / "churn")
    # When it is published, Then nothing is: the good model does not go out alone
    assert cli(["publish", str(out), "--bucket", local_aws.ref("ModelsBucket")]) == 2
    assert "churn v1 not published" in capsys.readouterr().err
    assert registry.versions("propensity") == [] and registry.versions("churn") == []
