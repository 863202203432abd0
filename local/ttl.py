"""DynamoDB's TTL, which moto never runs: delete the items whose TTL attribute has passed, in every
table of the template that has one enabled (tests of retention call it where AWS would act)."""

from __future__ import annotations

from datetime import datetime

import boto3

from local.aws import LocalAws
from local.template import resources_of_type


def expire(aws: LocalAws, now: datetime) -> dict[str, int]:
    """How many items each table lost."""
    dynamodb = boto3.resource("dynamodb", endpoint_url=aws.endpoint)
    removed: dict[str, int] = {}
    for logical_id, spec in resources_of_type(aws.template, "AWS::DynamoDB::Table").items():
        ttl = spec["Properties"].get("TimeToLiveSpecification") or {}
        if not ttl.get("Enabled"):
            continue
        table, attribute = dynamodb.Table(aws.ref(logical_id)), ttl["AttributeName"]
        keys = [k["AttributeName"] for k in spec["Properties"]["KeySchema"]]
        due = [item for item in aws.scan(logical_id) if attribute in item and int(item[attribute]) < now.timestamp()]
        with table.batch_writer() as batch:
            for item in due:
                batch.delete_item(Key={key: item[key] for key in keys})
        removed[logical_id] = len(due)
    return removed
