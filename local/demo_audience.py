"""The demo's audience export: what a campaign tool receives, as `python -m training audience`
makes it from the data lake (erasures included), with the tool's own ids for those it knows."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from local.aws import LocalAws
from local.config import CAMPAIGNS
from training import cli

AUDIENCE = {"id": "vip-early-access", "name": "VIP early access, by e-mail", "channel": "email",
            "offer": "vip-early-access"}  # fmt: skip


def _catch(aws: LocalAws) -> str:
    """A queue behind a rule on the marketing bus, standing in for the campaign tool's listener."""
    sqs, events, bus = aws.client("sqs"), aws.client("events"), aws.ref("MarketingBus")
    url = sqs.create_queue(QueueName="demo-audiences")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="audiences", EventBusName=bus, EventPattern=json.dumps({"source": ["microtarget.audiences"]}))
    events.put_targets(Rule="audiences", EventBusName=bus, Targets=[{"Id": "tool", "Arn": arn}])
    return url


def show_audience(aws: LocalAws, now: datetime, known: list[str], erased: tuple[str, str], folder: Path) -> int:
    """Export the audience for a tool that knows `known` (the erased customer among them);
    returns 1 if the erased customer (raw id, pid) is in the file anyway, else 0."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "audience.json").write_text(json.dumps(AUDIENCE))
    (folder / "crm.csv").write_text("customer_id\n" + "".join(f"{c}\n" for c in known))
    queue, lake = _catch(aws), aws.ref("DataLakeBucket")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([
            "audience", "--source", f"s3://{lake}/events/", "--definition", str(folder / "audience.json"),
            "--campaigns", str(CAMPAIGNS), "--bucket", aws.ref("ModelsBucket"),
            "--environment", aws.resolver.parameters["Stage"], "--as-of", now.isoformat(),
            "--out", f"s3://{lake}/audiences", "--event-bus", aws.ref("MarketingBus"),
            "--privacy-table", aws.ref("PrivacyTable"), "--match", str(folder / "crm.csv"),
            "--secret-id", aws.ref("PseudonymSecret"),
        ])  # fmt: skip
    if code:
        raise RuntimeError("the audience export failed (see above)")
    written: dict[str, Any] = json.loads(out.getvalue())
    left = ", ".join(f"{why} {n:,}" for why, n in written["left_out"].items())
    print(
        f"audience {written['audience']} as of {written['as_of']}: {written['count']:,} of "
        f"{written['considered']:,} customers (left out: {left})\n"
        f"ids: {written['ids']}\nfiles: {written['members']} and manifest.json beside it"
    )
    bucket, key = written["members"][len("s3://") :].split("/", 1)
    lines = aws.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    for line in lines[:4]:
        print(f"  {line}")
    message = aws.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
    detail = json.loads(message[0]["Body"])["detail"] if message else {}
    print(f"the campaign tool's listener got 'Audience ready': {bool(detail)} ({detail.get('count', 0):,} members)")
    found = any(name in line for line in lines for name in erased)
    print(f"the erased customer in the export: {'yes' if found else 'no'} (the campaign tool knows her id)")
    return int(found)
