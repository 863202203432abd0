"""What `make demo` prints once the flow has run."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from microtarget.features import FEATURE_NAMES, feature_dict
from microtarget.profile import Profile

from local.pipeline import IngestPipeline


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def print_ingest_summary(
    pipeline: IngestPipeline, sent: int, profiles: dict[str, Profile], rejected: list[dict[str, Any]], seconds: float
) -> None:
    batches = pipeline.batch_logs()
    accepted = sum(line["accepted"] for line in batches)
    duplicates = sum(line["duplicates"] for line in batches)
    reasons = Counter(message["reason"]["code"] for message in rejected)
    accounted = accepted + duplicates + sum(reasons.values())
    print(f"records sent to Kinesis       {sent:>10,}")
    print(f"  accepted (applied once)     {accepted:>10,}")
    print(f"  duplicates (no effect)      {duplicates:>10,}")
    print(f"  rejected to dead letters    {sum(reasons.values()):>10,}")
    for code, count in sorted(reasons.items()):
        print(f"    {code:<26}{count:>10,}")
    verdict = "nothing lost" if accounted == sent else f"MISMATCH: {sent - accounted:+,} unaccounted"
    print(f"  accepted + duplicates + rejected = {accounted:,} ({verdict})")
    writes = sum(line["profiles_written"] for line in batches)
    worst = max((line["profiles_written"] / line["customers"] for line in batches if line["customers"]), default=0.0)
    print(f"profiles in DynamoDB          {len(profiles):>10,}")
    print(f"ingest invocations (batches)  {len(batches):>10,}   source stats: {dict(pipeline.source.stats)}")
    print(f"profile writes                {writes:>10,}   max writes per customer in a batch: {worst:.2f} (goal <= 1)")
    print(f"ingest time                   {seconds:>10.1f} s  ({sent / seconds:,.0f} records/s through moto)")
    archive = pipeline.archive
    print(
        f"archived to the data lake     {archive.records_archived:>10,} records in {archive.objects_written} object(s)"
    )
    sample = rejected[0] if rejected else None
    if sample:
        print(f"a dead letter: reason={sample['reason']} sequence={sample['source']['sequence_number']}")


def print_example_profile(profiles: dict[str, Profile], now: datetime) -> None:
    if not profiles:
        return
    profile = max(profiles.values(), key=lambda p: (len(p.cart()) > 0, p.orders, p.revenue_cents, p.pid))
    print(f"\nexample profile {profile.pid} (version {profile.version})")
    print(f"  orders {profile.orders}, revenue {profile.revenue_cents / 100:,.2f}, items {profile.items}")
    print(f"  daily buckets {len(profile.days)}, recent product views {len(profile.recent_views)}")
    cart = ", ".join(f"{line.product_id} x{line.quantity}" for line in profile.cart().values()) or "empty"
    print(f"  open cart: {cart};  consent: {profile.consents()}")
    values = feature_dict(profile, now)
    print("  features (as the models will see them):")
    for start in range(0, len(FEATURE_NAMES), 3):
        row = FEATURE_NAMES[start : start + 3]
        print("    " + "  ".join(f"{name:<26}{values[name]:>8.2f}" for name in row))


def print_training_summary(headline: dict[str, Any], registry: Any, stage: str, report: Path) -> None:
    print(
        f"\n{'model':<11} {'chosen':<18} {'ROC-AUC':>8} {'baseline':>9} {'PR-AUC':>7} {'baseline':>9} "
        f"{'lift@10%':>9} {'Brier':>6}  ONNX max|Δ|   (test window)"
    )
    for name in ("propensity", "churn"):
        h = headline[name]
        print(
            f"{name:<11} {h['model']:<18} {h['roc_auc']:>8.3f} {h['baseline_roc_auc']:>9.3f} {h['pr_auc']:>7.3f} "
            f"{h['baseline_pr_auc']:>9.3f} {h['lift_top10']:>9.2f} {h['brier']:>6.3f}  {h['onnx_max_abs_diff']:.1e}"
        )
    segments = headline["segments"]
    ari = (
        f", adjusted Rand index vs planted types {segments['adjusted_rand_index']:.3f}"
        if "adjusted_rand_index" in segments
        else ""
    )
    print(f"segments: k = {segments['k']} by silhouette ({segments['silhouette']:.3f}){ari}")
    print("  " + ", ".join(f"{name} {size:,}" for name, size in segments["sizes"].items()))
    recommendations = headline.get("recommendations")
    if recommendations:
        print(f"recommendations, on {recommendations['trials']:,} held-out order lines (serving the "
              f"{recommendations['served']}; {recommendations['products']} products):")  # fmt: skip
        print(f"  {'':<20}{'hit@3':>7}{'hit@10':>8}{'NDCG@3':>8}{'NDCG@10':>9}{'coverage':>10}{'cold hit@10':>13}")
        for name, row in recommendations["comparison"].items():
            cold = "-" if row["cold_hit_rate_10"] is None else f"{row['cold_hit_rate_10']:.3f}"
            print(f"  {name:<20}{row['hit_rate_3']:>7.3f}{row['hit_rate_10']:>8.3f}{row['ndcg_3']:>8.3f}"
                  f"{row['ndcg_10']:>9.3f}{row['coverage']:>10.1%}{cold:>13}")  # fmt: skip
    for name in ("propensity", "churn", "segments", "recommendations"):
        alias = registry.alias(name, stage)
        print(
            f"registry: {name:<15} {stage} → {alias['version'] if alias else 'none'}  (s3://{registry.bucket}/{name}/)"
        )
    print(f"report: {report}  (open it in a browser; metrics.json beside it)")
