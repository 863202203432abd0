"""Firehose (Kinesis stream as source → S3), emulated from the template's delivery stream.

moto's Firehose neither reads a Kinesis source nor expands `!{timestamp:…}` prefixes nor
compresses, so this reads the stream itself and writes what Firehose would: the records,
each followed by the configured delimiter, gzipped, under the expanded prefix.
"""

from __future__ import annotations

import gzip
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from local.aws import LocalAws
from local.template import resources_of_type


def _expand(prefix: str, moment: datetime) -> str:
    java_to_strftime = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H"}

    def timestamp(match: re.Match[str]) -> str:
        pattern = match.group(1)
        for java, fmt in java_to_strftime.items():
            pattern = pattern.replace(java, fmt)
        return moment.strftime(pattern)

    return re.sub(r"!\{timestamp:([^}]+)\}", timestamp, prefix)


class FirehoseArchive:
    def __init__(self, aws: LocalAws, logical_id: str | None = None) -> None:
        streams = resources_of_type(aws.template, "AWS::KinesisFirehose::DeliveryStream")
        self.logical_id = logical_id or next(iter(streams))
        props = aws.resolver.resolve(streams[self.logical_id]["Properties"])
        self.stream_name = props["KinesisStreamSourceConfiguration"]["KinesisStreamARN"].rsplit("/", 1)[-1]
        destination = props["ExtendedS3DestinationConfiguration"]
        self.bucket = destination["BucketARN"].split(":::")[-1]
        self.prefix = destination.get("Prefix", "")
        self.gzip = destination.get("CompressionFormat") == "GZIP"
        self.delimiter = _delimiter(destination)
        self.kinesis, self.s3 = aws.client("kinesis"), aws.client("s3")
        self._iterators: dict[str, str] = {}
        self.objects_written = 0
        self.records_archived = 0

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
                for record in reply["Records"]:
                    arrival = record["ApproximateArrivalTimestamp"].astimezone(UTC)
                    by_prefix.setdefault(_expand(self.prefix, arrival), []).append(record["Data"] + self.delimiter)
                if not reply["Records"]:
                    break
            self._iterators[shard_id] = iterator
        for prefix, chunks in by_prefix.items():
            self._write(prefix, b"".join(chunks))
            self.records_archived += len(chunks)
        return sum(len(chunks) for chunks in by_prefix.values())

    def _write(self, prefix: str, body: bytes) -> None:
        now = datetime.now(UTC)
        name = f"{prefix}{self.logical_id}-1-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
        if self.gzip:
            body, name = gzip.compress(body), name + ".gz"
        self.s3.put_object(Bucket=self.bucket, Key=name, Body=body)
        self.objects_written += 1


def _delimiter(destination: dict[str, Any]) -> bytes:
    for processor in destination.get("ProcessingConfiguration", {}).get("Processors", []):
        if processor["Type"] == "AppendDelimiterToRecord":
            for parameter in processor.get("Parameters", []):
                if parameter["ParameterName"] == "Delimiter":
                    return parameter["ParameterValue"].encode().decode("unicode_escape").encode()
            return b"\n"
    return b""
