"""Exactly one message per trigger and caps that hold under concurrency, kept in the ledger table.

A send is claimed (`sending`) before the provider is called and recorded `sent` with the
provider's message id after; a delivery that finds its decision `sent`, `sending` or
`uncertain` never calls the provider again, whatever crashed where. Caps are checked and the
message sent under a per-customer lock, so two dispatches for one customer cannot both pass
the same cap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from microtarget.aws.calls import call_aws, error_code
from microtarget.aws.ledger import item_of
from microtarget.errors import RetryableError
from microtarget.outcomes import MAY_HAVE_SENT, RETENTION_DAYS, LedgerEntry


def _conditional(write: Callable[..., Any], **kwargs: Any) -> bool:
    """A conditional write: True when done, False when its condition did not hold."""
    try:
        write(**kwargs)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise RetryableError(f"decisions ledger unavailable: {error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise RetryableError(f"decisions ledger unavailable: {exc}") from exc
    return True


class SendGuard:
    def __init__(self, table: Any, retention_days: int = RETENTION_DAYS) -> None:
        self._table, self._retention_days = table, retention_days

    def _item(self, entry: LedgerEntry) -> dict[str, Any] | None:
        key = {"pid": entry.pid, "sk": entry.key}
        item = call_aws("decisions ledger", self._table.get_item, Key=key, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def claim_send(self, entry: LedgerEntry) -> dict[str, Any] | None:
        """Record the decision as `sending` before the provider is called, unless an earlier
        delivery of it went out or may have; then return that earlier item instead."""
        outcomes = {f":o{i}": outcome for i, outcome in enumerate(MAY_HAVE_SENT)}
        claimed = _conditional(
            self._table.put_item,
            Item=item_of(entry, self._retention_days) | {"outcome": "sending", "code": "sending"},
            ConditionExpression=f"attribute_not_exists(sk) OR NOT outcome IN ({', '.join(outcomes)})",
            ExpressionAttributeValues=outcomes,
        )
        return None if claimed else self._item(entry)

    def earlier_send(self, entry: LedgerEntry) -> dict[str, Any] | None:
        """The decision's item if an earlier delivery sent it or may have (read under the
        customer's lock, so no other dispatch is writing it meanwhile)."""
        item = self._item(entry)
        return item if item and item.get("outcome") in MAY_HAVE_SENT else None

    def mark_uncertain(self, entry: LedgerEntry, code: str, reason: str) -> None:
        """The decision may have gone out (a crash during the send, an answer lost): `uncertain`.
        Only the outcome changes: the offer, channel and time stay the claimed send's (caps count
        it as that offer). Conditional on `sending`, so an attempt that records `sent` keeps the truth."""
        _conditional(
            self._table.update_item,
            Key={"pid": entry.pid, "sk": entry.key},
            UpdateExpression="SET outcome = :uncertain, code = :code, reason = :reason",
            ConditionExpression="outcome = :sending",
            ExpressionAttributeValues={
                ":sending": "sending",
                ":uncertain": "uncertain",
                ":code": code,
                ":reason": reason,
            },
        )

    def lock(self, pid: str, owner: str, now_ms: int, hold_ms: int) -> bool:
        """Take the customer's send lock (caps are checked and the message sent under it), or
        False while another dispatch holds it; it lapses after `hold_ms` if its holder crashed."""
        item = {"pid": pid, "sk": "lock#send", "owner": owner, "until": now_ms + hold_ms}
        item["expires_at"] = (now_ms + hold_ms) // 1000 + 86_400
        return _conditional(
            self._table.put_item,
            Item=item,
            ConditionExpression="attribute_not_exists(sk) OR #until < :now OR #owner = :me",
            ExpressionAttributeNames={"#until": "until", "#owner": "owner"},
            ExpressionAttributeValues={":now": now_ms, ":me": owner},
        )

    def unlock(self, pid: str, owner: str) -> None:
        """Release the lock if still ours (taken over after it lapsed: nothing of ours to release)."""
        _conditional(
            self._table.delete_item,
            Key={"pid": pid, "sk": "lock#send"},
            ConditionExpression="#owner = :me",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues={":me": owner},
        )
