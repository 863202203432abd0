"""`make demo`: the whole flow on the embedded local AWS, with a readable summary.

    python -m local.demo [--customers 2000] [--days 75] [--live-days 4] [--seed 7]

History (all but the last live days) is archived to the data lake and folded into profiles
as a backfill; the models are trained from the data lake and published; customers' contact
details are registered through the API; the live days stream through Kinesis (with bad
records, producer retries and late arrivals) and fire triggers, which dispatch turns into
e-mails and pushes over three simulated days; finally campaign tools ask the API.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from microtarget.aws.secrets import pseudonymizer_from_secret

from local.aws import LocalAws
from local.backfill import backfill
from local.bad_records import SPOILERS, bad_records, late_copies
from local.clock import LocalClock
from local.config import upload_catalog, upload_config
from local.demo_api import show_decisions
from local.demo_audience import show_audience
from local.demo_dispatch import print_dispatch_summary, register_contacts, run_dispatch
from local.demo_moments import play_moments
from local.demo_monitor import show_monitoring
from local.demo_privacy import show_erasure
from local.demo_results import show_results
from local.demo_uplift import show_uplift
from local.dispatch_pipeline import DispatchPipeline
from local.pipeline import IngestPipeline
from local.privacy import bucket_texts, contact_leaks, raw_ids_found
from local.progress import Progress
from local.summary import print_example_profile, print_ingest_summary, print_training_summary, section
from local.template import ROOT
from training import build
from training.build import Plan
from training.commands import headline, product_catalog
from training.registry import RegistryWriter
from training.report import write_report
from training.sources import write_events
from training.synthetic import generate
from training.train import train_all

OUT = ROOT / ".local"
# the demo's "now": the same traffic, summary and figures at any hour it runs
DEMO_NOW = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
DISPATCH_HOURS = 72  # simulated hours after the live traffic: long enough for three-day cross-sells


def step(what: str) -> None:
    """A long step says what it is doing before it starts (minutes, on a slow machine)."""
    print(f"  … {what}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000, help="synthetic customers (default 2000)")
    parser.add_argument("--days", type=int, default=75, help="days of traffic, live days included (default 75)")
    parser.add_argument("--live-days", type=int, default=4, help="days streamed through Kinesis (default 4)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--out", type=Path, default=OUT, help=f"models, report and logs (default {OUT.relative_to(ROOT)})"
    )
    args = parser.parse_args(argv)
    if args.customers < 1 or not 1 <= args.live_days < args.days:
        parser.error("need --customers >= 1 and 1 <= --live-days < --days")
    started = time.perf_counter()

    section("1. Local AWS")
    clock = LocalClock(start=DEMO_NOW)  # SQS delays, schedules and the handlers' "now" follow it
    with clock, LocalAws(secret_seed=args.seed) as aws:
        print(f"moto server at {aws.endpoint}; resources created from template.yaml:")
        for logical_id, ref in aws.resolver.refs.items():
            print(f"  {logical_id:<24} {aws.template['Resources'][logical_id]['Type']:<38} {ref.rsplit('/', 1)[-1]}")
        upload_config(aws)
        print("campaigns/catalog.yaml and campaigns/templates/ uploaded to s3://…/config/ (what marketers edit)")

        section("2. Synthetic site traffic")
        now = clock.now().replace(microsecond=0)
        traffic = generate(args.customers, args.days, seed=args.seed, end=now)
        split_at = now - timedelta(days=args.live_days)
        split = split_at.isoformat()
        history = [e for e in traffic.events if e["occurred_at"] < split]
        live = [e for e in traffic.events if e["occurred_at"] >= split]
        types = ", ".join(f"{k} {v}" for k, v in Counter(traffic.truth.values()).items())
        print(f"{len(traffic.events):,} events from {args.customers:,} customers over {args.days} days")
        print(f"planted customer types (ground truth, never in the events): {types}")
        print(upload_catalog(aws, traffic, args.out))

        section(f"3. History: {len(history):,} events archived and folded into profiles")
        lake = f"s3://{aws.ref('DataLakeBucket')}"
        pids = pseudonymizer_from_secret(aws.ref("PseudonymSecret"))
        files = write_events(history, lake, "history", pids)  # as the archive holds them: pids only
        started_at = time.perf_counter()
        step(f"folding {len(history):,} events into profiles (one batch, one write per customer) …")
        report = backfill(aws, history)
        print(
            f"{len(files)} daily objects under {lake}/events/; {report.accepted:,} events → "
            f"{report.profiles_written:,} profiles in {time.perf_counter() - started_at:.1f} s (one write per customer)"
        )

        section("4. Training from the data lake, published to the model registry")
        started_at = time.perf_counter()
        step("streaming the data lake through customer buckets and replaying each at every cutoff …")
        rows, timeline, orders, read = build.dataset(f"{lake}/events/", Plan(end=split_at), skip_bad=True)
        models_out = args.out / "models"
        results = train_all(
            rows, timeline, models_out, {pids.pid(c): kind for c, kind in traffic.truth.items()},
            step=lambda name: step(f"training {name} …"),
            orders=orders, catalog=product_catalog(f"s3://{aws.ref('ModelsBucket')}/config/products.jsonl"),
        )  # fmt: skip
        report_path = write_report(results, models_out)
        registry = RegistryWriter(aws.client("s3"), aws.ref("ModelsBucket"))
        stage = aws.resolver.parameters["Stage"]  # the stack serves the <model>/<stage>.json alias
        step("checking each model against the gate, publishing and promoting …")
        for name in results:
            manifest = registry.publish(models_out / name, stage)
            registry.promote(name, manifest["version"], stage)
        print(
            f"{read.events or 0:,} events from {read.objects} objects ({len(read.skipped)} bad lines skipped) → "
            f"{len(rows.purchased):,} point-in-time rows; trained in {time.perf_counter() - started_at:.1f} s"
        )
        print_training_summary(headline(results), registry, stage, Path(report_path))

        section("5. Contacts: e-mail addresses and push endpoints, sealed: dispatch (and access exports) unseal")
        pipeline = IngestPipeline(aws, log_dir=args.out / "logs")
        dispatch = DispatchPipeline(aws, clock, args.out / "logs")
        started_at = time.perf_counter()
        stored = register_contacts(aws, sorted(traffic.truth), dispatch, args.seed)
        print(
            f"PUT /v1/customers/{{id}}/contact for {len(traffic.truth):,} customers in "
            f"{time.perf_counter() - started_at:.1f} s: {stored}; KMS-sealed in ContactsTable, never in profiles"
        )

        section(f"6. Live: the last {args.live_days} days through Kinesis → ingest → profiles and triggers")
        bad = bad_records(live, per_kind=5, now=now, seed=args.seed)
        rng = random.Random(args.seed)
        last_day = (now - timedelta(days=1)).isoformat()
        views = [e for e in live if e["event_type"] == "product_view" and e["occurred_at"] >= last_day]
        late_ok = late_copies(views, 10, hours_back=1, seed=args.seed)
        late_bad = late_copies(views, 10, hours_back=24 * 10, seed=args.seed + 1)
        recent = [e for e in live if e["occurred_at"] >= last_day]  # producers retry what they just sent
        replays = rng.sample(recent, k=max(1, len(live) // 50))
        print(f"{len(live):,} events plus {len(bad)} bad records ({', '.join(SPOILERS)}),")
        print(
            f"{len(replays):,} producer retries, {len(late_ok)} events 1 h late and {len(late_bad)} events 10 days late"
        )
        put = Progress("PutRecords", len(live) + len(bad) + len(replays))
        sent = pipeline.send_events(live, progress=put.to)
        sent += pipeline.send_records((data, key) for _code, data, key in bad)
        sent += pipeline.send_events(replays)
        put.to(sent)
        put.close()
        started_at = time.perf_counter()
        work = Progress("ingest", sent)
        pipeline.run(progress=work.to)
        work.close()
        sent += pipeline.send_events(late_ok + late_bad)  # late arrivals, after the stream moved on
        pipeline.run()
        profiles, rejected = pipeline.profiles(), pipeline.rejected()
        print_ingest_summary(pipeline, sent, profiles, rejected, time.perf_counter() - started_at)
        print_example_profile(profiles, now)

        section("7. Triggers → dispatch: consent, caps, quiet hours, holdout, rendered and sent")
        seconds = run_dispatch(dispatch, DISPATCH_HOURS)
        print_dispatch_summary(pipeline, dispatch, DISPATCH_HOURS, seconds)

        section("8. Moments, now: three customers on the site, and what each one gets")
        loyal = [c for c, persona in sorted(traffic.truth.items()) if persona == "loyal_high_value"]
        ana = play_moments(aws, pipeline, dispatch, loyal, profiles)

        section("9. Decisions API: what campaign tools get, and what they report back")
        examples = _examples(traffic.truth)
        show_decisions(aws, examples, args.out / "logs")

        section("10. Privacy")
        logs = [pipeline.ingest.log_path, dispatch.function.log_path]
        logs += [pipeline.archive.transform.log_path] if pipeline.archive.transform else []
        lake_objects = list(bucket_texts(aws.client("s3"), aws.ref("DataLakeBucket"), "events/"))
        leaks = raw_ids_found(traffic.truth, profiles, logs, lake_objects)
        addresses = contact_leaks(profiles, dispatch.ledger(), logs)
        print(
            f"raw customer ids found in profiles, logs or the {len(lake_objects)} data-lake objects: {leaks} "
            "(profiles and the lake are keyed by HMAC pid)"
        )
        print(f"e-mail addresses found in profiles, the ledger or logs: {addresses} (only in the sealed contacts)")
        left = show_erasure(aws, clock, ana, pids.pid(ana), args.out / "logs")  # Ana asks to be forgotten
        print(f"handler logs and EMF metrics: {', '.join(_shown(p) for p in logs)}")

        section("11. An audience for the campaign tools, from the data lake")
        moment = clock.now().replace(microsecond=0)
        left += show_audience(aws, moment, sorted(traffic.truth), (ana, pids.pid(ana)), args.out / "audience")

        section("12. The models, monitored: drift from training and live performance")
        show_monitoring(aws, moment)  # the daily job, on the last live day

        section("13. The experiment, measured: a week later, from the ledger")
        customer_of = {pids.pid(customer): customer for customer in traffic.truth}
        show_results(
            aws, clock, pipeline, dispatch.ledger(), customer_of, traffic.truth, args.out / "results", args.seed
        )

        section("14. Uplift: whom the offers move, learned from the experiments")
        persona_of = {pid: traffic.truth[customer] for pid, customer in customer_of.items()}
        show_uplift(aws, clock.now(), f"{lake}/events/", args.out / "uplift", persona_of, _examples(traffic.truth))
        print(f"\ntotal demo time {time.perf_counter() - started:.1f} s")
    return 0 if leaks == 0 and addresses == 0 and left == 0 else 1


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _examples(truth: dict[str, str]) -> dict[str, str]:
    """One customer of each planted type, and a visitor the site has never seen."""
    chosen: dict[str, str] = {}
    for customer, persona in sorted(truth.items()):
        chosen.setdefault(f"a {persona.replace('_', ' ')} customer", customer)
    chosen["an unknown visitor"] = "visitor-never-seen"
    return chosen


if __name__ == "__main__":
    sys.exit(main())
