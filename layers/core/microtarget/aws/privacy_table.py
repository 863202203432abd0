"""The privacy table (DynamoDB, one key `id`): erasure receipts, consent history, the audit log.

    id = "erasure#<erasure id>"   the receipt: pid, when, what each store lost, which are clean;
                                   `open` is set while any store is pending (the sparse index
                                   `open-erasures` lists them for the job)
    id = "customer#<pid>"          the customer's open erasure: a second request gets its id
    id = "audit#<request id>"      one personal-data call: who (the caller's IAM identity), what,
                                   when, the pid; kept AUDIT_DAYS
    id = "consent#<pid>#<event id>" one consent change through the API: channels, when, source,
                                   who (index `consent-history`: consent_pid, at); erased with the customer

Receipts are kept (the proof an erasure was done); they name the pid, never a raw id.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from microtarget.aws.calls import call_aws, error_code, every_item
from microtarget.erasure import Erasure

OPEN_INDEX = "open-erasures"
CONSENT_INDEX = "consent-history"
AUDIT_DAYS = 3 * 365


class PrivacyTable:
    def __init__(self, table: Any) -> None:
        self._table = table

    def request(self, pid: str, now_ms: int) -> tuple[Erasure, bool]:
        """The customer's open erasure, or a new one; True when it is new."""
        erasure = Erasure.requested(pid, now_ms)
        claim = {"id": f"customer#{pid}", "erasure_id": erasure.erasure_id}
        try:
            self._table.put_item(Item=claim, ConditionExpression="attribute_not_exists(id)")
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            held = call_aws("privacy table", self._table.get_item, Key={"id": claim["id"]}, ConsistentRead=True)
            if "Item" not in held:
                return self.request(pid, now_ms)  # the claim closed between the write and the read
            existing = self.get(held["Item"]["erasure_id"])
            if existing is not None:
                return existing, False
            # a request that claimed it and failed before its receipt was written: this one finishes it
            erasure = Erasure(held["Item"]["erasure_id"], pid, now_ms)
        self.save(erasure)
        return erasure, True

    def audit(self, request_id: str, who: str, action: str, pid: str, at_ms: int) -> None:
        item = {"id": f"audit#{request_id}", "who": who, "action": action, "pid": pid, "at": at_ms,
                "expires_at": at_ms // 1000 + AUDIT_DAYS * 86_400}  # fmt: skip
        call_aws("privacy table", self._table.put_item, Item=item)

    def record_consent(
        self, pid: str, event_id: str, at_ms: int, consents: dict[str, bool], source: str, who: str
    ) -> None:
        item = {"id": f"consent#{pid}#{event_id}", "consent_pid": pid, "at": at_ms, "consents": consents,
                "source": source, "who": who}  # fmt: skip
        call_aws("privacy table", self._table.put_item, Item=item)

    def consent_history(self, pid: str) -> list[dict[str, Any]]:
        """The customer's consent changes through the API, oldest first."""
        return list(every_item("privacy table", self._table.query, IndexName=CONSENT_INDEX,
                               KeyConditionExpression="consent_pid = :pid", ExpressionAttributeValues={":pid": pid}))  # fmt: skip

    def erase_consent_history(self, pid: str) -> int:
        keys = [item["id"] for item in self.consent_history(pid)]
        for key in keys:
            call_aws("privacy table", self._table.delete_item, Key={"id": key})
        return len(keys)

    def move_consent_history(self, old_pid: str, new_pid: str) -> int:
        """The customer's consent changes under the new pid (a key rotation); how many moved."""
        items = self.consent_history(old_pid)
        for item in items:
            event_id = item["id"].removeprefix(f"consent#{old_pid}#")
            moved = item | {"id": f"consent#{new_pid}#{event_id}", "consent_pid": new_pid}
            call_aws("privacy table", self._table.put_item, Item=moved)
            call_aws("privacy table", self._table.delete_item, Key={"id": item["id"]})
        return len(items)

    def get(self, erasure_id: str) -> Erasure | None:
        reply = call_aws(
            "privacy table", self._table.get_item, Key={"id": f"erasure#{erasure_id}"}, ConsistentRead=True
        )
        return _erasure(reply["Item"]) if "Item" in reply else None

    def save(self, erasure: Erasure) -> None:
        item: dict[str, Any] = {
            "id": f"erasure#{erasure.erasure_id}",
            "erasure_id": erasure.erasure_id,
            "pid": erasure.pid,
            "requested_at": erasure.requested_at,
            "removed": erasure.removed,
            "done_at": erasure.done_at,
        }
        if erasure.aliases:
            item["aliases"] = erasure.aliases
        if erasure.earlier:
            item["earlier"] = erasure.earlier
        if not erasure.complete:
            item["open"] = "erasure"
        call_aws("privacy table", self._table.put_item, Item=item)
        if erasure.complete:  # the next request for this customer is a new erasure
            call_aws("privacy table", self._table.delete_item, Key={"id": f"customer#{erasure.pid}"})

    def open_erasures(self) -> list[Erasure]:
        listed = every_item("privacy table", self._table.query, IndexName=OPEN_INDEX,
                            KeyConditionExpression="#open = :open", ExpressionAttributeNames={"#open": "open"},
                            ExpressionAttributeValues={":open": "erasure"})  # fmt: skip
        return [e for item in listed if (e := self.get(item["id"].removeprefix("erasure#")))]


def _erasure(item: dict[str, Any]) -> Erasure:
    def ints(values: dict[str, Decimal]) -> dict[str, int]:
        return {key: int(value) for key, value in values.items()}

    return Erasure(
        item["erasure_id"], item["pid"], int(item["requested_at"]),
        ints(item.get("removed", {})), ints(item.get("done_at", {})), list(item.get("aliases", [])),
        list(item.get("earlier", [])),
    )  # fmt: skip
