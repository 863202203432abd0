"""Site events through the local Kinesis, the ingest handler and DynamoDB on moto's server."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from local.bad_records import SPOILERS, bad_records
from local.kinesis_source import KinesisEventSource
from local.pipeline import IngestPipeline
from local.privacy import raw_ids_found
from tests.helpers.events import NOW
from training.synthetic import generate


def table_items(pipeline: IngestPipeline) -> str:
    return json.dumps({pid: p.to_item() for pid, p in sorted(pipeline.profiles().items())}, sort_keys=True)


def test_events_flow_into_profiles_and_bad_records_into_dead_letters(pipeline: IngestPipeline) -> None:
    # Given synthetic traffic for 40 customers with every kind of bad record mixed in
    traffic = generate(40, 3, seed=3, end=NOW)
    bad = bad_records(traffic.events, per_kind=2, now=NOW)
    # When it is put on the stream and the event source drains it
    sent = pipeline.send_events(traffic.events) + pipeline.send_records((d, k) for _c, d, k in bad)
    assert pipeline.run() == sent
    # Then every customer has a profile, every bad record has its reason, nothing is lost
    profiles, rejected = pipeline.profiles(), pipeline.rejected()
    assert len(profiles) == len(traffic.truth)
    assert sorted(m["reason"]["code"] for m in rejected) == sorted(code for code, _d, _k in bad)
    assert {m["reason"]["code"] for m in rejected} == set(SPOILERS)
    accepted = sum(line["accepted"] for line in pipeline.batch_logs())
    assert accepted + len(rejected) == sent == len(traffic.events) + len(bad)
    assert sum(p.orders for p in profiles.values()) == sum(e["event_type"] == "purchase" for e in traffic.events)
    # and no raw customer id is in any profile item or log line
    assert raw_ids_found(traffic.truth, profiles, [pipeline.ingest.log_path]) == 0


def test_replaying_the_whole_stream_three_times_changes_no_profile(pipeline: IngestPipeline) -> None:
    traffic = generate(25, 2, seed=5, end=NOW)
    pipeline.send_events(traffic.events)
    pipeline.run()
    before = table_items(pipeline)
    for _ in range(3):  # a new event source mapping reads the stream again from TRIM_HORIZON
        KinesisEventSource(pipeline.aws, pipeline.ingest).drain()
    assert table_items(pipeline) == before
    assert pipeline.batch_logs()[-1]["accepted"] == 0


def test_each_batch_writes_each_customer_at_most_once(pipeline: IngestPipeline) -> None:
    now = NOW - timedelta(hours=1)
    events = [
        {
            "event_id": f"v-{i}",
            "event_type": "product_view",
            "occurred_at": (now + timedelta(seconds=i)).isoformat(),
            "customer_id": f"C-{i % 7}",
            "properties": {"product_id": "P1"},
        }
        for i in range(300)
    ]
    pipeline.send_events(events)
    pipeline.run()
    for line in pipeline.batch_logs():
        assert line["profiles_written"] <= line["customers"]
    assert sum(p.days and sum(b.get("pv", 0) for b in p.days.values()) for p in pipeline.profiles().values()) == 300


def test_the_archive_holds_every_valid_event_under_its_pid_and_no_raw_id(pipeline: IngestPipeline) -> None:
    import gzip

    from microtarget.aws.secrets import pseudonymizer_from_secret
    from microtarget.identity import is_pid

    traffic = generate(5, 1, seed=9, end=NOW)
    bad = bad_records(traffic.events, per_kind=1, now=NOW)
    pipeline.send_events(traffic.events)
    pipeline.send_records((d, k) for _c, d, k in bad)
    pipeline.run()
    s3 = pipeline.aws.client("s3")
    bucket = pipeline.aws.ref("DataLakeBucket")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="events/year=")["Contents"]]
    lines = []
    for key in keys:
        assert "/month=" in key and "/day=" in key and key.endswith(".gz")
        lines += gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode().splitlines()
    archived = [json.loads(line) for line in lines]
    # every valid event, none of the records ingest refuses (they are dead letters, sealed apart)
    assert sorted(e["event_id"] for e in archived) == sorted(e["event_id"] for e in traffic.events)
    assert pipeline.archive.records_dropped == len(bad)
    # each under the pid ingest keys its profile by, the rest of the event unchanged
    pids = pseudonymizer_from_secret(pipeline.aws.ref("PseudonymSecret"))
    by_id = {e["event_id"]: e for e in traffic.events}
    for event in archived:
        assert is_pid(event["customer_id"])
        original = by_id[event["event_id"]]
        assert event == original | {"customer_id": pids.pid(original["customer_id"])}
    assert raw_ids_found(traffic.truth, {}, [pipeline.archive.transform.log_path], lines) == 0


@pytest.mark.slow
def test_a_guest_id_shared_by_a_crowd_loses_no_event_through_the_handler(pipeline: IngestPipeline) -> None:
    # Given 6,000 events in a day for one customer id, every one in a new session (past 400 KB before)
    events = [
        {
            "event_id": f"g-{i}",
            "event_type": "product_view",
            "occurred_at": (NOW - timedelta(hours=24) + timedelta(seconds=i * 14)).isoformat(),
            "customer_id": "guest",
            "session_id": f"session-{i:06d}-{'x' * 100}",
            "properties": {"product_id": f"P{i:06d}{'y' * 100}", "category": "c" * 120},
        }
        for i in range(6_000)
    ]
    pipeline.send_events(events)
    pipeline.run()
    # Then every event counts, none was failed or retried, and the overflow was reported
    (profile,) = pipeline.profiles().values()
    assert sum(b.get("pv", 0) for b in profile.days.values()) == 6_000
    logs = pipeline.batch_logs()
    assert sum(line["accepted"] for line in logs) == 6_000 and all(line["failed_records"] == 0 for line in logs)
    assert sum(line["compacted"] for line in logs) >= 1


def test_a_replayed_stream_dead_letters_each_bad_record_once(pipeline: IngestPipeline) -> None:
    # Given bad records on the stream, ingested once
    traffic = generate(5, 1, seed=2, end=NOW)
    bad = bad_records(traffic.events, per_kind=1, now=NOW)
    pipeline.send_events(traffic.events)
    pipeline.send_records((d, k) for _c, d, k in bad)
    pipeline.run()
    # When the whole stream is read again three times (a new event source mapping, an operator replay)
    for _ in range(3):
        KinesisEventSource(pipeline.aws, pipeline.ingest).drain()
    # Then each bad record is in the dead letters once, and the alarm's metric counted it once
    assert sorted(m["reason"]["code"] for m in pipeline.rejected()) == sorted(code for code, _d, _k in bad)
    logs = pipeline.batch_logs()
    counted = sum(sum(line["rejected"].values()) - line["rejected_before"] for line in logs)
    assert counted == len(bad) and sum(line["rejected_before"] for line in logs) == 3 * len(bad)
