"""The scheduled retraining job on the local AWS: trained from the lake in S3, gated, published,
promoted (approval auto) or left for a person (manual) with the commands to run, kept when the
gate refuses; each outcome told on the alarm topic, the segments' shift beside the live ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.aws import LocalAws
from tests.helpers.uplift import planted
from training.cli import main as cli

END = datetime(2026, 11, 1, tzinfo=UTC)


def _listen(aws: LocalAws) -> str:
    sqs, sns = aws.client("sqs"), aws.client("sns")
    url = sqs.create_queue(QueueName=f"alarms-{aws.stack_name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=aws.ref("AlarmTopic"), Protocol="sqs", Endpoint=arn)
    return url


def _told(aws: LocalAws, queue: str) -> dict[str, Any]:
    (message,) = aws.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10)[
        "Messages"
    ]
    aws.client("sqs").delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return json.loads(message["Body"])


def _retrain(aws: LocalAws, approval: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    models = aws.ref("ModelsBucket")
    argv = ["retrain", "--source", f"s3://{aws.ref('DataLakeBucket')}/history", "--bucket", models,
            "--environment", "prod", "--approval", approval, "--topic", aws.ref("AlarmTopic"),
            "--reports", f"s3://{models}/training", "--workers", "1"]  # fmt: skip
    capsys.readouterr()
    assert cli(argv) == 0
    return json.loads(capsys.readouterr().out)


def _live(aws: LocalAws, model: str) -> str:
    body = aws.client("s3").get_object(Bucket=aws.ref("ModelsBucket"), Key=f"{model}/prod.json")["Body"].read()
    return str(json.loads(body)["version"])


@pytest.mark.slow
def test_retraining_promotes_or_asks_and_keeps_what_the_gate_refuses(
    local_aws: LocalAws, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = f"s3://{local_aws.ref('DataLakeBucket')}/history"
    assert cli(["generate", "--customers", "900", "--days", "70", "--end", END.isoformat(), "--out", lake]) == 0
    queue = _listen(local_aws)

    first = _retrain(local_aws, "auto", capsys)
    assert first["status"] == "promoted" and set(first["published"]) == {
        "propensity",
        "churn",
        "segments",
        "recommendations",
    }
    assert all(_live(local_aws, name) == version for name, version in first["published"].items())
    assert first["segment_shift"] is None  # nothing was live before
    told = _told(local_aws, queue)
    assert (
        told["Subject"] == "microtarget retraining (prod): promoted" and first["published"]["churn"] in told["Message"]
    )
    s3, models = local_aws.client("s3"), local_aws.ref("ModelsBucket")
    report = first["report"][len(f"s3://{models}/") :]
    page = s3.get_object(Bucket=models, Key=report)["Body"].read().decode()
    assert page.startswith("<!doctype html>") and 'src="segments.png"' in page
    s3.head_object(Bucket=models, Key=report.replace("report.html", "segments.png"))  # the plots beside it

    second = _retrain(local_aws, "manual", capsys)
    assert (
        second["status"] == "awaiting approval"
        and second["published"]["propensity"] != first["published"]["propensity"]
    )
    assert _live(local_aws, "propensity") == first["published"]["propensity"]  # a person decides
    shift = second["segment_shift"]
    assert shift["from"] == first["published"]["segments"] and shift["level"] == "stable"  # the same customers
    message = _told(local_aws, queue)["Message"]
    assert (
        f"python -m training promote --model propensity --version {second['published']['propensity']} --environment prod"
        in message
    )
    assert "Segments against " in message

    live = first["published"]["propensity"]  # a live model the new one cannot beat
    key = f"propensity/{live}/manifest.json"
    manifest = json.loads(s3.get_object(Bucket=models, Key=key)["Body"].read())
    manifest["metrics"]["validation"]["roc_auc"] = 0.999
    s3.put_object(Bucket=models, Key=key, Body=json.dumps(manifest))
    versions = {
        p["Prefix"] for p in s3.list_objects_v2(Bucket=models, Prefix="churn/", Delimiter="/")["CommonPrefixes"]
    }
    third = _retrain(local_aws, "auto", capsys)
    assert third["status"] == "kept" and third["published"] == {} and "below promoted" in third["reason"]
    after = {p["Prefix"] for p in s3.list_objects_v2(Bucket=models, Prefix="churn/", Delimiter="/")["CommonPrefixes"]}
    assert after == versions and _live(local_aws, "churn") == first["published"]["churn"]  # all or none
    assert "The gate refused the new models" in _told(local_aws, queue)["Message"]

    argv = ["retrain", "--source", f"s3://{local_aws.ref('DataLakeBucket')}/nothing-here", "--bucket", models,
            "--environment", "prod", "--topic", local_aws.ref("AlarmTopic")]  # fmt: skip
    assert cli(argv) == 2  # the job fails, and says so on the topic first
    failed = _told(local_aws, queue)
    assert (
        failed["Subject"] == "microtarget retraining (prod): failed" and "the live versions stay" in failed["Message"]
    )


@pytest.mark.slow
def test_retraining_learns_the_uplift_model_from_the_ledger_and_publishes_it_on_its_own(
    local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = planted(tmp_path, 1_200, END, days=70)
    with boto3.resource("dynamodb").Table(local_aws.ref("LedgerTable")).batch_writer() as batch:
        for item in scenario.items:
            batch.put_item(Item=item)
    models = local_aws.ref("ModelsBucket")
    argv = ["retrain", "--source", str(scenario.lake), "--bucket", models, "--approval", "auto", "--workers", "1",
            "--ledger-table", local_aws.ref("LedgerTable"), "--campaigns", str(scenario.campaigns),
            "--as-of", scenario.as_of.isoformat(), "--reports", str(tmp_path / "reports")]  # fmt: skip
    capsys.readouterr()
    assert cli(argv) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["status"] == "promoted" and "uplift" not in outcome["published"]  # the others' gate is theirs
    uplift = outcome["uplift"]
    assert uplift["status"] == "promoted" and _live(local_aws, "uplift") == uplift["version"]
    assert uplift["offers"]["weekend-deal"]["qini"] > uplift["offers"]["weekend-deal"]["propensity_qini"]
    assert 'id="qini-weekend-deal"' in (tmp_path / "reports" / uplift["version"] / "uplift.html").read_text()
