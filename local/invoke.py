"""`sam local invoke` without Docker: run a function's handler on the local AWS with an event file.

python -m local.invoke IngestFunction -e events/kinesis-repeat-views.json
python -m local.invoke DispatchFunction -e events/sqs-due-triggers.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from local.aws import LocalAws
from local.config import upload_config
from local.dispatch_pipeline import ledger_items
from local.lambda_runtime import LocalFunction
from local.pipeline import IngestPipeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="logical id in template.yaml, e.g. IngestFunction")
    parser.add_argument("-e", "--event", required=True, type=Path, help="event JSON file (see events/)")
    args = parser.parse_args(argv)
    if not args.event.is_file():
        parser.error(f"event file not found: {args.event}")
    event = json.loads(args.event.read_text())
    with LocalAws() as aws:
        if args.function not in aws.template["Resources"]:
            parser.error(f"{args.function} is not a resource in template.yaml")
        upload_config(aws)  # the campaigns file and templates, as a deployed stack has them
        function = LocalFunction(aws, args.function)
        reply = function.invoke(event)
        print(json.dumps({"response": reply}, indent=2))
        if args.function == "IngestFunction":
            pipeline = IngestPipeline(aws)
            for pid, profile in pipeline.profiles().items():
                print(f"profile {pid}: orders={profile.orders} views={len(profile.recent_views)} cart={profile.cart()}")
            for message in pipeline.rejected():
                print(f"dead letter: {message['reason']}")
            _print_queue(
                aws, "TriggerQueue", lambda m: f"trigger fired: {m['kind']} {m['trigger_id']} due {m['due_ms']}"
            )
        if args.function == "DispatchFunction":
            for item in ledger_items(aws):
                print(f"ledger: {item['decision_id']} {item['outcome']}: {item['reason']}")
            _print_queue(aws, "TriggerDeadLetterQueue", lambda m: f"dead letter: {m['reason']}")
        print(f"logs: {function.log_path}")
    return 0


def _print_queue(aws: LocalAws, queue: str, line: Any) -> None:
    reply = aws.client("sqs").receive_message(QueueUrl=aws.ref(queue), MaxNumberOfMessages=10, VisibilityTimeout=0)
    for message in reply.get("Messages", []):
        print(line(json.loads(message["Body"])))


if __name__ == "__main__":
    sys.exit(main())
