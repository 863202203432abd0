"""Contact details (e-mail address, push endpoint, time zone), kept apart from profiles.

One item per pseudonymized id in the contacts table, the details encrypted with a KMS key
under an encryption context naming the pid, so an item copied to another customer does not
decrypt. The api function may only encrypt and write (and erase); dispatch may only read and
decrypt: the template's policies say so and a test checks them.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from microtarget.errors import call_aws


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: Annotated[str, Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    push_endpoint: (
        Annotated[str, Field(max_length=512, pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:endpoint/")] | None
    ) = None
    first_name: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    timezone: str | None = None
    locale: Annotated[str, Field(max_length=35)] | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    def address(self, channel: str) -> str | None:
        return {"email": self.email, "push": self.push_endpoint}.get(channel)


class ContactBook:
    def __init__(self, table: Any, kms: Any, key_id: str = "") -> None:
        self._table, self._kms, self._key_id = table, kms, key_id

    def put(self, pid: str, contact: Contact) -> None:
        plaintext = contact.model_dump_json(exclude_none=True).encode()
        reply = call_aws(
            "contacts", self._kms.encrypt, KeyId=self._key_id, Plaintext=plaintext, EncryptionContext={"pid": pid}
        )
        item = {"pid": pid, "sealed": reply["CiphertextBlob"], "updated_at": int(time.time())}
        call_aws("contacts", self._table.put_item, Item=item)

    def erase(self, pid: str) -> None:
        call_aws("contacts", self._table.delete_item, Key={"pid": pid})

    def get(self, pid: str) -> Contact | None:
        item = call_aws("contacts", self._table.get_item, Key={"pid": pid}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        reply = call_aws(
            "contacts", self._kms.decrypt, CiphertextBlob=bytes(item["sealed"]), EncryptionContext={"pid": pid}
        )
        return Contact.model_validate(json.loads(reply["Plaintext"]))
