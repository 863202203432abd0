"""Powertools batch processing, extended with a batch-level commit step.

Powertools' BatchProcessor handles one record at a time; ingest must see the whole batch to
write each customer's profile once. The record handler only decodes (a bad record becomes a
rejection, not a failure, so it never blocks the shard); `process` then commits the decoded
batch and reports the records whose customer could not be written as failures, in the
partial-response shape Lambda expects (retry from the lowest failed sequence number).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from microtarget.errors import RetryableError
from microtarget.ingest import BatchReport, Decoded, RawRecord


def raw_record(record: KinesisStreamRecord) -> RawRecord:
    payload = record.kinesis
    return RawRecord(
        data=payload.data_as_bytes(),
        sequence_number=payload.sequence_number,
        source={
            "sequence_number": payload.sequence_number,
            "event_id": record.event_id,
            "event_source_arn": record.event_source_arn,
            "approximate_arrival": str(payload.approximate_arrival_timestamp),
        },
    )


class CustomerBatchProcessor(BatchProcessor):
    def __init__(self, commit: Callable[[list[Decoded]], BatchReport]) -> None:
        super().__init__(event_type=EventType.KinesisDataStreams, raise_on_entire_batch_failure=False)
        self._commit = commit
        self.report = BatchReport()

    def process(self) -> list[tuple]:
        results = super().process()
        decoded = [result for status, result, _record in results if status == "success"]
        self.report = self._commit(decoded)
        failed = self.report.failed_sequence_numbers
        for raw in self.records:
            if raw["kinesis"]["sequenceNumber"] in failed:
                error = RetryableError("profile or dead-letter write failed; Lambda retries from here")
                self.fail_messages.append(KinesisStreamRecord(raw))
                self.exceptions.append((RetryableError, error, None))
        return results
