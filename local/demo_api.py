"""The demo's last act: campaign-tool requests to the decisions API over HTTP on loopback."""

from __future__ import annotations

import json
import secrets
import urllib.request
from typing import Any

from local.api_server import serve
from local.aws import LocalAws, free_port
from local.config import upload_config
from local.lambda_runtime import LocalFunction


def show_decisions(aws: LocalAws, examples: dict[str, str]) -> None:
    """`examples`: label -> raw customer id (an unknown id gives the cold-start path)."""
    upload_config(aws)
    key = secrets.token_urlsafe(16)
    port = free_port()
    server = serve(LocalFunction(aws, "ApiFunction"), key, port)
    try:
        for label, customer in examples.items():
            channel = "web" if label == "an unknown visitor" else "email"  # no e-mail consent yet: ask for the site
            body = _get(f"http://127.0.0.1:{port}/v1/customers/{customer}/offers?channel={channel}&limit=2", key)
            _print(label, body)
    finally:
        server.shutdown()


def _get(url: str, key: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"x-api-key": key})
    with urllib.request.urlopen(request, timeout=30) as reply:
        return dict(json.loads(reply.read()))


def _print(label: str, body: dict[str, Any]) -> None:
    scores = body["scores"]
    shown = ", ".join(
        f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in scores.items() if v is not None
    )
    flags = (["cold start"] if body["cold_start"] else []) + (["holdout"] if body["control"] else [])
    print(
        f"\n{label} ({body['channel']}): {body['pid']}  {shown or 'no scores'}{'  [' + ', '.join(flags) + ']' if flags else ''}"
    )
    for offer in body["offers"]:
        value = f"EV {offer['expected_value']:.2f}" if offer["expected_value"] is not None else "rules only"
        print(f"  → {offer['offer_id']:<18} {value:<11} because {', '.join(offer['reasons']) or 'no conditions'}")
    if not body["offers"]:
        print("  → no offer")
    for offer_id, why in list(body["suppressed"].items())[:3]:
        print(f"    not {offer_id}: {why}")
