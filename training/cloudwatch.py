"""The figures the scheduled jobs (results, monitor) send to CloudWatch, where the stack's alarms
and dashboard read them. The jobs run once a day: each figure is stamped with its as-of moment."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import boto3

BATCH = 500  # PutMetricData takes up to 1,000 figures a call


def point(name: str, value: float | None, **dimensions: str) -> dict[str, Any]:
    """One figure; None (a figure the data cannot give yet) is not sent."""
    return {"MetricName": name, "Value": math.nan if value is None else float(value), "Unit": "None",
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()]}  # fmt: skip


def put_metrics(namespace: str, data: Iterable[dict[str, Any]], as_of: datetime) -> int:
    """Send the figures (the finite ones: CloudWatch refuses NaN); how many were sent."""
    client = boto3.client("cloudwatch")
    points = [d | {"Timestamp": as_of} for d in data if math.isfinite(d["Value"])]
    for start in range(0, len(points), BATCH):
        client.put_metric_data(Namespace=namespace, MetricData=points[start : start + BATCH])
    return len(points)
