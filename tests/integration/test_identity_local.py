"""Anonymous to known through the real ingest handler on the local AWS (a DynamoDB transaction
writes the merge), and an erasure that reaches the anonymous id too."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local.kinesis_source import KinesisEventSource
from local.privacy import traces
from local.privacy_calls import PrivacyCalls
from tests.helpers.events import event_dict
from tests.integration.flow import Flow


def visit(flow: Flow) -> list[dict[str, Any]]:
    at, anon = flow.now(), {"customer": "anon-42", "session": "s-1"}
    return [
        event_dict("product_view", at=at, minutes=-6, product_id="P1", **anon),
        event_dict("add_to_cart", at=at, minutes=-5, product_id="P2", price=20.0, **anon),
        event_dict("page_view", at=at, minutes=-4, customer="dana", session="s-1") | {"anonymous_id": "anon-42"},
        event_dict("add_to_cart", at=at, minutes=-3, customer="dana", session="s-1", product_id="P3", price=5.0),
    ]


def test_a_login_merges_the_visit_once_and_an_erasure_takes_both_ids(flow: Flow, tmp_path: Path) -> None:
    dana, anon = flow.pid("dana"), flow.pid("anon-42")
    flow.ingest.send_events(visit(flow)[:2])
    flow.ingest.run()
    flow.ingest.send_events(visit(flow)[2:])
    flow.ingest.run()
    profiles = flow.ingest.profiles()
    assert [line.product_id for line in profiles[dana].cart().values()] == ["P2", "P3"]
    assert profiles[anon].alias_of == dana and profiles[dana].aliases == [anon]
    before = {pid: p.to_item() for pid, p in profiles.items()}
    KinesisEventSource(flow.aws, flow.ingest.ingest).drain()  # the whole stream again
    assert {pid: p.to_item() for pid, p in flow.ingest.profiles().items()} == before

    privacy = PrivacyCalls(flow.aws, tmp_path / "logs")
    status, receipt = privacy.erase("dana")
    assert status == 202 and receipt["anonymous_ids_merged"] == 1 and receipt["stores"]["profile"]["removed"] == 2
    privacy.run_job()
    flow.dispatch.later(hours=25)  # the cart e-mail's moment passes too: dispatch records nothing of it
    assert privacy.run_job()["completed"] == 1
    assert traces(flow.aws, ["dana", "anon-42", dana, anon], skip=["PrivacyTable", "ProfilesTable"]) == {}
    stones = flow.ingest.profiles()
    assert all(stones[p].erased_before is not None and stones[p].alias_of is None for p in (dana, anon))
