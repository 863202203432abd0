"""The distributed engine: the same tasks as the single-machine path, on Apache Spark.

The lake's objects for a window are read as text, each line keyed by `lake.line_key` (the same
window rule as the local spill), grouped by customer and handed to a task in `applyInPandas`:
the core layer's own replay, features and consent run in the Python workers. Results are written
as Parquet (`kind=row|order|skipped` or `kind=snapshot|skipped`) and read back with pyarrow, so the
driver never collects the lake. Runs in local mode in tests and on EMR Serverless when deployed
(the same file is the job's entry point: see `training/spark_main.py`)."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from microtarget.errors import PermanentError
from microtarget.event_parser import parse_event
from microtarget.features import FEATURE_NAMES

from training import lake
from training.dataset import Rows
from training.identities import MARK, Logins, claims_in, resolve
from training.jobs import CHANNELS, DatasetTask, ExposureTask, Snapshots, SnapshotTask
from training.lake import SourceError, Window, list_objects, refused
from training.recommend import Order

DATASET_SCHEMA = (
    "kind string, customer string, cutoff short, purchased byte, had boolean, features array<float>, "
    "at timestamp, products array<string>, viewed array<string>, problem string"
)
SNAPSHOT_SCHEMA = "kind string, customer string, `values` array<double>, consent array<boolean>, problem string"


def session(master: str | None = None, partitions: int = 16) -> Any:
    """A Spark session: the cluster's when spark-submit started us, else local mode on every core."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter and its packages
    builder = SparkSession.builder.appName("microtarget")
    if master or "PYSPARK_GATEWAY_PORT" not in os.environ:  # set when spark-submit started this driver
        builder = builder.master(master or f"local[{os.cpu_count() or 1}]").config("spark.ui.enabled", "false")
    return (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


def _lines(spark: Any, source: str, window: Window) -> tuple[Any, int]:
    from pyspark.sql import functions as F

    listing = list_objects(source, window)
    if not listing.objects:
        raise SourceError(f"{source}: no event files found")
    text = spark.read.option("lineSep", "\n").text([location for location, _size in listing.objects])
    lines = text.select(F.col("value").alias("line"), F.input_file_name().alias("object"))
    return lines.where(F.trim("line") != ""), listing.size


def read(spark: Any, source: str, window: Window) -> tuple[Any, int, Logins]:
    """The window's lines with their customer (an anonymous id's: the customer it became) and
    moment, the bytes listed, and the logins' merges for the tasks. Spark reads the keys natively;
    a line whose moment it cannot read is kept for the replay, which validates every line and
    applies the window to what it parsed. (Reading twice, for the span and then the replay,
    measured faster than persisting the lines.)"""
    from pyspark.sql import functions as F

    lines, size = _lines(spark, source, window)
    keyed = lines.select(
        "line",
        "object",
        F.get_json_object("line", "$.customer_id").alias("customer"),
        F.try_to_timestamp(F.get_json_object("line", "$.occurred_at")).alias("moment"),
    )
    logins = resolve(
        claims_in(row.line.encode() for row in lines.where(F.col("line").contains(MARK.decode())).toLocalIterator())
    )
    if logins.merged:  # an anonymous id's lines go with the customer it became (training.identities)
        roots = spark.createDataFrame(
            sorted((a, logins.root(a)) for a in logins.merged), "anonymous string, known string"
        )
        joined = keyed.join(F.broadcast(roots), keyed["customer"] == roots["anonymous"], "left")
        keyed = joined.select("line", "object", F.coalesce("known", "customer").alias("customer"), "moment")
    condition = F.lit(True)
    if window.first is not None:
        condition = condition & (F.col("moment") >= F.lit(window.first.astimezone(UTC)))
    if window.last is not None:
        condition = condition & (F.col("moment") <= F.lit(window.last.astimezone(UTC)))
    return keyed.where(F.col("moment").isNull() | condition), size, logins


def span(keyed: Any) -> tuple[datetime, datetime]:
    """The earliest and latest moments in the window (as the local spill reports them)."""
    from pyspark.sql import functions as F

    row = keyed.agg(F.min("moment"), F.max("moment")).first()
    if row is None or row[0] is None:
        raise SourceError("no valid events in the window")
    return row[0].replace(tzinfo=UTC), row[1].replace(tzinfo=UTC)


def _buckets(keyed: Any, size: int) -> Any:
    """Customers grouped into buckets by the local engine's rule (one per SPILL_SOURCE_BYTES of
    archive): one Python call per bucket, since a call per customer costs more in pandas than the
    replay itself, and a worker holds one bucket at a time."""
    from pyspark.sql import functions as F

    count = max(1, -(-size // lake.SPILL_SOURCE_BYTES))
    return keyed.withColumn("bucket", F.pmod(F.xxhash64("customer"), F.lit(count))).groupBy("bucket")


def _events(frame: pd.DataFrame, window: Window, skip_bad: bool) -> tuple[dict[str, list[Any]], list[str]]:
    """The bucket's events by customer (the line's key: an anonymous id's is the customer it became)."""
    groups: dict[str, list[Any]] = {}
    skipped = []
    for line, location, customer in zip(frame["line"], frame["object"], frame["customer"], strict=True):
        try:
            event = parse_event(line.encode(), None)
            if window.holds(event.occurred_at):
                groups.setdefault(customer if isinstance(customer, str) else event.customer_id, []).append(event)
        except PermanentError as exc:
            skipped.append(refused(location, exc, skip_bad))
    return groups, skipped


def _run(keyed: Any, size: int, window: Window, task: Any, out: str, skip_bad: bool, schema: str, records: Any) -> str:
    """The task on every customer, a bucket per Python call; `records(customer, result)` turns
    one result into output rows. Written as Parquet under `out`, partitioned by kind."""

    def replay(frame: pd.DataFrame) -> pd.DataFrame:
        groups, skipped = _events(frame, window, skip_bad)
        rows: list[dict[str, Any]] = [{"kind": "skipped", "problem": where} for where in skipped]
        for customer, group in sorted(groups.items()):
            rows += records(customer, task.run(customer, group))
        return _frame(rows, schema)

    _buckets(keyed, size).applyInPandas(replay, schema).write.mode("overwrite").partitionBy("kind").parquet(out)
    return out


def _dataset_records(_customer: str, result: tuple[Rows, list[Any]]) -> list[dict[str, Any]]:
    rows, orders = result  # a row's own customer: a visitor before its login is one of its own
    found: list[dict[str, Any]] = [
        {"kind": "row", "customer": rows.customer[i], "cutoff": int(rows.cutoff[i]), "purchased": int(rows.purchased[i]),
         "had": bool(rows.had_purchased[i]), "features": rows.features[i]}
        for i in range(len(rows.customer))
    ]  # fmt: skip
    return found + [{"kind": "order", "customer": c, "at": at, "products": p, "viewed": v} for c, at, p, v in orders]


def _snapshot_records(_customer: str, shot: Snapshots) -> list[dict[str, Any]]:
    return [
        {"kind": "snapshot", "customer": pid, "values": values, "consent": consent}
        for pid, values, consent in zip(shot.pids, shot.values, shot.consent, strict=True)
    ]


def dataset(keyed: Any, size: int, window: Window, task: DatasetTask, out: str, skip_bad: bool = False) -> str:
    """The point-in-time rows of every customer (and the orders), as Parquet under `out`."""
    return _run(keyed, size, window, task, out, skip_bad, DATASET_SCHEMA, _dataset_records)


def snapshots(
    keyed: Any, size: int, window: Window, task: SnapshotTask | ExposureTask, out: str, skip_bad: bool = False
) -> str:
    """Every customer as of the task's moment, as Parquet under `out`."""
    return _run(keyed, size, window, task, out, skip_bad, SNAPSHOT_SCHEMA, _snapshot_records)


def _frame(records: list[dict[str, Any]], schema: str) -> pd.DataFrame:
    """Records with nulls where a kind has no value, typed as the schema says (Arrow is strict)."""
    columns = [part.split()[0].strip("`") for part in schema.split(", ")]
    frame = pd.DataFrame({c: pd.Series([r.get(c) for r in records], dtype=object) for c in columns})
    for column, dtype in (("cutoff", "Int16"), ("purchased", "Int8"), ("had", "boolean")):
        if column in frame:
            frame[column] = frame[column].astype(dtype)
    if "at" in frame:
        frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def _part(out: str, kind: str) -> pd.DataFrame | None:
    try:  # a local folder or s3:// (pyarrow reads both)
        return pq.read_table(f"{out.rstrip('/')}/kind={kind}").to_pandas()
    except FileNotFoundError:
        return None


def read_dataset(out: str) -> tuple[Rows, list[Order], list[str]]:
    """Rows (in the engines' shared order), orders and skipped lines from a dataset's Parquet."""
    rows, orders, skipped = _part(out, "row"), _part(out, "order"), _part(out, "skipped")
    width = len(FEATURE_NAMES)
    built = Rows(
        np.stack(rows["features"].to_numpy()).astype(np.float32).reshape(-1, width)
        if rows is not None
        else np.zeros((0, width), np.float32),
        (rows["purchased"].to_numpy() if rows is not None else np.zeros(0)).astype(np.int8),
        (rows["had"].to_numpy() if rows is not None else np.zeros(0)).astype(bool),
        (rows["cutoff"].to_numpy() if rows is not None else np.zeros(0)).astype(np.int16),
        list(rows["customer"]) if rows is not None else [],
    ).ordered()
    columns = () if orders is None else (orders["customer"], orders["at"], orders["products"], orders["viewed"])
    baskets = sorted((c, _utc(at.to_pydatetime()), list(p), list(v)) for c, at, p, v in zip(*columns, strict=True))
    found = [Order(*basket) for basket in baskets]
    return built, found, _problems(skipped)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_snapshots(out: str) -> tuple[Snapshots, list[str]]:
    shots, skipped = _part(out, "snapshot"), _part(out, "skipped")
    if shots is None:
        return Snapshots(), _problems(skipped)
    values = np.stack(shots["values"].to_numpy()).reshape(-1, len(FEATURE_NAMES))
    consent = np.stack(shots["consent"].to_numpy()).reshape(-1, len(CHANNELS)).astype(bool)
    return Snapshots(list(shots["customer"]), values, consent).ordered(), _problems(skipped)


def _problems(skipped: pd.DataFrame | None) -> list[str]:
    return [] if skipped is None else sorted(skipped["problem"])
