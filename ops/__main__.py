"""python -m ops replay --stack NAME: re-read the ranges ingest gave up on, through the deployed ingest function."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from ops.replay import replay


def _deployed(stack: str, logical_id: str) -> str:
    reply = boto3.client("cloudformation").describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)
    return str(reply["StackResourceDetail"]["PhysicalResourceId"])


def main(argv: list[str] | None = None) -> int:
    root = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    command = sub.add_parser("replay", help="replay IngestFailureQueue's ranges from the stream")
    command.add_argument("--stack", required=True, help="the CloudFormation stack name (sam deploy's)")
    command.add_argument("--late-tolerance-hours", type=int, default=72, help="the stack's LateToleranceHours")
    args = root.parse_args(argv)
    function = _deployed(args.stack, "IngestFunction")
    queue = _deployed(args.stack, "IngestFailureQueue")
    lambda_ = boto3.client("lambda")

    def deliver(event: dict[str, Any]) -> dict[str, Any] | None:
        reply = lambda_.invoke(FunctionName=function, Payload=json.dumps(event).encode())
        body = json.loads(reply["Payload"].read() or b"null")
        return {"errorMessage": reply["FunctionError"]} if reply.get("FunctionError") else body

    kinesis = boto3.client("kinesis")
    before = datetime.now(UTC) - timedelta(hours=args.late_tolerance_hours)
    report = replay(kinesis, boto3.client("sqs"), queue, deliver, kinesis.meta.region_name, before)
    print(report.line())
    return 0 if report.failed == 0 and report.expired == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
