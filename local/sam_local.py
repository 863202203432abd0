"""`make sam-local`: every function of the built stack under `sam local invoke`, in its Lambda
container, against the local AWS, with each sample event of events/ to the end.

The local AWS (moto) listens on every interface and the containers reach it through the
Docker bridge's gateway, so the env-vars file only has to point AWS_ENDPOINT_URL there; every
other variable is the template's own, resolved for this stack. Each invocation's response is checked (no function
error, no failed record, the status an API event should get) and the stores are read back.

    python -m local.sam_local                   # needs `sam build` and Docker with the base image
    python -m local.sam_local --keep .local/sam # keep the env-vars file and each invocation's output
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from local.aws import LocalAws, free_port
from local.config import upload_config
from local.dispatch_pipeline import ledger_items
from local.template import ROOT, function_environment

TOOLS_BIN = Path(os.environ.get("TOOLS_BIN", ROOT / ".venv-tools" / "bin"))
FUNCTIONS = {
    "kinesis-": "IngestFunction",
    "firehose-": "ArchiveFunction",
    "sqs-": "DispatchFunction",
    "api-": "ApiFunction",
    "privacy-": "PrivacyFunction",
}
API_STATUS = {"privacy-put-contact.json": 204, "api-invalid-decisions.json": 422}  # the others: 200


def bridge_gateway() -> str:
    """The host as containers on Docker's default bridge see it."""
    shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "docker0"], capture_output=True, text=True).stdout
    return shown.split("inet ")[1].split("/")[0] if "inet " in shown else "172.17.0.1"


def env_vars(aws: LocalAws, endpoint: str) -> dict[str, dict[str, str]]:
    """What `sam local invoke --env-vars` takes: per function, the template's variables resolved
    for this stack, with the local AWS as the endpoint."""
    out = {}
    for logical_id in sorted(set(FUNCTIONS.values())):
        resolved = aws.resolver.resolve(function_environment(aws.template, logical_id))
        out[logical_id] = {key: str(value) for key, value in resolved.items()} | {"AWS_ENDPOINT_URL": endpoint}
    return out


def invoke(function: str, event: Path, env_file: Path, out_dir: Path) -> tuple[Any, float]:
    """One `sam local invoke`; the function's response (the last line SAM prints) and seconds taken."""
    command = [
        str(TOOLS_BIN / "sam"), "local", "invoke", function, "--event", str(event), "--env-vars", str(env_file),
        "--skip-pull-image", "--region", "us-east-1",
    ]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=_sam_env(), capture_output=True, text=True, timeout=300, check=False)
    seconds = time.monotonic() - started
    (out_dir / f"{function}-{event.stem}.log").write_text(done.stderr + "\n--- response\n" + done.stdout)
    lines = [line for line in done.stdout.strip().splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        raise SystemExit(
            f"sam local invoke {function} -e {event.name} failed ({done.returncode}):\n{done.stderr[-3000:]}"
        )
    return json.loads(lines[-1]), seconds


def through_start_api(env_file: Path, out_dir: Path) -> tuple[int, float]:
    """`sam local start-api` on a free port, one request through it: its status and seconds."""
    port = free_port()
    command = [str(TOOLS_BIN / "sam"), "local", "start-api", "--port", str(port), "--env-vars", str(env_file),
               "--skip-pull-image", "--region", "us-east-1"]  # fmt: skip
    log = (out_dir / "start-api.log").open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=_sam_env(), stdout=log, stderr=subprocess.STDOUT)
    started = time.monotonic()
    try:
        while time.monotonic() - started < 120:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=60) as reply:
                    return reply.status, time.monotonic() - started
            except urllib.error.HTTPError as error:
                return error.code, time.monotonic() - started
            except (urllib.error.URLError, ConnectionError):
                time.sleep(1)  # not listening yet
        return 0, time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _sam_env() -> dict[str, str]:
    return os.environ | {
        "SAM_CLI_TELEMETRY": "0", "AWS_MAX_ATTEMPTS": "1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    }  # fmt: skip


def generated_event(service: str, kind: str) -> str:
    """`sam local generate-event`: the sample event AWS documents for a service."""
    command = [str(TOOLS_BIN / "sam"), "local", "generate-event", service, kind]
    env = os.environ | {"SAM_CLI_TELEMETRY": "0"}
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=120).stdout


def verdict(event: Path, response: Any) -> str:
    """'' when the response is what the event should get, else what is wrong."""
    if isinstance(response, dict) and "errorType" in response:
        return f"function error {response['errorType']}: {response.get('errorMessage')}"
    if event.name.startswith(("api-", "privacy-")):
        want = API_STATUS.get(event.name, 200)
        return "" if response.get("statusCode") == want else f"status {response.get('statusCode')}, expected {want}"
    if event.name.startswith("firehose-"):
        results = [r.get("result") for r in response.get("records", [])] if isinstance(response, dict) else []
        return "" if results and set(results) <= {"Ok", "Dropped"} else f"transformation results {results}"
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    return "" if failures == [] else f"batchItemFailures {failures}"


def stores(aws: LocalAws) -> list[str]:
    """What the invocations left in the local AWS."""
    sqs = aws.client("sqs")

    def waiting(queue: str) -> str:
        url = aws.ref(queue)
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]

    decisions = [i for i in ledger_items(aws) if i["sk"].startswith("d#")]
    return [
        f"profiles written        {len(aws.scan('ProfilesTable'))}",
        f"contacts stored         {len(aws.scan('ContactsTable'))} (sealed with the contacts key)",
        f"dead-lettered records   {waiting('RejectedEventsQueue')} (ingest), {waiting('TriggerDeadLetterQueue')} (dispatch)",
        f"triggers queued         {waiting('TriggerQueue')}",
        f"dispatch decisions      {', '.join(sorted(f'{d["outcome"]}/{d["code"]}' for d in decisions)) or 'none'}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.sam_local", description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the env-vars file and each invocation's output here")
    parser.add_argument("--events", type=Path, default=ROOT / "events")
    args = parser.parse_args(argv)
    if not (ROOT / ".aws-sam" / "build" / "template.yaml").is_file():
        parser.error("no .aws-sam/build: run `make build` (sam build) first")
    if shutil.which("docker") is None or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        parser.error("Docker is not reachable: see ../shared/tools/README.md (lambda-base-image.sh, DOCKER_HOST)")
    out_dir = args.keep or Path(tempfile.mkdtemp(prefix="sam-local-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[bool] = []

    def show(ok: bool, function: str, what: str, seconds: float, detail: Any) -> None:
        results.append(ok)
        print(f"{'ok  ' if ok else 'FAIL'}  {function:<17} {what:<34} {seconds:4.1f} s  {detail}")

    with LocalAws(stack_name="microtarget-sam-local", bind="0.0.0.0") as aws:
        upload_config(aws)  # the campaigns file and templates, as a deployed stack has them
        endpoint = aws.endpoint.replace("127.0.0.1", bridge_gateway())
        env_file = out_dir / "env.json"
        env_file.write_text(json.dumps(env_vars(aws, endpoint), indent=2))
        print(f"local AWS at {endpoint} for the containers; env-vars in {env_file}\n")
        events = sorted(args.events.glob("*.json"), key=lambda p: (list(FUNCTIONS).index(_prefix(p)), p.name))
        for event in events:
            function = FUNCTIONS[_prefix(event)]
            response, seconds = invoke(function, event, env_file, out_dir)
            problem = verdict(event, response)
            shown = {"results": [r["result"] for r in response["records"]]} if "records" in response else response
            show(not problem, function, event.name, seconds, problem or response.get("statusCode", shown))
        wrong = out_dir / "s3-put.json"  # an event of another source: refused by name, before anything runs
        wrong.write_text(generated_event("s3", "put"))
        response, seconds = invoke("IngestFunction", wrong, env_file, out_dir)
        refused = response.get("errorType") == "WrongEvent"
        show(refused, "IngestFunction", "s3-put (sam local generate-event)", seconds, response.get("errorMessage"))
        status, seconds = through_start_api(env_file, out_dir)
        show(status == 200, "ApiFunction", "GET /v1/models (start-api)", seconds, status)
        print("\n" + "\n".join(stores(aws)))
    print(f"\n{sum(results)} of {len(results)} as expected; outputs in {out_dir}")
    return 0 if all(results) else 1


def _prefix(event: Path) -> str:
    return next(prefix for prefix in FUNCTIONS if event.name.startswith(prefix))


if __name__ == "__main__":
    sys.exit(main())
