"""`sam local invoke` without Docker: run a function's handler on the local AWS with an event file.

python -m local.invoke IngestFunction -e events/kinesis-repeat-views.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from local.aws import LocalAws
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
        function = LocalFunction(aws, args.function)
        reply = function.invoke(event)
        print(json.dumps({"response": reply}, indent=2))
        if args.function == "IngestFunction":
            pipeline = IngestPipeline(aws)
            for pid, profile in pipeline.profiles().items():
                print(f"profile {pid}: orders={profile.orders} views={len(profile.recent_views)} cart={profile.cart()}")
            for message in pipeline.rejected():
                print(f"dead letter: {message['reason']}")
        print(f"logs: {function.log_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
