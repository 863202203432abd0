"""The distributed engine gives what the single machine gives: the same point-in-time rows, the
same customers as of a moment and so the same scores, bit for bit, on the same lake, with the same
window, tombstones and logins (an anonymous visit replayed as the customer it became). Spark
runs in local mode (Java 17 is on these machines)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from microtarget.clock import to_ms

from tests.helpers.events import with_logins
from tests.helpers.models import fitted_classifier, fitted_segmenter
from tests.unit.test_batch_scoring import loaded
from training import build
from training.audience import score_records
from training.build import Plan
from training.jobs import ExposureTask
from training.sources import write_events
from training.synthetic import generate

pytestmark = pytest.mark.slow
END = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)

if shutil.which("java") is None:  # pragma: no cover
    pytest.skip("the Spark engine needs Java 17 (not on this machine)", allow_module_level=True)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from training.spark_engine import session

    spark = session("local[2]", partitions=4)
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def lake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lake")
    events, _logged_in = with_logins(generate(300, 90, seed=11, end=END).events)  # visits merged at login
    write_events(events, str(folder))
    bad = folder / "events/year=2026/month=11/day=29/bad.jsonl"
    bad.write_text('{"schema_version": 1, "event_type": "page_view"}\n')  # refused by the parser on both paths
    return folder


def _tombstones(rows_customers: list[str]) -> dict[str, int]:
    erased = sorted(set(rows_customers))[:5]  # open erasures: their past is still in the lake
    return {customer: to_ms(END - timedelta(days=10)) for customer in erased}


def test_the_dataset_on_spark_equals_the_single_machine_bit_for_bit(spark: Any, lake_dir: Path) -> None:
    plan = Plan(end=END - timedelta(days=1), history_days=20)  # a window: pruned partitions, trimmed history
    local, _t, _o, _r = build.dataset(str(lake_dir), plan, skip_bad=True, workers=2)
    stones = _tombstones(local.customer)
    local, timeline, orders, read = build.dataset(str(lake_dir), plan, skip_bad=True, workers=2, tombstones=stones)
    on_spark, timeline2, orders2, read2 = build.dataset(
        str(lake_dir), plan, engine="spark", skip_bad=True, tombstones=stones, spark=spark
    )
    assert timeline == timeline2 and read.pruned_objects > 0
    assert local.customer == on_spark.customer and len(local.customer) > 1000
    assert local.features.tobytes() == on_spark.features.tobytes()
    for name in ("purchased", "had_purchased", "cutoff"):
        assert np.array_equal(getattr(local, name), getattr(on_spark, name)), name
    assert orders == orders2 and len(orders) > 100
    assert len(read.skipped) == len(read2.skipped) == 1
    # the erased past is not replayed: no rows before the tombstone (only the run's end is after it)
    cutoffs = {int(local.cutoff[i]) for i, c in enumerate(local.customer) if c in stones}
    assert cutoffs <= {len(timeline.cutoffs) - 1} and timeline.cutoffs[-2] < END - timedelta(days=10)


def test_customers_and_scores_as_of_a_moment_are_the_same_on_both_engines(spark: Any, lake_dir: Path) -> None:
    as_of = END - timedelta(days=3, hours=5)
    local, _read = build.snapshots(str(lake_dir), as_of, skip_bad=True, workers=2)
    stones = {pid: to_ms(as_of) + 1 for pid in local.pids[:7]}  # erased after all their events: gone
    local, _read = build.snapshots(str(lake_dir), as_of, skip_bad=True, workers=2, tombstones=stones)
    on_spark, _read2 = build.snapshots(
        str(lake_dir), as_of, engine="spark", skip_bad=True, tombstones=stones, spark=spark
    )
    assert local.pids == on_spark.pids and not set(stones) & set(local.pids)
    assert local.values.tobytes() == on_spark.values.tobytes() and np.array_equal(local.consent, on_spark.consent)
    models = {
        "propensity": loaded("propensity", fitted_classifier("gradient_boosting")[0], "classifier"),
        "churn": loaded("churn", fitted_classifier("logistic", seed=2)[0], "classifier"),
        "segments": loaded("segments", fitted_segmenter()[0], "segmenter"),
    }
    assert score_records(local, models, as_of) == score_records(on_spark, models, as_of)


def test_customers_just_before_their_exposures_are_the_same_on_both_engines(spark: Any, lake_dir: Path) -> None:
    everyone, _read = build.snapshots(str(lake_dir), END, skip_bad=True, workers=2)
    moments = {pid: (to_ms(END - timedelta(days=9 + i % 5)), to_ms(END - timedelta(days=2))) for i, pid in
               enumerate(everyone.pids[:60])}  # fmt: skip
    task = ExposureTask(moments, {everyone.pids[0]: to_ms(END - timedelta(days=5))})
    local, _read = build.snapshots(str(lake_dir), END, skip_bad=True, workers=2, exposures=task)
    on_spark, _read2 = build.snapshots(str(lake_dir), END, engine="spark", skip_bad=True, spark=spark, exposures=task)
    assert local.pids == on_spark.pids and len(local.pids) > 60  # most customers twice, each moment its own row
    assert local.values.tobytes() == on_spark.values.tobytes()
