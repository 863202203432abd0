"""The embedded local AWS: moto in server mode on loopback, resources made from template.yaml."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import socket
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from local.template import Resolver, load_template, resources_of_type

REGION = "us-east-1"
ACCOUNT = "123456789012"
# Created by the emulators in local/, or not needed by moto (IAM is not enforced there).
EMULATED = {
    "AWS::Serverless::Function",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::Api",
    "AWS::IAM::Role",
    "AWS::IAM::ManagedPolicy",
    "AWS::KinesisFirehose::DeliveryStream",
    "AWS::Logs::LogGroup",
    "AWS::S3::BucketPolicy",
    "AWS::ApiGateway::Account",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalAws:
    def __init__(
        self, stack_name: str = "microtarget-local", parameters: dict[str, str] | None = None, endpoint: str = "",
        bind: str = "127.0.0.1", secret_seed: int | None = None,
    ) -> None:  # fmt: skip
        """`endpoint` reuses a running moto server (tests give each case its own stack on one server);
        `bind` 0.0.0.0 lets containers reach a new one (`make sam-local`). `secret_seed` derives the
        generated secrets from a number instead of the system's randomness, so the demo's pids (and
        with them every customer's experiment arm) are the same in every run."""
        self.stack_name = stack_name
        self.template = load_template()
        self.resolver = Resolver(self.template, parameters=dict(parameters or {}))
        self.resolver.pseudo.update(
            {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::StackName": stack_name, "AWS::Partition": "aws"}
        )
        self.endpoint, self.bind, self.secret_seed = endpoint, bind, secret_seed
        self._server: ThreadedMotoServer | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> LocalAws:
        if not self.endpoint:
            port = free_port()
            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the terminal
            self._server = ThreadedMotoServer(ip_address=self.bind, port=port, verbose=False)
            self._server.start()
            self.endpoint = f"http://127.0.0.1:{port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
            }
        )
        self._create_resources()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _secret(self, logical_id: str, size: int) -> str:
        if self.secret_seed is None:
            return secrets.token_hex(size)
        seed = f"{self.secret_seed}:{logical_id}".encode()
        return hashlib.shake_256(seed).hexdigest(size)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION)

    def scan(self, logical_id: str) -> list[dict[str, Any]]:
        """Every item of a template table (fine for a local stack)."""
        table = boto3.resource("dynamodb", endpoint_url=self.endpoint, region_name=REGION).Table(self.ref(logical_id))
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = table.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def created(self, resource_type: str) -> list[str]:
        """The template's resources of a type this stack made (a false condition makes none)."""
        return [name for name in resources_of_type(self.template, resource_type) if name in self.resolver.refs]

    def ref(self, logical_id: str) -> str:
        return self.resolver.refs[logical_id]

    def attribute(self, logical_id: str, name: str) -> str:
        return self.resolver.attributes[(logical_id, name)]

    # ------------------------------------------------------------------ resources
    def _create_resources(self) -> None:
        pending = dict(self.template["Resources"])
        while pending:
            progressed = False
            for logical_id, spec in list(pending.items()):
                if "Condition" in spec and not self.resolver.holds(spec["Condition"]):
                    del pending[logical_id]  # not part of this stack's parameters
                    continue
                try:
                    properties = self.resolver.resolve(spec.get("Properties", {}))
                except KeyError:
                    continue  # depends on something not made yet
                self._create(logical_id, spec["Type"], properties)
                del pending[logical_id]
                progressed = True
            if not progressed:
                raise RuntimeError(f"template resources with unresolvable references: {sorted(pending)}")

    def _physical(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def _create(self, logical_id: str, kind: str, props: dict[str, Any]) -> None:
        name, refs, attrs = self._physical(logical_id), self.resolver.refs, self.resolver.attributes
        if kind == "AWS::Kinesis::Stream":
            self.client("kinesis").create_stream(StreamName=name, ShardCount=int(props.get("ShardCount", 2)))
            arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"
            refs[logical_id], attrs[(logical_id, "Arn")] = name, arn
        elif kind == "AWS::DynamoDB::Table":
            self._create_table(name, props)
            refs[logical_id], attrs[(logical_id, "Arn")] = name, f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        elif kind == "AWS::SQS::Queue":
            attributes = {key: _cfn_attribute(props[key]) for key in _SQS_ATTRIBUTES if key in props}
            url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            refs[logical_id] = url
            attrs[(logical_id, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
            attrs[(logical_id, "QueueName")] = name
        elif kind == "AWS::S3::Bucket":
            bucket = name.lower()
            s3 = self.client("s3")
            s3.create_bucket(Bucket=bucket)
            if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            refs[logical_id], attrs[(logical_id, "Arn")] = bucket, f"arn:aws:s3:::{bucket}"
        elif kind == "AWS::SecretsManager::Secret":
            length = int(props.get("GenerateSecretString", {}).get("PasswordLength", 64))
            value = self._secret(logical_id, length // 2)
            secret = self.client("secretsmanager").create_secret(Name=name, SecretString=value)
            refs[logical_id] = secret["ARN"]
        elif kind == "AWS::KMS::Key":
            key = self.client("kms").create_key(Description=props.get("Description", logical_id))["KeyMetadata"]
            refs[logical_id], attrs[(logical_id, "Arn")] = key["KeyId"], key["Arn"]
        elif kind == "AWS::Scheduler::ScheduleGroup":
            arn = self.client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
            refs[logical_id], attrs[(logical_id, "Arn")] = name, arn
        elif kind == "AWS::Events::EventBus":
            bus = props.get("Name", name)
            refs[logical_id] = bus
            attrs[(logical_id, "Arn")] = self.client("events").create_event_bus(Name=bus)["EventBusArn"]
        elif kind == "AWS::SNS::Topic":
            arn = self.client("sns").create_topic(Name=name)["TopicArn"]
            refs[logical_id], attrs[(logical_id, "TopicArn")], attrs[(logical_id, "TopicName")] = arn, arn, name
        elif kind == "AWS::SNS::Subscription":
            sub = self.client("sns").subscribe(
                TopicArn=props["TopicArn"], Protocol=props["Protocol"], Endpoint=props["Endpoint"]
            )
            refs[logical_id] = sub["SubscriptionArn"]
        elif kind == "AWS::CloudWatch::Alarm":
            self.client("cloudwatch").put_metric_alarm(AlarmName=name, **props)
            refs[logical_id], attrs[(logical_id, "Arn")] = name, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}"
        elif kind == "AWS::CloudWatch::Dashboard":  # moto keeps it: the body's JSON is checked on the way in
            self.client("cloudwatch").put_dashboard(
                DashboardName=props["DashboardName"], DashboardBody=props["DashboardBody"]
            )
            refs[logical_id] = props["DashboardName"]
        elif kind in EMULATED:
            refs[logical_id] = name
            attrs[(logical_id, "Arn")] = f"arn:aws:local:{REGION}:{ACCOUNT}:{logical_id}/{name}"
        else:
            raise NotImplementedError(f"local AWS cannot create {kind} ({logical_id}); add it to local/aws.py")

    def _create_table(self, name: str, props: dict[str, Any]) -> None:
        args: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        dynamodb = self.client("dynamodb")
        dynamodb.create_table(**args)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


_SQS_ATTRIBUTES = (
    "DelaySeconds",
    "MessageRetentionPeriod",
    "VisibilityTimeout",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
)


def _cfn_attribute(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
