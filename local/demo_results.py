"""The demo's experiment, measured: a week of customers answering (or not) what they were sent,
with a planted lift, then `python -m training results` on the ledger and the API's answer.

Customers exposed in an experiment buy within a week at their persona's rate, held out or sent
(`synthetic.ANSWERS`: loyal customers buy anyway, bargain hunters are moved most), and those a
message brought back redeem the offer by its decision id. Nothing else decides who buys, so each
experiment's results should cover the lift its mix of personas plants.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from local.api_server import serve
from local.aws import LocalAws, free_port
from local.clock import LocalClock
from local.config import CAMPAIGNS
from local.demo_api import call_api
from local.lambda_runtime import LocalFunction
from local.pipeline import IngestPipeline
from local.quiet import training
from training.synthetic import ANSWERS

WEEK = timedelta(days=7)


def respond(pipeline: IngestPipeline, ledger: list[dict[str, Any]], customer_of: dict[str, str],
            persona: dict[str, str], seed: int) -> tuple[int, dict[str, float]]:  # fmt: skip
    """Purchases (and redemptions) within a week of each customer's first exposure: how many, and
    per experiment the relative lift planted (its customers' chance to buy when sent over their
    chance when held out: the same mix in both arms, as the split is random)."""
    rng, events = random.Random(seed), []
    first: dict[str, dict[str, Any]] = {}
    for item in sorted((i for i in ledger if i["sk"].startswith("d#")), key=lambda i: int(i["at"])):
        if item["outcome"] in ("sent", "holdout") and item.get("experiments", "{}") != "{}":
            first.setdefault(item["pid"], item)
    rates: dict[str, list[tuple[float, float]]] = {}
    for pid, item in sorted(first.items()):
        customer, sent = customer_of.get(pid), item["outcome"] == "sent"
        if customer is None:
            continue
        held_rate, sent_rate = ANSWERS[persona[customer]]
        for experiment in json.loads(item["experiments"]):
            rates.setdefault(experiment, []).append((held_rate, sent_rate))
        if rng.random() >= (sent_rate if sent else held_rate):
            continue
        at = int(item["at"]) / 1000 + rng.uniform(3_600, WEEK.total_seconds() - 3_600)
        order, revenue = f"O-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}", round(rng.uniform(20, 160), 2)
        events.append(_event("purchase", customer, at, {"order_id": order, "revenue": revenue, "items": []}))
        if sent and item.get("offer_id"):
            events.append(_event("offer_redeemed", customer, at + 1, {"offer_id": item["offer_id"], "order_id": order,
                                                                      "decision_id": item["decision_id"]}))  # fmt: skip
    pipeline.send_events(sorted(events, key=lambda e: e["occurred_at"]))
    pipeline.run()
    planted = {name: sum(s for _, s in pairs) / sum(h for h, _ in pairs) - 1 for name, pairs in rates.items()}
    return sum(e["event_type"] == "purchase" for e in events), planted


def _event(kind: str, customer: str, at: float, properties: dict[str, Any]) -> dict[str, Any]:
    when = datetime.fromtimestamp(at, UTC).isoformat()
    return {"event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{customer}|{kind}|{when}")), "event_type": kind,
            "occurred_at": when, "customer_id": customer, "properties": properties}  # fmt: skip


def show_results(aws: LocalAws, clock: LocalClock, pipeline: IngestPipeline, ledger: list[dict[str, Any]],
                 customer_of: dict[str, str], persona: dict[str, str], folder: Path, seed: int) -> None:  # fmt: skip
    clock.advance(days=WEEK.days)  # a week on: every exposure's window has closed
    bought, planted = respond(pipeline, ledger, customer_of, persona, seed)
    models = aws.ref("ModelsBucket")
    measured = training(["results", "--ledger-table", aws.ref("LedgerTable"), "--campaigns", str(CAMPAIGNS),
                         "--as-of", clock.now().isoformat(), "--out", f"s3://{models}/results"])  # fmt: skip
    rates = ", ".join(f"{name.replace('_', ' ')} {held:.0%}→{sent:.0%}" for name, (held, sent) in ANSWERS.items())
    print(f"a week of answers: {bought} purchases by exposed customers; each persona buys within 7 days at its "
          f"own rate, held out → sent: {rates}")  # fmt: skip
    for experiment in measured:
        body = _api_results(aws, experiment, folder)
        _print(body, folder / f"{experiment}.html", planted.get(experiment, 0.0))


def _api_results(aws: LocalAws, experiment: str, folder: Path) -> dict[str, Any]:
    """GET /v1/experiments/{id}/results over HTTP, as a campaign tool asks; the page kept locally."""
    key, port = secrets.token_urlsafe(16), free_port()
    server = serve(LocalFunction(aws, "ApiFunction", folder.parent / "logs"), key, port)
    try:
        body = call_api(f"http://127.0.0.1:{port}/v1/experiments/{experiment}/results", key)
    finally:
        server.shutdown()
    page = aws.client("s3").get_object(Bucket=aws.ref("ModelsBucket"), Key=f"results/{experiment}/latest.html")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{experiment}.html").write_bytes(page["Body"].read())
    return body


def _print(body: dict[str, Any], page: Path, planted: float) -> None:
    arms = ", ".join(f"{a['name']} {a['customers']:,} (weight {a['weight']})" for a in body["arms"])
    srm = body["srm"]
    print(f"GET /v1/experiments/{body['experiment']}/results → arms: {arms}")
    print(f"  sample-ratio check: chi2 {srm['chi2']:.2f}, p = {srm['p_value']:.3f} "
          f"({'MISMATCH' if srm['mismatch'] else 'no mismatch'})" if srm else "  sample-ratio check: no weights")  # fmt: skip
    for arm in body["arms"]:
        rate = arm["conversion_rate"]
        ci = f"95 % CI [{rate['ci'][0]:.1%}, {rate['ci'][1]:.1%}]" if rate["ci"] else ""
        value = f"{rate['value']:.1%}" if rate["value"] is not None else "-"
        print(f"  {arm['name']:<10} converted {arm['conversions']:>4} of {arm['customers']:>4}: {value:>6} {ci}")
    empty = [a["name"] for a in body["arms"] if a["customers"] and not a["conversions"]]
    if empty:  # a rate of 0 has no relative lift over it: say so rather than print infinities
        print(
            f"  lift: none to measure yet, {' and '.join(empty)} has no conversion (a relative lift needs one in each arm)"
        )
    for lift in (e for e in body["lifts"] if e["metric"] == "converted" and e["cuped"] and not empty):
        cuped, seq, power = lift["cuped"], lift["sequential"], lift["power"]
        band = seq["relative_ci"]
        if band is None:  # too few in an arm for a relative interval valid at every look
            print(f"  lift of {lift['arm']} on conversion: {_rel(cuped['relative'])}, 95 % CI {_band(cuped['relative_ci'])} "
                  f"(fixed); no always-valid relative interval yet (p = {seq['p_value']:.2f})")  # fmt: skip
        else:
            covered = band[0] <= planted <= band[1]
            print(f"  lift of {lift['arm']} on conversion: {_rel(cuped['relative'])}, 95 % CI {_band(cuped['relative_ci'])} "
                  f"(fixed), {_band(band)} (always valid, p = {seq['p_value']:.2f}); "
                  f"the planted {planted:+.0%} (this mix of personas) {'inside' if covered else 'OUTSIDE'} it")  # fmt: skip
        needed = power["customers_needed_for_5pct"]
        print(f"  this sample detects {power['minimum_detectable_relative']:+.0%} or more with 80 % power; "
              f"a +5 % lift needs {needed:,} customers" if needed else "")  # fmt: skip
    for verdict in body["verdicts"]:
        print(f"  verdict: {verdict}")
    print(f"  report: {page}")


def _rel(value: float | None) -> str:
    if value is None:  # the control's (adjusted) rate is not above zero: no relative lift
        return "undefined"
    return f"{value:+.0%}" if abs(value) < 10 else (">+999%" if value > 0 else "<-999%")


def _band(pair: list[float] | None) -> str:
    return f"[{_rel(pair[0])}, {_rel(pair[1])}]" if pair else "[undefined]"
