"""What dispatch sent, read back from the local AWS: e-mails (SES), push notifications (SNS
platform endpoints) and webhook events (EventBridge bus → a capture queue).

moto keeps SES and SNS endpoint messages in its in-process backends (its documented way to
inspect them); EventBridge delivery to SQS is real in moto, so the webhook channel is read the
way an external tool's queue would be.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from local.aws import ACCOUNT, REGION, LocalAws


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    html: str


class Outbox:
    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws
        self.sender = aws.resolver.parameters["SenderAddress"]
        aws.client("ses").verify_email_identity(EmailAddress=self.sender)
        self.push_app = aws.client("sns").create_platform_application(
            Name=f"{aws.stack_name}-app", Platform="GCM", Attributes={"PlatformCredential": "local"}
        )["PlatformApplicationArn"]
        sqs, events = aws.client("sqs"), aws.client("events")
        self.webhook_queue = sqs.create_queue(QueueName=f"{aws.stack_name}-webhook-capture")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.webhook_queue, AttributeNames=["QueueArn"])["Attributes"]
        bus = aws.ref("MarketingBus")
        events.put_rule(
            Name="capture-offers", EventBusName=bus, EventPattern=json.dumps({"source": ["microtarget.dispatch"]})
        )
        events.put_targets(Rule="capture-offers", EventBusName=bus, Targets=[{"Id": "capture", "Arn": arn["QueueArn"]}])
        self._webhooks: list[dict[str, Any]] = []
        self._emails_before = len(ses_backends[ACCOUNT][REGION].sent_messages)  # one moto serves many stacks

    def push_endpoint(self, token: str) -> str:
        """A device registration, as the app's backend would create it."""
        sns = self.aws.client("sns")
        return sns.create_platform_endpoint(PlatformApplicationArn=self.push_app, Token=token)["EndpointArn"]

    def emails(self) -> list[Email]:
        backend = ses_backends[ACCOUNT][REGION]
        sent = backend.sent_messages[self._emails_before :]
        return [Email(m.destinations["ToAddresses"][0], m.subject, m.body) for m in sent if m.source == self.sender]

    def pushes(self) -> list[dict[str, Any]]:
        """title, body and decision id of each notification, as the (GCM) device receives them."""
        backend = sns_backends[ACCOUNT][REGION]
        mine = [e for e in backend.platform_endpoints.values() if e.application.arn == self.push_app]
        found = []
        for endpoint in mine:
            for body in endpoint.messages.values():
                gcm = json.loads(json.loads(body)["GCM"])
                found.append({**gcm["notification"], "decision_id": gcm["data"]["decision_id"]})
        return found

    def webhooks(self) -> list[dict[str, Any]]:
        sqs = self.aws.client("sqs")
        while True:
            batch = sqs.receive_message(QueueUrl=self.webhook_queue, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return list(self._webhooks)
            self._webhooks += [json.loads(m["Body"]) for m in batch]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
            sqs.delete_message_batch(QueueUrl=self.webhook_queue, Entries=entries)
