"""Firehose (Kinesis stream as source → S3), emulated from the template's delivery stream.

moto's Firehose neither reads a Kinesis source nor transforms nor expands `!{timestamp:…}`
prefixes nor compresses, so this reads the stream itself and writes what Firehose would: the
records as the template's transformation function returns them (its handler, run in process),
each followed by the configured delimiter, gzipped, under the expanded prefix.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from base64 import b64decode, b64encode
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from microtarget.clock import utc_now

from local.aws import LocalAws
from local.lambda_runtime import LocalFunction
from local.template import resources_of_type

TRANSFORM_BATCH = 500


def _expand(prefix: str, moment: datetime) -> str:
    java_to_strftime = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H"}

    def timestamp(match: re.Match[str]) -> str:
        pattern = match.group(1)
        for java, fmt in java_to_strftime.items():
            pattern = pattern.replace(java, fmt)
        return moment.strftime(pattern)

    return re.sub(r"!\{timestamp:([^}]+)\}", timestamp, prefix)


class FirehoseArchive:
    def __init__(self, aws: LocalAws, logical_id: str | None = None, log_dir: Path | None = None) -> None:
        streams = resources_of_type(aws.template, "AWS::KinesisFirehose::DeliveryStream")
        self.logical_id = logical_id or next(iter(streams))
        transform = _transformation(streams[self.logical_id]["Properties"])
        self.transform = LocalFunction(aws, transform, log_dir) if transform else None
        props = aws.resolver.resolve(streams[self.logical_id]["Properties"])
        self.stream_name = props["KinesisStreamSourceConfiguration"]["KinesisStreamARN"].rsplit("/", 1)[-1]
        destination = props["ExtendedS3DestinationConfiguration"]
        self.bucket = destination["BucketARN"].split(":::")[-1]
        self.prefix = destination.get("Prefix", "")
        self.error_prefix = destination.get("ErrorOutputPrefix", "errors/")
        self.gzip = destination.get("CompressionFormat") == "GZIP"
        self.delimiter = _delimiter(destination)
        self.kinesis, self.s3 = aws.client("kinesis"), aws.client("s3")
        self._iterators: dict[str, str] = {}
        self.objects_written = 0
        self.records_archived = 0
        self.records_dropped = 0
        self.records_failed = 0  # the transformation failed them: written whole to the error prefix

    def flush(self) -> int:
        """Read everything new on the stream and write one object per arrival hour."""
        if not self._iterators:
            for shard in self.kinesis.list_shards(StreamName=self.stream_name)["Shards"]:
                self._iterators[shard["ShardId"]] = self.kinesis.get_shard_iterator(
                    StreamName=self.stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
        by_prefix: dict[str, list[bytes]] = {}
        for shard_id, iterator in list(self._iterators.items()):
            while True:
                reply = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                iterator = reply["NextShardIterator"]
                for arrival, data in self._transformed(reply["Records"]):
                    by_prefix.setdefault(_expand(self.prefix, arrival), []).append(data + self.delimiter)
                if not reply["Records"]:
                    break
            self._iterators[shard_id] = iterator
        for prefix, chunks in by_prefix.items():
            self._write(prefix, b"".join(chunks))
            self.records_archived += len(chunks)
        return sum(len(chunks) for chunks in by_prefix.values())

    def _transformed(self, records: list[dict[str, Any]]) -> list[tuple[datetime, bytes]]:
        """What the transformation returns Ok for, with each record's arrival time (on the
        functions' clock, which the local clock may have moved: moto stamps the machine's)."""
        skew = utc_now() - datetime.now(UTC)
        arrivals = [record["ApproximateArrivalTimestamp"].astimezone(UTC) + skew for record in records]
        if self.transform is None:
            return [(arrival, record["Data"]) for arrival, record in zip(arrivals, records, strict=True)]
        kept: list[tuple[datetime, bytes]] = []
        for start in range(0, len(records), TRANSFORM_BATCH):
            chunk = range(start, min(start + TRANSFORM_BATCH, len(records)))
            event: dict[str, Any] = {
                "invocationId": str(uuid.uuid4()),
                "deliveryStreamArn": f"arn:aws:firehose:local:000000000000:deliverystream/{self.logical_id}",
                "sourceKinesisStreamArn": f"arn:aws:kinesis:local:000000000000:stream/{self.stream_name}",
                "region": "local",
                "records": [
                    {
                        "recordId": str(i),
                        "approximateArrivalTimestamp": int(arrivals[i].timestamp() * 1000),
                        "data": b64encode(records[i]["Data"]).decode(),
                    }
                    for i in chunk
                ],
            }
            try:
                answers = self.transform.invoke(event)["records"]
            except Exception as error:  # the function failed the batch (after Firehose's retries)
                answers = [{"recordId": r["recordId"], "result": "ProcessingFailed", "error": str(error)}
                           for r in event["records"]]  # fmt: skip
            failed = []
            for answer in answers:
                if answer["result"] == "Ok":
                    kept.append((arrivals[int(answer["recordId"])], b64decode(answer["data"])))
                elif answer["result"] == "Dropped":
                    self.records_dropped += 1
                else:
                    failed.append(event["records"][int(answer["recordId"]) - start] | {"error": answer.get("error")})
            self._failed(failed)
        return kept

    def _failed(self, records: list[dict[str, Any]]) -> None:
        """What Firehose writes for records its transformation failed: each whole, base64, as a JSON
        line under the error prefix (`processing-failed`)."""
        if not records:
            return
        now = utc_now()
        lines = [json.dumps({"attemptsMade": 4, "arrivalTimestamp": r["approximateArrivalTimestamp"],
                             "errorCode": "Lambda.FunctionError", "errorMessage": r.get("error") or "",
                             "attemptEndingTimestamp": int(now.timestamp() * 1000), "rawData": r["data"]}).encode()
                 for r in records]  # fmt: skip
        prefix = _expand(self.error_prefix.replace("!{firehose:error-output-type}", "processing-failed"), now)
        self._write(prefix, b"\n".join(lines) + b"\n")
        self.records_failed += len(records)

    def _write(self, prefix: str, body: bytes) -> None:
        now = utc_now()
        name = f"{prefix}{self.logical_id}-1-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
        if self.gzip:
            body, name = gzip.compress(body), name + ".gz"
        self.s3.put_object(Bucket=self.bucket, Key=name, Body=body)
        self.objects_written += 1


def _transformation(properties: dict[str, Any]) -> str | None:
    """The logical id of the template's transformation function (its LambdaArn is a GetAtt)."""
    destination = properties.get("ExtendedS3DestinationConfiguration", {})
    for processor in destination.get("ProcessingConfiguration", {}).get("Processors", []):
        if processor["Type"] == "Lambda":
            for parameter in processor.get("Parameters", []):
                if parameter["ParameterName"] == "LambdaArn":
                    return str(parameter["ParameterValue"]["Fn::GetAtt"][0])
    return None


def _delimiter(destination: dict[str, Any]) -> bytes:
    for processor in destination.get("ProcessingConfiguration", {}).get("Processors", []):
        if processor["Type"] == "AppendDelimiterToRecord":
            for parameter in processor.get("Parameters", []):
                if parameter["ParameterName"] == "Delimiter":
                    return parameter["ParameterValue"].encode().decode("unicode_escape").encode()
            return b"\n"
    return b""
