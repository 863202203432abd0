"""Campaigns and models refresh on a TTL; bad or missing ones degrade instead of failing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from microtarget.aws.serving import ServingState
from microtarget.campaigns import parse_campaigns

from local.aws import LocalAws
from tests.helpers.models import model_folder
from training.registry import RegistryWriter

CATALOG = (Path(__file__).resolve().parents[2] / "campaigns" / "catalog.yaml").read_text()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def state_for(aws: LocalAws, clock: Clock, problems: list[str]) -> ServingState:
    return ServingState(
        aws.client("s3"),
        aws.ref("ModelsBucket"),
        "config/campaigns.yaml",
        "prod",
        ttl_seconds=60,
        clock=clock,
        on_problem=lambda metric, _detail: problems.append(metric),
    )


def test_promote_and_rollback_take_effect_after_one_ttl(local_aws: LocalAws, tmp_path: Path) -> None:
    registry = RegistryWriter(local_aws.client("s3"), local_aws.ref("ModelsBucket"))
    registry.publish(model_folder(tmp_path, "propensity", "v1", auc=0.8))
    registry.promote("propensity", "v1")
    clock, problems = Clock(), []
    state = state_for(local_aws, clock, problems)
    assert state.models()["propensity"].version == "v1"
    assert "ModelMissing" in problems and "churn" not in state.models()  # missing: left out, reported
    registry.publish(model_folder(tmp_path, "propensity", "v2", auc=0.9))
    registry.promote("propensity", "v2")
    clock.now = 59
    assert state.models()["propensity"].version == "v1"  # still inside the TTL
    clock.now = 61
    assert state.models()["propensity"].version == "v2"
    registry.rollback("propensity")
    clock.now = 122
    assert state.models()["propensity"].version == "v1"
    registry.promote("propensity", "v2")  # then a SnapStart restore, long after the snapshot
    clock.now = 123
    assert state.models()["propensity"].version == "v1"
    state.expire()
    assert state.models()["propensity"].version == "v2"  # re-read at once, not a TTL later


def test_a_bad_campaigns_file_keeps_the_last_good_one_and_raises_the_alarm(local_aws: LocalAws) -> None:
    s3, bucket = local_aws.client("s3"), local_aws.ref("ModelsBucket")
    s3.put_object(Bucket=bucket, Key="config/campaigns.yaml", Body=CATALOG)
    clock, problems = Clock(), []
    state = state_for(local_aws, clock, problems)
    good = state.campaigns()
    assert good is not None and good.version == parse_campaigns(CATALOG).version
    s3.put_object(Bucket=bucket, Key="config/campaigns.yaml", Body=CATALOG.replace("value: 45.0", "value: -1"))
    clock.now = 61
    assert state.campaigns() is good
    assert problems == ["CampaignsInvalid"]
    assert "offer 'cart-recovery' value" in state.problems["campaigns"]


def test_a_tampered_model_is_left_out(local_aws: LocalAws, tmp_path: Path) -> None:
    registry = RegistryWriter(local_aws.client("s3"), local_aws.ref("ModelsBucket"))
    registry.publish(model_folder(tmp_path, "churn", "v1", auc=0.8))
    registry.promote("churn", "v1")
    key = "churn/v1/model.onnx"
    registry.s3.put_object(Bucket=registry.bucket, Key=key, Body=b"not a model")
    problems: list[str] = []
    state = state_for(local_aws, Clock(), problems)
    assert "churn" not in state.models() and "ModelRejected" in problems
    assert "sha256" in state.problems["churn"]


def test_the_recommender_is_verified_and_refreshed_like_the_models(local_aws: LocalAws, tmp_path: Path) -> None:
    s3, bucket = local_aws.client("s3"), local_aws.ref("ModelsBucket")
    registry = RegistryWriter(s3, bucket)
    for version, pairs in (("r1", {"A": [["B", 0.9]]}), ("r2", {"A": [["C", 0.8]]})):
        body = json.dumps({"neighbours": pairs, "popular": ["Z"]}).encode()
        folder = tmp_path / version
        folder.mkdir()
        (folder / "model.json").write_bytes(body)
        manifest = {"model": "recommendations", "kind": "recommender", "artifact": "model.json", "version": version,
                    "created": version, "sha256": hashlib.sha256(body).hexdigest(),
                    "metrics": {"validation": {"hit_rate": 0.3}}, "baseline_metrics": {"validation": {"hit_rate": 0.1}}}  # fmt: skip
        (folder / "manifest.json").write_text(json.dumps(manifest))
        registry.publish(folder)
    registry.promote("recommendations", "r1")
    clock, problems = Clock(), []
    state = state_for(local_aws, clock, problems)
    assert state.recommender().recommend(["A"], 2) == ["B", "Z"]
    registry.promote("recommendations", "r2")
    clock.now = 61
    assert state.recommender().recommend(["A"], 1) == ["C"]
    s3.put_object(Bucket=bucket, Key="recommendations/r1/model.json", Body=b"{}")  # tampered with
    registry.rollback("recommendations")
    clock.now = 122
    assert state.recommender() is None and problems[-1] == "ModelRejected"  # messages go without suggestions


def test_the_product_catalog_is_read_on_the_ttl_only_when_it_changed_and_a_bad_one_keeps_the_last(
    local_aws: LocalAws,
) -> None:
    s3, bucket = local_aws.client("s3"), local_aws.ref("ModelsBucket")
    clock, problems = Clock(), []
    state = state_for(local_aws, clock, problems)
    assert state.catalog() is None and "no config/products.jsonl" in state.problems["catalog"] and not problems
    good = b'{"product_id": "P1", "name": "Trail sneakers", "price": 89.9}\n'
    s3.put_object(Bucket=bucket, Key="config/products.jsonl", Body=good)
    clock.now += 61
    first = state.catalog()
    assert first is not None and first.products["P1"].name == "Trail sneakers" and "catalog" not in state.problems
    clock.now += 61
    assert state.catalog() is first  # unchanged (the ETag matched): not read or parsed again
    s3.put_object(Bucket=bucket, Key="config/products.jsonl", Body=good + b'{"product_id": "P2"}\n')
    clock.now += 61
    assert state.catalog() is first and problems == ["CatalogInvalid"]  # the last good one is served
    assert "catalog line 2: name: Field required" in state.problems["catalog"]
    s3.put_object(Bucket=bucket, Key="config/products.jsonl", Body=good.replace(b"89.9", b"79.9"))
    clock.now += 61
    assert state.catalog().products["P1"].price == 79.9 and "catalog" not in state.problems  # type: ignore[union-attr]
    s3.delete_object(Bucket=bucket, Key="config/products.jsonl")
    clock.now += 61
    assert state.catalog().products["P1"].price == 79.9  # type: ignore[union-attr]  # what is unavailable still holds
    assert problems == ["CatalogInvalid", "CatalogInvalid"] and "is gone; keeping version" in state.problems["catalog"]
