"""The figures the scheduled jobs (results, monitor) send to CloudWatch, where the stack's alarms
and dashboard read them. The jobs run once a day: each figure is stamped with its as-of moment."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

BATCH = 500  # PutMetricData takes up to 1,000 figures a call


def point(name: str, value: float | None, **dimensions: str) -> dict[str, Any]:
    """One figure; None (a figure the data cannot give yet) is not sent. CloudWatch takes
    magnitudes from about 1e-108 to 1e108: a smaller one (an SRM p-value of 1e-219) is sent as 0."""
    value = math.nan if value is None else float(value)
    value = 0.0 if abs(value) < 1e-100 else value
    return {"MetricName": name, "Value": value, "Unit": "None",
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()]}  # fmt: skip


def put_metrics(namespace: str, data: Iterable[dict[str, Any]], as_of: datetime) -> int:
    """Send the figures (the finite ones: CloudWatch refuses NaN); how many were sent."""
    client = boto3.client("cloudwatch")
    points = [d | {"Timestamp": as_of} for d in data if math.isfinite(d["Value"]) and abs(d["Value"]) < 1e100]
    for start in range(0, len(points), BATCH):
        try:
            client.put_metric_data(Namespace=namespace, MetricData=points[start : start + BATCH])
        except ClientError as exc:  # the files are written; say why the figures are not
            raise ValueError(
                f"CloudWatch refused the figures ({exc.response['Error'].get('Message', exc)}); it takes none older "
                "than two weeks, so run a backfill's --as-of without --metrics-namespace"
            ) from None
    return len(points)
