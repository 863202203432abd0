"""The decisions ledger: every triggered decision, send, suppression and conversion, per customer.

    pid, sk = "d#<decision id>"   one triggered decision: outcome sent | holdout | suppressed
                                   | cancelled | deferred | failed, its reason, offer, channel,
                                   arms, scores; `sending` while the provider is called, and
                                   `uncertain` if a crash left it so (it may have gone out)
    pid, sk = "lock#send"          held while one message for the customer checks caps and sends
    pid, sk = "d#<decision id>#<offer id or holdout>"
                                   what a campaign tool reported doing with an API decision
    pid, sk = "c#<event digest>"   a purchase or offer_redeemed linked to the decision before it

Keys are deterministic (decision id = trigger id and deferral, or the API decision's id and
the offer; conversion = event), so a retried message, a re-sent report or a replayed event
rewrites the same item. Items expire through a TTL attribute; frequency caps and attribution
read one customer's partition.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from microtarget.aggregation import cents, digest
from microtarget.aws.calls import call_aws, every_item
from microtarget.clock import to_ms
from microtarget.outcomes import EXPOSED, MAY_HAVE_SENT, RETENTION_DAYS, Conversion, LedgerEntry, preceding
from microtarget.rules import SentOffer

if TYPE_CHECKING:
    from microtarget.events import Event


class Ledger:
    def __init__(self, table: Any, threads: int = 8, retention_days: int = RETENTION_DAYS) -> None:
        self._table, self._threads, self.retention_days = table, threads, retention_days
        self._pool: ThreadPoolExecutor | None = None  # made on the first batch, kept for the next

    def record(self, entry: LedgerEntry) -> None:
        call_aws("decisions ledger", self._table.put_item, Item=item_of(entry, self.retention_days))

    def record_many(self, entries: Sequence[LedgerEntry]) -> None:
        """Batched writes (25 a request, unprocessed items retried); one item per key."""
        call_aws("decisions ledger", self._write_batch, entries=entries)

    def _write_batch(self, entries: Sequence[LedgerEntry]) -> None:
        with self._table.batch_writer(overwrite_by_pkeys=["pid", "sk"]) as batch:
            for entry in entries:
                batch.put_item(Item=item_of(entry, self.retention_days))

    def entries(self, pid: str) -> list[dict[str, Any]]:
        """Everything the ledger holds for one customer (small: the TTL bounds it)."""
        condition = Key("pid").eq(pid)
        return list(
            every_item("decisions ledger", self._table.query, KeyConditionExpression=condition, ConsistentRead=True)
        )

    def erase(self, pid: str) -> int:
        """Delete everything the ledger holds for the customer; how many items went."""
        keys = [{"pid": item["pid"], "sk": item["sk"]} for item in self.entries(pid)]
        call_aws("decisions ledger", self._delete_batch, keys=keys)
        return len(keys)

    def move(self, old_pid: str, new_pid: str, forward: Callable[[str], str]) -> int:
        """The customer's items under the new pid (a key rotation), every pid in their text carried
        forward; an item of the same key written under the new pid since is newer and kept. The
        send lock goes. How many items left the old pid."""
        items = self.entries(old_pid)
        held = {item["sk"] for item in self.entries(new_pid)}
        moved = [{k: forward(v) if isinstance(v, str) else v for k, v in item.items()} | {"pid": new_pid}
                 for item in items if item["sk"] not in held and not item["sk"].startswith("lock#")]  # fmt: skip
        call_aws("decisions ledger", self._put_batch, items=moved)
        call_aws("decisions ledger", self._delete_batch, keys=[{"pid": old_pid, "sk": item["sk"]} for item in items])
        return len(items)

    def _put_batch(self, items: list[dict[str, Any]]) -> None:
        with self._table.batch_writer() as batch:
            for item in items:
                batch.put_item(Item=item)

    def _delete_batch(self, keys: list[dict[str, str]]) -> None:
        with self._table.batch_writer() as batch:  # 25 a request, unprocessed ones resent
            for key in keys:
                batch.delete_item(Key=key)

    def sends(self, pid: str, since_ms: int, excluding: str = "") -> list[SentOffer]:
        """What was sent since then; `excluding` a decision (its own earlier attempt, on a retry)."""
        return [
            SentOffer(int(item["at"]), item["offer_id"], item["channel"])
            for item in self.entries(pid)
            if item["sk"].startswith("d#")
            and item["outcome"] in MAY_HAVE_SENT
            and int(item["at"]) >= since_ms
            and item["decision_id"] != excluding
        ]

    def sends_many(self, pids: Sequence[str], since_ms: int) -> dict[str, list[SentOffer]]:
        if len(pids) == 1:
            return {pids[0]: self.sends(pids[0], since_ms)}
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="ledger")
        return dict(zip(pids, self._pool.map(lambda pid: self.sends(pid, since_ms), pids), strict=True))

    def attribute(self, pid: str, events: Iterable[Event], window_days: int) -> list[Conversion]:
        """Link each purchase / offer_redeemed to the decision that preceded it, and record it."""
        conversions = [e for e in events if e.event_type in ("purchase", "offer_redeemed")]
        if not conversions:
            return []
        decisions = [i for i in self.entries(pid) if i["sk"].startswith("d#") and i["outcome"] in EXPOSED]
        linked = []
        for event in conversions:
            decision = preceding(decisions, event, window_days)
            if decision is None:
                continue
            props = event.properties
            revenue = cents(getattr(props, "revenue", None)) or 0
            conversion = Conversion(
                pid, digest(event.event_id), to_ms(event.occurred_at), event.event_type, decision["decision_id"],
                decision.get("offer_id", ""), decision["outcome"], json.loads(decision.get("experiments", "{}")),
                revenue,
            )  # fmt: skip
            call_aws("decisions ledger", self._table.put_item, Item=conversion_item(conversion, self.retention_days))
            linked.append(conversion)
        return linked


def item_of(entry: LedgerEntry, retention_days: int = RETENTION_DAYS) -> dict[str, Any]:
    return {
        **{k: v for k, v in asdict(entry).items() if k not in ("at_ms", "experiments", "detail")},
        "sk": entry.key,
        "at": entry.at_ms,
        "experiments": json.dumps(entry.experiments, sort_keys=True),
        "detail": json.dumps(entry.detail, sort_keys=True, default=str),
        "expires_at": entry.at_ms // 1000 + retention_days * 86_400,
    }


def conversion_item(conversion: Conversion, retention_days: int = RETENTION_DAYS) -> dict[str, Any]:
    item = {**asdict(conversion), "sk": f"c#{conversion.event_id_digest}", "at": conversion.at_ms}
    item["experiments"] = json.dumps(conversion.experiments, sort_keys=True)
    item["expires_at"] = conversion.at_ms // 1000 + retention_days * 86_400
    del item["at_ms"]
    return item
