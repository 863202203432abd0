"""`make demo`: the whole flow on the embedded local AWS, with a readable summary.

python -m local.demo [--customers 2000] [--days 7] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime

from local.aws import LocalAws
from local.bad_records import SPOILERS, bad_records, late_copies
from local.pipeline import IngestPipeline
from local.privacy import raw_ids_found
from local.progress import Progress
from local.summary import print_example_profile, print_ingest_summary, section
from training.synthetic import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000, help="synthetic customers (default 2000)")
    parser.add_argument("--days", type=int, default=4, help="days of live site traffic (default 4)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.customers < 1 or args.days < 1:
        parser.error("--customers and --days must be at least 1")

    started = time.perf_counter()
    section("1. Local AWS")
    with LocalAws() as aws:
        print(f"moto server at {aws.endpoint}; resources created from template.yaml:")
        for logical_id, ref in aws.resolver.refs.items():
            kind = aws.template["Resources"][logical_id]["Type"]
            print(f"  {logical_id:<24} {kind:<38} {ref.rsplit('/', 1)[-1]}")
        pipeline = IngestPipeline(aws)

        section("2. Synthetic site traffic")
        traffic = generate(args.customers, args.days, seed=args.seed)
        now = datetime.now(UTC)
        types = Counter(traffic.truth.values())
        print(f"{len(traffic.events):,} events from {args.customers:,} customers over {args.days} days")
        print(
            "planted customer types (ground truth, not in the events): "
            + ", ".join(f"{k} {v}" for k, v in types.items())
        )
        bad = bad_records(traffic.events, per_kind=5, now=now, seed=args.seed)
        rng = random.Random(args.seed)
        horizon = (now - (now - traffic.start) / 4).isoformat()
        recent = [e for e in traffic.events if e["occurred_at"] >= horizon]
        recent_views = [e for e in recent if e["event_type"] == "product_view"]
        late_ok = late_copies(recent_views, 10, hours_back=1, seed=args.seed)
        late_bad = late_copies(recent_views, 10, hours_back=24 * 10, seed=args.seed + 1)
        replays = rng.sample(recent, k=max(1, len(recent) // 50))
        print(f"plus {len(bad)} bad records ({', '.join(SPOILERS)}),")
        print(f"{len(replays):,} producer retries of recent events (duplicates), and late arrivals:")
        print(f"{len(late_ok)} events 1 h older than their customer's newest, {len(late_bad)} events 10 days older")

        section("3. Kinesis → ingest → DynamoDB")
        put = Progress("PutRecords", len(traffic.events) + len(bad) + len(replays))
        sent = pipeline.send_events(traffic.events, progress=put.to)
        sent += pipeline.send_records(((data, key) for _code, data, key in bad))
        sent += pipeline.send_events(replays)
        put.to(sent)
        put.close()
        ingest_started = time.perf_counter()
        work = Progress("ingest", sent)
        pipeline.run(progress=work.to)
        work.close()
        sent += pipeline.send_events(late_ok + late_bad)  # late arrivals, after the stream moved on
        pipeline.run()
        ingest_seconds = time.perf_counter() - ingest_started

        section("4. Summary")
        profiles = pipeline.profiles()
        rejected = pipeline.rejected()
        print_ingest_summary(pipeline, sent, profiles, rejected, ingest_seconds)
        print_example_profile(profiles, now)
        leaks = raw_ids_found(traffic.truth, profiles, [pipeline.ingest.log_path])
        print(f"\nraw customer ids found in profiles or logs: {leaks} (profiles are keyed by HMAC pid)")
        print(
            f"handler logs and EMF metrics: {pipeline.ingest.log_path.relative_to(pipeline.ingest.log_path.parents[2])}"
        )
        print(f"total demo time {time.perf_counter() - started:.1f} s")
    return 0 if leaks == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
