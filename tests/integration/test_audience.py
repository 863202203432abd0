"""Audience exports on the local AWS: customers who came through Kinesis and the archive, selected
by the offer's eligibility and the channel's consent, with the experiment's control arm and an open
erasure left out; members and manifest in S3, then an EventBridge event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from microtarget.campaigns import parse_campaigns

from local.aws import LocalAws
from local.config import CAMPAIGNS
from local.example_models import serving_models
from local.privacy_calls import PrivacyCalls
from tests.integration.flow import Flow
from training import cli

EXPERIMENT = next(e for e in parse_campaigns(CAMPAIGNS.read_text()).experiments if "cart-recovery" in e.offers)


def _catch(aws: LocalAws) -> str:
    """A queue that receives what the marketing bus is told about audiences."""
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName=f"audiences-{aws.stack_name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = aws.ref("MarketingBus")
    events.put_rule(Name="audiences", EventBusName=bus, EventPattern=json.dumps({"source": ["microtarget.audiences"]}))
    events.put_targets(Rule="audiences", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def _export(aws: LocalAws, tmp_path: Path, flow: Flow, definition: dict[str, Any], *extra: str) -> int:
    path = tmp_path / f"{definition['id']}.json"
    path.write_text(json.dumps(definition))
    lake = aws.ref("DataLakeBucket")
    return cli.main([
        "audience", "--source", f"s3://{lake}/events/", "--definition", str(path), "--campaigns", str(CAMPAIGNS),
        "--models", str(serving_models(tmp_path / f"models-{definition['id']}")), "--as-of", flow.now().isoformat(),
        "--out", f"s3://{lake}/audiences", "--privacy-table", aws.ref("PrivacyTable"), "--workers", "1", *extra,
    ])  # fmt: skip


def test_an_audience_holds_eligible_consenting_customers_only_and_is_announced(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    member = flow.customer(flow.in_arm(EXPERIMENT, "treatment", "ann"))
    refused = flow.customer(flow.in_arm(EXPERIMENT, "treatment", "bob"), consent=False)
    control = flow.customer(flow.in_arm(EXPERIMENT, "holdout", "cal"))
    erased = flow.customer(flow.in_arm(EXPERIMENT, "treatment", "dan"))
    small = flow.customer(flow.in_arm(EXPERIMENT, "treatment", "eve"))
    cart = {"product_id": "P1", "price": 30.0}
    flow.events(*[("add_to_cart", name, 0, cart) for name in (member, refused, control, erased)])
    flow.events(("add_to_cart", small, 0, {"product_id": "P2", "price": 5.0}))  # below the offer's cart value
    assert privacy.erase(erased)[0] == 202  # open: the lake still holds dan's past until the job's pass
    queue = _catch(local_aws)
    bus = local_aws.ref("MarketingBus")

    assert _export(local_aws, tmp_path, flow, {"id": "carts", "channel": "email", "offer": "cart-recovery"},
                   "--event-bus", bus) == 0  # fmt: skip
    written = json.loads(capsys.readouterr().out)
    s3 = local_aws.client("s3")
    bucket, key = written["members"][len("s3://") :].split("/", 1)
    lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    assert lines[0] == "pid,propensity,churn_risk,segment_name,as_of"
    assert [line.split(",")[0] for line in lines[1:]] == [flow.pid(member)]
    assert written["count"] == 1 and written["considered"] == 4  # the erased customer is not even considered
    assert written["left_out"] == {"consent": 1, "holdout": 1, "offer_eligibility": 1}
    assert written["model_versions"] == {"propensity": "propensity-1", "churn": "churn-1", "segments": "segments-1"}
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=key.replace("members.csv", "manifest.json"))["Body"].read())
    assert manifest == written and manifest["definition"]["offer"] == "cart-recovery"
    everything = "\n".join(lines) + json.dumps(manifest)
    assert not any(name in everything for name in (member, refused, control, erased, small))  # pids only

    message = local_aws.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]
    event = json.loads(message["Body"])
    assert event["detail-type"] == "Audience ready" and event["detail"]["members"] == written["members"]
    assert event["detail"]["count"] == 1


def test_members_the_campaign_tool_knows_get_its_own_ids_and_no_one_else_is_re_identified(
    flow: Flow, privacy: PrivacyCalls, local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    known = flow.customer(flow.in_arm(EXPERIMENT, "treatment", "gil"))
    unknown = flow.customer(flow.in_arm(EXPERIMENT, "treatment", "hal"))
    erased = flow.customer(flow.in_arm(EXPERIMENT, "treatment", "ivy"))
    flow.events(*[("add_to_cart", name, 0, {"product_id": "P1", "price": 30.0}) for name in (known, unknown, erased)])
    assert privacy.erase(erased)[0] == 202
    crm = tmp_path / "crm.csv"
    crm.write_text(f"email,client\nx@example.com,{known}\ny@example.com,{erased}\nz@example.com,never-seen\n")
    secret = local_aws.ref("PseudonymSecret")
    assert _export(local_aws, tmp_path, flow, {"id": "known", "channel": "email", "offer": "cart-recovery"},
                   "--match", str(crm), "--match-column", "client", "--secret-id", secret) == 0  # fmt: skip
    written = json.loads(capsys.readouterr().out)
    bucket, key = written["members"][len("s3://") :].split("/", 1)
    body = local_aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    rows = {line.split(",")[1]: line.split(",")[0] for line in body.splitlines()[1:]}
    assert body.splitlines()[0].startswith("customer_id,pid,")
    assert rows == {flow.pid(known): known, flow.pid(unknown): ""}  # the erased one is not a member at all
    assert erased not in body and "never-seen" not in body and written["count"] == 2
    assert written["ids"].startswith("customer_id for the 1 members")
    assert _export(local_aws, tmp_path, flow, {"id": "bad", "channel": "email"}, "--match", str(crm),
                   "--secret-id", secret) == 2  # fmt: skip
    assert "no column 'customer_id'" in capsys.readouterr().err


def test_a_bad_definition_is_refused_naming_the_field(
    flow: Flow, local_aws: LocalAws, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow.customer("zed")
    assert _export(local_aws, tmp_path, flow, {"id": "x", "channel": "fax"}) == 2
    assert "audience channel" in capsys.readouterr().err
    assert _export(local_aws, tmp_path, flow, {"id": "y", "channel": "email", "offer": "cross-sell"}) == 2
    assert "trigger_only" in capsys.readouterr().err
    assert _export(local_aws, tmp_path, flow, {"id": "z", "channel": "email", "min_propensity": 1.5}) == 2
    assert "audience min_propensity" in capsys.readouterr().err


def test_a_crash_before_the_manifest_announces_nothing_and_a_rerun_completes(
    flow: Flow, local_aws: LocalAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Campaign tools act on the event, and read the manifest: both come after the members file,
    so a crash between them leaves an export no one is told about, which the rerun finishes."""
    from training import batch

    member = flow.customer(flow.in_arm(EXPERIMENT, "treatment", "jo"))
    flow.events(("add_to_cart", member, 0, {"product_id": "P1", "price": 30.0}))
    queue, bus = _catch(local_aws), local_aws.ref("MarketingBus")
    real = batch.write_bytes

    def crash_on_the_manifest(location: str, body: bytes) -> None:
        if location.endswith("manifest.json"):
            raise OSError("the job was stopped")
        real(location, body)

    definition = {"id": "crash", "channel": "email", "offer": "cart-recovery"}
    monkeypatch.setattr(batch, "write_bytes", crash_on_the_manifest)
    moment = flow.now().isoformat()  # a rerun of the job for the same moment (argparse keeps the last --as-of)
    with pytest.raises(OSError):
        _export(local_aws, tmp_path, flow, definition, "--event-bus", bus, "--as-of", moment)
    s3, lake = local_aws.client("s3"), local_aws.ref("DataLakeBucket")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=lake, Prefix="audiences/crash/").get("Contents", [])]
    assert len(keys) == 1 and keys[0].endswith("members.csv")  # no manifest
    sqs = local_aws.client("sqs")
    assert not sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages")  # and no one told
    first = s3.get_object(Bucket=lake, Key=keys[0])["Body"].read()

    monkeypatch.setattr(batch, "write_bytes", real)
    capsys.readouterr()
    (tmp_path / "rerun").mkdir()  # the same models again, in a folder of their own
    assert _export(local_aws, tmp_path / "rerun", flow, definition, "--event-bus", bus, "--as-of", moment) == 0
    written = json.loads(capsys.readouterr().out)
    assert s3.get_object(Bucket=lake, Key=keys[0])["Body"].read() == first  # the same members, rewritten
    s3.head_object(Bucket=lake, Key=keys[0].replace("members.csv", "manifest.json"))
    (message,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    assert json.loads(message["Body"])["detail"]["members"] == written["members"] == f"s3://{lake}/{keys[0]}"
