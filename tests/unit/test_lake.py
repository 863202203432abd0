"""The single-machine reader of the lake: it reads only the day partitions a run needs, holds one
customer bucket at a time (not the lake), and gives the rows the in-memory replay gives."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from training import build, lake
from training.build import Plan
from training.dataset import build_rows, group_by_customer, plan_timeline
from training.lake import SourceError, Window, list_objects, spill
from training.local_engine import run_task
from training.sources import load_events, write_events
from training.synthetic import generate

END = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lake")
    write_events(generate(400, 70, seed=5, end=END).events, str(folder))
    return folder


def test_streamed_rows_equal_the_in_memory_replay_bit_for_bit(lake_dir: Path) -> None:
    rows, timeline, orders, read = build.dataset(str(lake_dir), Plan(end=END), workers=2)
    events = [e for e in load_events(str(lake_dir)).events if e.occurred_at <= END]
    expected = plan_timeline(min(e.occurred_at for e in events), END)
    alone = build_rows(group_by_customer(events), expected.cutoffs, expected.horizon, workers=1).ordered()
    assert timeline == expected and read.events == len(events)
    assert rows.customer == alone.customer and np.array_equal(rows.cutoff, alone.cutoff)
    assert rows.features.tobytes() == alone.features.tobytes()  # bit for bit, float32
    assert np.array_equal(rows.purchased, alone.purchased) and np.array_equal(rows.had_purchased, alone.had_purchased)
    assert len(orders) == sum(1 for e in events if e.event_type == "purchase" and e.properties.items)


def test_only_the_windows_day_partitions_are_read(lake_dir: Path) -> None:
    first, last = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 10, 12, tzinfo=UTC)
    listing = list_objects(str(lake_dir), Window(first, last))
    days = sorted({lake.partition_day(location) for location, _ in listing.objects})
    # from the first day to LATE_DAYS after the last: events may arrive late, never early
    assert days[0] == first.date() and days[-1] == last.date() + timedelta(days=lake.LATE_DAYS)
    assert len(days) == 10 + lake.LATE_DAYS and listing.pruned == 71 - len(days)
    lines = spill(str(lake_dir), Window(first, last))
    try:
        assert lines.first is not None and lines.last is not None
        assert first <= lines.first and lines.last <= last and lines.outside > 0
    finally:
        lines.close()


def test_a_late_arrival_inside_the_window_is_read_and_one_outside_it_is_not(tmp_path: Path) -> None:
    arrived = tmp_path / "events/year=2026/month=11/day=12/late.jsonl"
    arrived.parent.mkdir(parents=True)
    lines = [_line("C-1", datetime(2026, 11, 10, 9, tzinfo=UTC)), _line("C-2", datetime(2026, 11, 11, 9, tzinfo=UTC))]
    arrived.write_text("\n".join(lines) + "\n")
    kept = spill(str(tmp_path), Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 10, 23, tzinfo=UTC)))
    try:
        assert (kept.lines, kept.outside) == (1, 1)  # arrived two days late: read; happened after the end: not kept
    finally:
        kept.close()


def _line(customer: str, at: datetime, **extra: object) -> str:
    record = {"schema_version": 1, "event_id": f"e-{customer}-{at:%d%H}", "event_type": "page_view",
              "customer_id": customer, "occurred_at": at.isoformat(), "properties": {"title": "Home"}} | extra  # fmt: skip
    return json.dumps(record)


def test_a_bad_line_is_named_by_object_and_line_or_skipped_and_counted(tmp_path: Path) -> None:
    day = tmp_path / "events/year=2026/month=11/day=10/part.jsonl.gz"
    day.parent.mkdir(parents=True)
    good = [_line(f"C-{i}", datetime(2026, 11, 10, i, tzinfo=UTC)) for i in range(3)]
    day.write_bytes(gzip.compress("\n".join([good[0], '{"schema_version": 1', *good[1:]]).encode()))
    as_of = datetime(2026, 11, 10, 23, tzinfo=UTC)
    with pytest.raises(SourceError, match=r"part\.jsonl\.gz:2: invalid_json"):
        build.snapshots(str(tmp_path), as_of, workers=1)
    shots, read = build.snapshots(str(tmp_path), as_of, skip_bad=True, workers=1)
    assert len(read.skipped) == 1 and shots.pids == ["C-0", "C-1", "C-2"]


class _Count:
    """A task that keeps nothing: what is held is the reader's own."""

    def run(self, customer: str, events: list) -> int:
        return len(events)


def _peak(folder: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        lines = spill(str(folder))
        try:
            results = run_task(lines, _Count(), workers=1)
        finally:
            lines.close()
        return tracemalloc.get_traced_memory()[1], sum(r.events for r in results)
    finally:
        tracemalloc.stop()


def test_memory_is_bounded_by_a_bucket_not_by_the_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lake, "SPILL_SOURCE_BYTES", 16 << 10)  # small buckets, so both lakes have many
    monkeypatch.setattr(lake, "FLUSH_BYTES", 256 << 10)
    small, large = tmp_path / "small", tmp_path / "large"
    write_events(generate(150, 30, seed=1, end=END).events, str(small))
    write_events(generate(600, 30, seed=1, end=END).events, str(large))
    small_peak, small_events = _peak(small)
    large_peak, large_events = _peak(large)
    assert large_events > 3.5 * small_events
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)  # flat: the lake grew 4x
    tracemalloc.start()
    try:
        load_events(str(large))  # what holding the whole lake costs
        whole = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert large_peak * 3 < whole, (large_peak, whole)


def test_a_capped_fit_keeps_every_windows_purchase_rate(lake_dir: Path) -> None:
    rows, _timeline, _orders, _read = build.dataset(str(lake_dir), Plan(end=END), workers=1)
    capped = rows.capped(len(rows.customer) // 4, seed=3)
    assert abs(len(capped.customer) - len(rows.customer) // 4) <= 2 * len(set(rows.cutoff.tolist()))
    for cutoff in set(rows.cutoff.tolist()):
        full, part = rows.purchased[rows.cutoff == cutoff], capped.purchased[capped.cutoff == cutoff]
        assert abs(int(part.sum()) - full.sum() / 4) <= 1 and abs(len(part) - len(full) / 4) <= 1
    again = rows.capped(len(rows.customer) // 4, seed=3)
    assert again.customer == capped.customer  # the same sample every run
    assert rows.capped(len(rows.customer)) is rows
