"""Ingest hands fired triggers over before it writes the profile, so a retry re-fires the same
ids (dispatch sends them once) and a failed hand-over leaves the profile for the retry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from microtarget.aws.ledger import Ledger
from microtarget.campaigns import parse_campaigns
from microtarget.errors import RetryableError
from microtarget.identity import Pseudonymizer
from microtarget.ingest import IngestService
from microtarget.profile import Profile
from microtarget.reactions import Reactions

from tests.helpers.events import T0, event_dict, raw
from tests.helpers.fakes import InMemoryProfileStore, ListDeadLetters, ListTriggerSink

KEY = Pseudonymizer("unit-test-key-0123456789")
CAMPAIGNS = parse_campaigns((Path(__file__).parents[2] / "campaigns/catalog.yaml").read_text())
NOW = T0 + timedelta(minutes=1)


class State:
    def campaigns(self) -> Any:
        return CAMPAIGNS

    def models(self) -> dict[str, Any]:
        return {}


def refusing() -> ListTriggerSink:
    sink = ListTriggerSink()
    sink.refuse = True
    return sink


class Table:
    """A ledger table that remembers conversions (put) and answers queries from them."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def query(self, **_kwargs: Any) -> dict[str, Any]:
        return {"Items": list(self.items)}

    def put_item(self, Item: dict[str, Any]) -> None:
        self.items = [i for i in self.items if i["sk"] != Item["sk"]] + [Item]


class FailsOnce(InMemoryProfileStore):
    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def put_many(self, profiles: list[Profile]) -> dict[str, Exception]:
        if not self.failed:
            self.failed = True
            return {p.pid: RetryableError("throttled") for p in profiles}
        return super().put_many(profiles)


def ingest(store: Any, queue: ListTriggerSink, table: Table | None = None) -> IngestService:
    reactions = Reactions(State(), queue, Ledger(table or Table()), clock=lambda: NOW)
    return IngestService(store, ListDeadLetters(), KEY, clock=lambda: NOW, reactions=reactions)


def cart_batch() -> list:
    return [
        raw(event_dict("add_to_cart", customer="C-1", price=30.0), 1),
        raw(event_dict("page_view", customer="C-1"), 2),
    ]


def test_a_retried_batch_fires_the_same_trigger_ids() -> None:
    store, queue = FailsOnce(), ListTriggerSink()
    service, batch = ingest(store, queue), cart_batch()
    first = service.commit(service.decode(batch))
    assert first.failed_sequence_numbers == {"00000000000000000001", "00000000000000000002"}
    second = service.commit(service.decode(batch))  # Lambda retries the records
    assert not second.failed_sequence_numbers and store.writes == 1
    assert [m.trigger_id for m in queue.messages[:1]] == [m.trigger_id for m in queue.messages[1:]]
    third = service.commit(service.decode(batch))  # a replay after success: all duplicates
    assert third.duplicates == 2 and len(queue.messages) == 2


def test_a_refused_hand_over_leaves_the_profile_unwritten_for_the_retry() -> None:
    store = InMemoryProfileStore()
    report = ingest(store, refusing()).commit(ingest(store, ListTriggerSink()).decode(cart_batch()))
    assert report.failed_sequence_numbers and store.writes == 0


def test_conversions_are_linked_once_however_often_the_purchase_is_replayed() -> None:
    store, table = InMemoryProfileStore(), Table()
    table.items.append(
        {
            "pid": KEY.pid("C-1"),
            "sk": "d#t1.0",
            "decision_id": "t1.0",
            "at": int((T0 - timedelta(hours=1)).timestamp() * 1000),
            "outcome": "sent",
            "offer_id": "cart-recovery",
            "experiments": "{}",
        }
    )
    purchase = raw(event_dict("purchase", customer="C-1", revenue=30.0), 1)
    for _attempt in range(3):
        service = ingest(store, ListTriggerSink(), table)
        service.commit(service.decode([purchase]))
    conversions = [i for i in table.items if i["sk"].startswith("c#")]
    assert len(conversions) == 1 and conversions[0]["decision_id"] == "t1.0" and conversions[0]["revenue_cents"] == 3000
