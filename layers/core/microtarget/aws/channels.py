"""Send one rendered message: e-mail through SES, push through SNS, webhook-style events
through EventBridge for external marketing tools. Each returns the provider's message id."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from microtarget.aws.calls import error_code
from microtarget.errors import PermanentError, RetryableError, SendUnconfirmed
from microtarget.rendering import Rendered

# Senders must not retry inside botocore: a request whose answer was lost may have been
# accepted, and only dispatch's ledger can tell a retry apart from a second message.
SENDER_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})


# Provider answers that no retry can fix: the address or endpoint itself is refused.
_PERMANENT = {"MessageRejected", "InvalidParameterValue", "InvalidParameter", "EndpointDisabled", "ValidationException"}


class Channels:
    def __init__(self, ses: Any, sns: Any, events: Any, sender: str, event_bus: str) -> None:
        self._ses, self._sns, self._events = ses, sns, events
        self._sender, self._bus = sender, event_bus

    def send(self, channel: str, address: str | None, message: Rendered, detail: dict[str, Any]) -> str:
        try:
            if channel == "email":
                return self._email(str(address), message, detail)
            if channel == "push":
                return self._push(str(address), message, detail)
            if channel == "webhook":
                return self._webhook(message, detail)
        except ClientError as exc:
            code = error_code(exc)
            if code in _PERMANENT:
                raise PermanentError(
                    "send_refused", f"{channel} provider refused the message: {code}", channel
                ) from None
            raise RetryableError(f"{channel} send failed: {code}") from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:  # never reached it: not sent
            raise RetryableError(f"{channel} send failed: {exc}") from exc
        except (
            BotoCoreError
        ) as exc:  # a read timeout, a closed connection …: the answer was lost, maybe not the message
            raise SendUnconfirmed(f"{channel} send unconfirmed: {type(exc).__name__}") from exc
        raise PermanentError("unknown_channel", f"cannot send on {channel!r}", "channel")

    def _email(self, address: str, message: Rendered, detail: dict[str, Any]) -> str:
        body = {"Html": {"Data": message.html, "Charset": "UTF-8"}}
        if message.text:
            body["Text"] = {"Data": message.text, "Charset": "UTF-8"}
        reply = self._ses.send_email(
            Source=self._sender,
            Destination={"ToAddresses": [address]},
            Message={"Subject": {"Data": message.subject, "Charset": "UTF-8"}, "Body": body},
            Tags=[{"Name": "decision", "Value": detail["decision_id"].replace(".", "-")}],
        )
        return str(reply["MessageId"])

    def _push(self, endpoint: str, message: Rendered, detail: dict[str, Any]) -> str:
        """One payload per platform (SNS picks the endpoint's), the decision id as data for the app."""
        title, body, decision = detail.get("offer_name", ""), message.text, detail["decision_id"]
        payloads = {
            "default": body,
            "GCM": json.dumps({"notification": {"title": title, "body": body}, "data": {"decision_id": decision}}),
            "APNS": json.dumps({"aps": {"alert": {"title": title, "body": body}}, "decision_id": decision}),
        }
        reply = self._sns.publish(TargetArn=endpoint, Message=json.dumps(payloads), MessageStructure="json")
        return str(reply["MessageId"])

    def _webhook(self, message: Rendered, detail: dict[str, Any]) -> str:
        entry = {
            "Source": "microtarget.dispatch",
            "DetailType": "OfferDecided",
            "Detail": json.dumps({**detail, "text": message.text}, sort_keys=True),
            "EventBusName": self._bus,
        }
        reply = self._events.put_events(Entries=[entry])
        failed = [e for e in reply["Entries"] if e.get("ErrorCode")]
        if failed:
            raise RetryableError(f"EventBridge refused the event: {failed[0]['ErrorCode']}")
        return str(reply["Entries"][0]["EventId"])
