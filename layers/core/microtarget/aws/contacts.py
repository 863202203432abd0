"""Contact details (e-mail address, push endpoint, time zone), kept apart from profiles.

One item per pseudonymized id in the contacts table, the details encrypted with a KMS key
under an encryption context naming the pid, so an item copied to another customer does not
decrypt. The api function may only encrypt and write (and erase); dispatch may only read and
decrypt: the template's policies say so and a test checks them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from microtarget.aws.calls import call_aws, error_code, every_item
from microtarget.clock import Clock, utc_now
from microtarget.contacts import Contact
from microtarget.errors import RetryableError


class ContactBook:
    def __init__(self, table: Any, kms: Any, key_id: str = "", clock: Clock = utc_now) -> None:
        self._table, self._kms, self._key_id, self._clock = table, kms, key_id, clock

    def put(self, pid: str, contact: Contact) -> None:
        plaintext = contact.model_dump_json(exclude_none=True).encode()
        reply = call_aws(
            "contacts", self._kms.encrypt, KeyId=self._key_id, Plaintext=plaintext, EncryptionContext={"pid": pid}
        )
        item = {"pid": pid, "sealed": reply["CiphertextBlob"], "updated_at": int(self._clock().timestamp())}
        call_aws("contacts", self._table.put_item, Item=item)

    def move(self, old_pid: str, new_pid: str) -> int:
        """Re-seal the details under the new pid (a key rotation) and delete the old item; details
        stored under the new pid later (since the rotation, or under a newer older key) are kept.
        1 when an old item went."""
        item = call_aws("contacts", self._table.get_item, Key={"pid": old_pid}, ConsistentRead=True).get("Item")
        if item is None:
            return 0
        held = call_aws("contacts", self._table.get_item, Key={"pid": new_pid}, ConsistentRead=True).get("Item")
        stored_at = int(item.get("updated_at", 0))
        if held is None or int(held.get("updated_at", 0)) < stored_at:  # the later details win
            opened = call_aws("contacts", self._kms.decrypt, CiphertextBlob=bytes(item["sealed"]),
                              EncryptionContext={"pid": old_pid})  # fmt: skip
            sealed = call_aws("contacts", self._kms.encrypt, KeyId=self._key_id, Plaintext=opened["Plaintext"],
                              EncryptionContext={"pid": new_pid})  # fmt: skip
            moved = {"pid": new_pid, "sealed": sealed["CiphertextBlob"], "updated_at": stored_at}
            try:
                self._table.put_item(Item=moved, ConditionExpression="attribute_not_exists(pid) OR updated_at < :at",
                                     ExpressionAttributeValues={":at": stored_at})  # fmt: skip
            except ClientError as exc:
                if error_code(exc) != "ConditionalCheckFailedException":  # else: newer ones stored meanwhile
                    raise RetryableError(f"contacts unavailable: {exc}") from exc
        return self.erase(old_pid)

    def erase(self, pid: str) -> int:
        """Delete the customer's details; how many items went (0 or 1)."""
        reply = call_aws("contacts", self._table.delete_item, Key={"pid": pid}, ReturnValues="ALL_OLD")
        return 1 if reply.get("Attributes") else 0

    def stored(self) -> Iterator[tuple[str, int]]:
        """Every customer with details, and when they were last stored (epoch s); never the details."""
        for item in every_item("contacts", self._table.scan, ProjectionExpression="pid, updated_at"):
            yield item["pid"], int(item.get("updated_at", 0))

    def get(self, pid: str) -> Contact | None:
        item = call_aws("contacts", self._table.get_item, Key={"pid": pid}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        reply = call_aws(
            "contacts", self._kms.decrypt, CiphertextBlob=bytes(item["sealed"]), EncryptionContext={"pid": pid}
        )
        return Contact.model_validate(json.loads(reply["Plaintext"]))
