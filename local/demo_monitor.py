"""The demo's models, monitored: `python -m training monitor` on the data lake and the ledger, as
the stack's daily job runs it, with the figures the alarms and the dashboard read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from local.aws import LocalAws
from local.quiet import training
from training.monitoring import DRIFT


def show_monitoring(aws: LocalAws, now: datetime, margin: float = 0.05) -> dict[str, Any]:
    models, lake = aws.ref("ModelsBucket"), aws.ref("DataLakeBucket")
    summary = training([
        "monitor", "--source", f"s3://{lake}/events/", "--bucket", models,
        "--environment", aws.resolver.parameters["Stage"], "--ledger-table", aws.ref("LedgerTable"),
        "--privacy-table", aws.ref("PrivacyTable"), "--as-of", now.isoformat(), "--margin", str(margin),
        "--out", f"s3://{models}/monitoring", "--metrics-namespace", "microtarget",
    ])  # fmt: skip
    body = aws.client("s3").get_object(Bucket=models, Key="monitoring/latest.json")["Body"].read()
    document = json.loads(body)
    print(f"{summary['customers']:,} customers replayed from the lake as of {now:%Y-%m-%d %H:%M}, against each "
          f"model's test-window baseline (PSI: < 0.1 stable, 0.1-0.25 watch, > {DRIFT} drift)")  # fmt: skip
    for name in ("propensity", "churn"):
        entry = document["drift"][name]
        ranked = sorted(entry["features"].items(), key=lambda item: -item[1]["psi"])
        stable = sum(found["level"] == "stable" for found in entry["features"].values())
        moved = ", ".join(f"{feature} {found['psi']:.2f} ({found['level']})" for feature, found in ranked[:3])
        print(f"  {name}: score PSI {entry['score']['psi']:.2f} ({entry['score']['level']}); "
              f"{stable} of {len(ranked)} features stable; most moved: {moved}")  # fmt: skip
    drifted = {
        f for m in ("propensity", "churn") for f, d in document["drift"][m]["features"].items() if d["level"] == "drift"
    }
    if "days_since_first_seen" in drifted:
        print("  (tenure drifts by construction: the synthetic customers all arrived in the history's first days, so "
              "each is now older than any the models saw at test; a shop's newcomers keep the mix)")  # fmt: skip
    if "days_since_last_seen" in drifted:
        print("  (recency drifts because the site has sent nothing since the live days ended and dispatch ran for "
              "three days: every customer was last seen days ago, which the test window never saw)")  # fmt: skip
    segments = document["drift"]["segments"]
    print(f"  segments: share PSI {segments['psi']:.2f} ({segments['level']})")
    for name, entry in document["performance"].items():
        scored = {v: live for v, live in entry["versions"].items()}
        if not scored:
            print(f"  live {name}: {entry['maturing']:,} scored decisions, none past the {entry['horizon_days']}-day "
                  f"label horizon yet: live ROC-AUC from {entry['horizon_days']} days after the first")  # fmt: skip
        for version, live in scored.items():
            figure = (
                f"ROC-AUC {live['roc_auc']:.3f} against {live.get('test_roc_auc', '-')} at test"
                if "roc_auc" in live
                else ""
            )
            print(f"  live {name} {version}: {live['decisions']:,} decisions; {figure} {live['status']}")
    worst = max(e["max_psi"] for e in document["drift"].values() if e["max_psi"] is not None)
    verdict = "would fire" if worst > DRIFT else "stays OK"
    print(f"{summary['metrics']} figures sent to CloudWatch (namespace microtarget); DriftMax {worst:.2f} against "
          f"ModelDriftAlarm's {DRIFT}: it {verdict}")  # fmt: skip
    for alert in document["alerts"]:
        print(f"  alert: {alert}")
    return document
