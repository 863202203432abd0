"""The API answers right, or a clear 4xx, at its edges: ids that need escaping in a path, the
largest event batch, bodies it cannot read, decisions it never issued, a fault of its own."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import quote

import boto3
import pytest
from microtarget.aws.secrets import pseudonymizer_from_secret

from tests.integration.conftest import KEY, Api

STRANGE_IDS = ["alice@example.com", "a+b@example.com", "客户-1", "John Doe", "50%/off"]


def contact_items(api: Api) -> set[str]:
    return {item["pid"] for item in api.aws.scan("ContactsTable")}


@pytest.mark.parametrize("customer", STRANGE_IDS)
def test_an_id_in_a_path_is_the_same_customer_as_in_a_body(api: Api, customer: str) -> None:
    pid = pseudonymizer_from_secret(api.aws.ref("PseudonymSecret")).pid(customer)
    path = f"/customers/{quote(customer, safe='')}"  # as any HTTP client sends it
    _, by_path = api.call("GET", f"{path}/offers?channel=web")
    _, by_body = api.call("POST", "/decisions", {"customers": [{"customer_id": customer, "channel": "web"}]})
    assert by_path["pid"] == by_body["decisions"][0]["pid"] == pid
    assert api.call("PUT", f"{path}/contact", {"email": "x@example.com"}, signed=True)[0] == 204
    assert pid in contact_items(api)  # where dispatch looks for it
    assert api.call("DELETE", f"{path}/contact", signed=True)[0] == 204
    assert pid not in contact_items(api)


def test_an_events_batch_past_the_streams_5_mb_call_limit_is_put_whole(api: Api) -> None:
    # Given 220 valid events of ~25 KB each as the stream receives them (non-ASCII text is escaped)
    wide = "客" * 2000
    events = [
        {
            "event_id": f"wide-{i}",
            "event_type": "page_view",
            "occurred_at": api.now().isoformat(),
            "customer_id": f"C-wide-{i}",
            "properties": {"title": "页" * 500, "referrer": wide},
            "context": {"page": wide},
        }
        for i in range(220)
    ]
    assert sum(len(json.dumps(e)) for e in events) > 5 * 1024 * 1024
    status, body = api.call("POST", "/events", {"events": events})
    assert (status, body["accepted"], body["rejected"]) == (200, 220, [])


def raw_call(api: Api, method: str, path: str, data: bytes, content_type: str) -> tuple[int, dict]:
    headers = {"x-api-key": KEY, "content-type": content_type}
    request = urllib.request.Request(api.base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_bodies_the_api_cannot_read_get_a_clear_4xx(api: Api) -> None:
    nested = b'{"customers": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert raw_call(api, "POST", "/decisions", nested, "application/json") == (
        400,
        {"code": "bad_request", "message": "the JSON body is nested too deeply", "field": None},
    )
    status, body = raw_call(api, "POST", "/decisions", b"--x\r\n", "multipart/form-data")
    assert (status, body["code"]) == (415, "unsupported_media_type")
    status, body = raw_call(api, "POST", "/decisions", b"\xff\xfe{}", "application/json")
    assert (status, body["code"]) == (400, "bad_request")
    status, body = raw_call(api, "POST", "/decisions", b"{oops", "application/json")
    assert status == 422 and {"loc", "msg", "type"} <= set(body["detail"][0])


def test_exposures_are_accepted_only_for_decisions_issued_to_that_customer(api: Api) -> None:
    customer, other = "exp-owner", "exp-other"
    decision = api.call("GET", f"/customers/{customer}/offers?channel=web")[1]
    issued = decision["decision_id"]
    forged = issued.rsplit(".", 1)[0] + ".0123456789abcdef0123"
    reports = [
        {"customer_id": customer, "decision_id": "never-issued", "channel": "web", "offer_id": "welcome"},
        {"customer_id": customer, "decision_id": forged, "channel": "web", "offer_id": "welcome"},
        {"customer_id": other, "decision_id": issued, "channel": "web", "offer_id": "welcome"},
        {"customer_id": customer, "decision_id": issued, "channel": "web", "offer_id": "welcome"},
    ]
    status, body = api.call("POST", "/exposures", {"exposures": reports})
    assert status == 200 and body["recorded"] == 1
    assert [(r["index"], r["code"], r["field"]) for r in body["rejected"]] == [
        (0, "unknown_decision", "decision_id"),
        (1, "unknown_decision", "decision_id"),
        (2, "unknown_decision", "decision_id"),
    ]


def test_a_corrupt_stored_profile_is_a_logged_500_that_tells_nothing(api: Api) -> None:
    customer = "corrupt-profile"
    pid = pseudonymizer_from_secret(api.aws.ref("PseudonymSecret")).pid(customer)
    table = boto3.resource("dynamodb", endpoint_url=api.aws.endpoint).Table(api.aws.ref("ProfilesTable"))
    table.put_item(Item={"pid": pid, "version": 1, "state": "{not json"})
    status, body = api.call("GET", f"/customers/{customer}/offers?channel=web")
    assert (status, body) == (500, {"code": "internal_error", "message": "internal error", "field": None})


def test_a_decision_id_has_one_spelling_so_one_report_is_one_ledger_item(api: Api) -> None:
    customer = "exp-spelling"
    issued = api.call("GET", f"/customers/{customer}/offers?channel=web")[1]["decision_id"]
    base, issued_hex, mac = issued.split(".")
    spellings = [
        f"{base}.{issued_hex.upper()}.{mac}",
        f"{base}.0{issued_hex}.{mac}",
        f"{base}.{issued_hex}.{mac.upper()}",
    ]
    reports = [{"customer_id": customer, "decision_id": d, "channel": "web", "offer_id": "welcome"} for d in spellings]
    status, body = api.call("POST", "/exposures", {"exposures": reports})
    assert status == 200 and body["recorded"] == 0
    assert {r["code"] for r in body["rejected"]} == {"unknown_decision"}
