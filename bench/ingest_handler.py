"""Ingest through the deployed handler's entry point: the Kinesis event as Lambda delivers it,
the batch loop, Powertools' Logger and Metrics included, only the AWS calls stubbed (the
store keeps DynamoDB items in memory, dead letters go to a list)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from microtarget.ingest import IngestService, RawRecord

from ops.kinesis_event import kinesis_event

HANDLER = Path(__file__).resolve().parents[1] / "functions" / "ingest" / "app.py"
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/bench"


class _Context:
    function_name, memory_limit_in_mb, aws_request_id = "IngestFunction", 1024, "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:IngestFunction"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _handler_module() -> Any:
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "microtarget")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "microtarget")
    spec = importlib.util.spec_from_file_location("bench_ingest_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(module)
    return module


def run(batch: list[RawRecord], fresh_service: Callable[[], IngestService], rounds: int = 5) -> dict[str, float]:
    """Best CPU time of `rounds` handler invocations on the batch, each on a fresh copy of the store."""
    module = _handler_module()
    records = [
        {"SequenceNumber": f"{i:056d}", "PartitionKey": "p", "Data": r.data, "ApproximateArrivalTimestamp": 0.0}
        for i, r in enumerate(batch)
    ]
    event = kinesis_event(STREAM, "shardId-000000000000", records, "us-east-1")
    best, failures = float("inf"), -1
    for _round in range(rounds):
        service = fresh_service()
        module.service = lambda service=service: service  # the composition root, with AWS stubbed
        sink = io.StringIO()  # the EMF metrics and log lines CloudWatch would get
        started = time.process_time()
        with contextlib.redirect_stdout(sink):
            reply = module.handler(event, _Context())
        best = min(best, time.process_time() - started)
        failures = len(reply["batchItemFailures"])
    assert failures == 0, failures
    return {"handler_events_per_second": len(batch) / best, "handler_batch_ms": best * 1000}
