"""The demo's last act: campaign-tool requests to the decisions API over HTTP on loopback, and the
tool reporting back what it did with the answers (which the next answer then respects)."""

from __future__ import annotations

import json
import secrets
import urllib.request
from pathlib import Path
from typing import Any

from local.api_server import serve
from local.aws import LocalAws, free_port
from local.config import upload_config
from local.lambda_runtime import LocalFunction

PRODUCT = "P00007"  # the product the unknown visitor is looking at


def show_decisions(aws: LocalAws, examples: dict[str, str], log_dir: Path | None = None) -> None:
    """`examples`: label -> raw customer id (an unknown id gives the cold-start path)."""
    upload_config(aws)
    key = secrets.token_urlsafe(16)
    port = free_port()
    function = LocalFunction(aws, "ApiFunction", log_dir)
    server = serve(function, key, port)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        reports = []
        for label, customer in examples.items():
            visitor = label == "an unknown visitor"  # no e-mail consent yet: asked for a product page on the site
            channel, where = ("web", f"&page=product&product_id={PRODUCT}") if visitor else ("email", "")
            body = call_api(f"{base}/customers/{customer}/offers?channel={channel}&limit=2{where}", key)
            _print(label, body)
            report = {"customer_id": customer, "decision_id": body["decision_id"], "channel": channel}
            if body["offers"]:  # the tool sends the top offer
                reports.append({**report, "offer_id": body["offers"][0]["offer_id"]})
            elif body["control"]:  # or would have, but the customer is held out: the control side of the lift
                reports.append(report)
        _report_back(base, key, reports)
    finally:
        server.shutdown()


def _report_back(base: str, key: str, reports: list[dict[str, Any]]) -> None:
    """POST /v1/exposures, then ask again for the first customer: the send now counts toward its caps."""
    reply = call_api(f"{base}/exposures", key, {"exposures": reports})
    held = sum("offer_id" not in r for r in reports)
    print(
        f"\nthe tool reports what it did (POST /v1/exposures): {reply['recorded']} recorded "
        f"({reply['recorded'] - held} sent, {held} held out), {len(reply['rejected'])} rejected"
    )
    sent = next((r for r in reports if "offer_id" in r), None)
    if sent:
        again = call_api(f"{base}/customers/{sent['customer_id']}/offers?channel={sent['channel']}&limit=2", key)
        why = again["suppressed"].get(sent["offer_id"])
        print(
            f"asking again for {again['pid']}: {sent['offer_id']} {'not offered: ' + why if why else 'still offered'}"
        )


def call_api(url: str, key: str, body: Any = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"x-api-key": key, "content-type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
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
    if body["recommendations"]:
        print(f"    goes with {body['context']['product_id']} on this page: {', '.join(body['recommendations'])}")
    for offer_id, why in list(body["suppressed"].items())[:3]:
        print(f"    not {offer_id}: {why}")
