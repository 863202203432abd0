"""`make api`: the ApiFunction handler over HTTP on 127.0.0.1, as API Gateway (REST) would call it.

    python -m local.api_server [--port 8080] [--customers 800]

Starts the local AWS, loads the example campaigns, trains and promotes models on synthetic
history, folds that history into profiles, then serves. Requests need the x-api-key header
printed at start, as the deployed API requires an API key; the personal-data routes (erasure,
access, consent, contact details: the PrivacyFunction's) need a SigV4 `Authorization` header
instead and refuse the key, as API Gateway's AWS_IAM authorization does (locally the
signature itself is not checked).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import re
import secrets
import sys
import threading
import traceback
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.aws import LocalAws
from local.clock import LocalClock
from local.config import upload_catalog, upload_config
from local.lambda_runtime import LocalFunction
from local.template import ROOT

LOCAL_CALLER = "arn:aws:sts::000000000000:assumed-role/local-sigv4-caller/local"


def api_event(method: str, target: str, headers: dict[str, str], body: bytes, stage: str = "local") -> dict[str, Any]:
    """The REST API (v1 payload) proxy event API Gateway builds for this request."""
    url = urlsplit(target)
    query = dict(parse_qsl(url.query, keep_blank_values=True))
    return {
        "resource": url.path,
        "path": url.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "httpMethod": method,
            "path": url.path,
            "identity": {"sourceIp": "127.0.0.1", "apiKey": headers.get("x-api-key")},
        },
        "body": text if (text := _text(body)) is not None or not body else base64.b64encode(body).decode(),
        "isBase64Encoded": bool(body) and _text(body) is None,
    }


def _text(body: bytes) -> str | None:
    """UTF-8 bodies pass as text; anything else arrives base64-encoded, as API Gateway sends binary."""
    try:
        return body.decode() if body else None
    except UnicodeDecodeError:
        return None


def iam_routes(function: LocalFunction) -> list[tuple[str, re.Pattern[str]]]:
    """The (method, path pattern) of each of the function's AWS_IAM-authorized API events."""
    routes = []
    for event in function.spec.get("Events", {}).values():
        props = event.get("Properties", {})
        if event.get("Type") == "Api" and props.get("Auth", {}).get("Authorizer") == "AWS_IAM":
            pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(props["Path"]))
            routes.append((props["Method"].upper(), re.compile(f"^{pattern}$")))
    return routes


def serve(
    function: LocalFunction, api_key: str, port: int, privacy: LocalFunction | None = None
) -> ThreadingHTTPServer:
    lock = threading.Lock()  # one execution environment: one request at a time, as one Lambda instance
    private = iam_routes(privacy) if privacy else []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            path = urlsplit(self.path).path
            signed = any(m == self.command and p.match(path) for m, p in private)
            target = privacy if signed and privacy else function
            if signed and not headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
                return self._reply(403, {"message": "Missing Authentication Token"})  # an API key opens none
            if not signed and headers.get("x-api-key") != api_key:
                return self._reply(403, {"message": "Forbidden"})  # what API Gateway answers without a key
            body = self.rfile.read(int(headers.get("content-length", 0) or 0))
            event = api_event(self.command, self.path, headers, body)
            if signed:
                event["requestContext"]["identity"]["userArn"] = LOCAL_CALLER
            with lock:
                try:
                    reply = target.invoke(event)
                except Exception:  # what API Gateway answers when the function fails
                    traceback.print_exc()  # where CloudWatch would show it
                    return self._reply(502, {"message": "Internal server error"})
            headers = {key: ", ".join(values) for key, values in (reply.get("multiValueHeaders") or {}).items()}
            self._reply(reply["statusCode"], reply.get("body") or "", headers | (reply.get("headers") or {}))

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            payload = body if isinstance(body, str) else json.dumps(body)
            self.send_response(status)
            for key, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload.encode())

        def __getattr__(self, name: str) -> Any:
            # every method (QUERY, TRACE, ...) reaches the function, as through API Gateway
            if name.startswith("do_"):
                return self._handle
            raise AttributeError(name)

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def prepare(aws: LocalAws, customers: int, models_dir: Path, clock: LocalClock | None = None) -> list[str]:
    """Campaigns, models and profiles for a local API; returns some raw customer ids to try.
    `clock`: the traffic ends at its moment and the profiles are built at it (tests pass a
    fixed one, so what they find does not depend on the hour); None: the wall clock."""
    from microtarget.events import EVENT_ADAPTER

    from local.backfill import backfill
    from training.dataset import build_rows, group_by_customer, plan_timeline
    from training.recommend import orders_of
    from training.registry import RegistryWriter
    from training.synthetic import generate
    from training.train import train_all

    upload_config(aws)
    now = (clock.now() if clock else datetime.now(UTC)).replace(microsecond=0)
    traffic = generate(customers, 70, seed=31, end=now)
    events = [EVENT_ADAPTER.validate_python(e) for e in traffic.events]
    timeline = plan_timeline(min(e.occurred_at for e in events), now)
    rows = build_rows(group_by_customer(events), timeline.cutoffs, timeline.horizon)
    results = train_all(rows, timeline, models_dir, orders=orders_of(events))
    registry = RegistryWriter(aws.client("s3"), aws.ref("ModelsBucket"))
    stage = aws.resolver.parameters["Stage"]  # the function serves the <model>/<stage>.json alias
    for name in results:
        registry.promote(name, registry.publish(models_dir / name, stage, force=True)["version"], stage)
    upload_catalog(aws, traffic, models_dir)  # names, images, prices and links for the answers
    with clock.applied() if clock else contextlib.nullcontext():
        backfill(aws, traffic.events)
    return sorted(traffic.truth)[:5]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--customers", type=int, default=800)
    args = parser.parse_args(argv)
    with LocalAws() as aws:
        print("preparing campaigns, models and profiles on the local AWS …", flush=True)
        examples = prepare(aws, args.customers, ROOT / ".local" / "api-models")
        api_key = secrets.token_urlsafe(24)
        serve(LocalFunction(aws, "ApiFunction"), api_key, args.port, LocalFunction(aws, "PrivacyFunction"))
        base = f"http://127.0.0.1:{args.port}/v1"
        print(f"serving {base} (Ctrl-C to stop)\n  export KEY={api_key}")
        print(f"  curl -s -H \"x-api-key: $KEY\" '{base}/customers/{examples[0]}/offers?channel=email'")
        print(
            f"  curl -s -H \"x-api-key: $KEY\" '{base}/customers/{examples[0]}/offers?channel=web&page=product&product_id=P00007'"
        )
        print(f'  curl -s -H "x-api-key: $KEY" {base}/models')
        print(
            f"  curl -s -X PUT --aws-sigv4 aws:amz:eu-west-1:execute-api --user any:any "
            f'-d \'{{"email": "a@example.com"}}\' {base}/customers/{examples[0]}/contact   # personal data: SigV4'
        )
        print("  more (decisions in a batch, server events, exposures, erasure, access): README")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
