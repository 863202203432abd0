"""Every endpoint through the local HTTP adapter, the ApiFunction handler and moto."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import pytest
from microtarget.aws.contacts import ContactBook
from microtarget.aws.ledger import Ledger
from microtarget.aws.secrets import pseudonymizer_from_secret
from microtarget.contacts import Contact
from microtarget.outcomes import LedgerEntry

from tests.integration.conftest import Api


def test_offers_for_a_known_customer_come_with_scores_and_reasons(api: Api) -> None:
    status, body = api.call("GET", f"/customers/{api.customers[0]}/offers?channel=email&limit=2")
    assert status == 200 and not body["cold_start"] and body["fallback"] == []
    assert set(body["model_versions"]) == {"propensity", "churn", "segments"}
    assert 0 <= body["scores"]["propensity"] <= 1 and body["scores"]["segment"]
    assert len(body["offers"]) <= 2 and set(body["suppressed"]) | {o["offer_id"] for o in body["offers"]} == {
        "cart-recovery",
        "repeat-view-nudge",
        "win-back",
        "vip-early-access",
        "welcome",
        "cross-sell",
    }
    assert body["suppressed"]["cross-sell"] == "sent only by its trigger"
    assert api.customers[0] not in json.dumps(body)  # only the pseudonymized id comes back


def test_unknown_visitor_gets_a_flagged_cold_start_decision(api: Api) -> None:
    status, body = api.call("GET", "/customers/never-seen-before/offers?channel=web")
    assert status == 200 and body["cold_start"] and [o["offer_id"] for o in body["offers"]] == ["welcome"]


def test_batch_decisions_and_the_100_customer_limit(api: Api) -> None:
    status, body = api.call("POST", "/decisions", {"customers": [{"customer_id": c} for c in api.customers]})
    assert status == 200 and len(body["decisions"]) == len(api.customers)
    status, body = api.call("POST", "/decisions", {"customers": [{"customer_id": f"c{i}"} for i in range(101)]})
    assert status == 422 and body["detail"][0]["loc"][:2] == ["body", "customers"]


def test_server_side_events_are_validated_and_put_on_the_stream(api: Api) -> None:
    good = {
        "event_id": "srv-1",
        "event_type": "page_view",
        "occurred_at": "2026-11-20T10:00:00Z",
        "customer_id": "C-srv",
    }
    status, body = api.call("POST", "/events", {"events": [good, {**good, "event_type": "teleport"}]})
    assert status == 200 and body["accepted"] == 1
    assert body["rejected"] == [
        {"index": 1, "code": "unknown_event_type", "field": "event_type", "message": body["rejected"][0]["message"]}
    ]
    kinesis, stream = api.aws.client("kinesis"), api.aws.ref("EventsStream")
    found = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )
        found += [
            json.loads(r["Data"]) for r in kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        ]
    assert [e["event_id"] for e in found] == ["srv-1"]


def test_models_endpoint_shows_the_promoted_versions(api: Api) -> None:
    status, body = api.call("GET", "/models")
    assert status == 200 and body["environment"] == "dev" and body["campaigns_version"]
    required = {name: model for name, model in body["models"].items() if name != "uplift"}
    assert set(required) == {"propensity", "churn", "segments"}
    assert all(model["status"] == "live" and model["version"] for model in required.values())
    assert body["models"]["propensity"]["metrics"]["test"]["roc_auc"] > 0.5
    # none trained yet (no experiment outcomes): listed, optional, no alarm
    assert body["models"]["uplift"] == {"version": None, "status": "no promoted dev version (optional)", "metrics": {}}


def test_errors_are_json_naming_the_field_and_a_key_is_required(api: Api) -> None:
    status, body = api.call("GET", "/customers/x/offers?channel=fax")
    assert status == 422 and body["detail"][0]["loc"] == ["query", "channel"]
    assert api.call("GET", "/models", key=None)[0] == 403
    assert api.call("GET", "/models", key="wrong")[0] == 403


def test_committed_openapi_document_matches_the_api(api: Api) -> None:
    status, served = api.call("GET", "/openapi.json")
    committed = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
    assert status == 200 and served == committed, "OpenAPI drifted: run `make openapi` and commit docs/openapi.json"


def test_contacts_are_stored_sealed_and_only_a_kms_decrypt_opens_them(api: Api) -> None:
    customer = api.customers[1]
    contact = {"email": "someone@example.com", "first_name": "Sam", "timezone": "Europe/Paris"}
    assert api.call("PUT", f"/customers/{customer}/contact", contact)[0] == 403  # the campaign key: refused
    status, _body = api.call("PUT", f"/customers/{customer}/contact", contact, signed=True)
    assert status == 204
    dynamodb = boto3.resource("dynamodb", endpoint_url=api.aws.endpoint)
    table = dynamodb.Table(api.aws.ref("ContactsTable"))
    pid = pseudonymizer_from_secret(api.aws.ref("PseudonymSecret")).pid(customer)
    item = table.get_item(Key={"pid": pid})["Item"]
    assert b"someone@example.com" not in bytes(item["sealed"])  # only ciphertext at rest
    book = ContactBook(table, api.aws.client("kms"))  # what dispatch does: read and decrypt
    assert book.get(pid) == Contact(**contact)
    assert api.call("DELETE", f"/customers/{customer}/contact")[0] == 403
    assert api.call("DELETE", f"/customers/{customer}/contact", signed=True)[0] == 204
    assert book.get(pid) is None


@pytest.mark.parametrize(
    ("contact", "field"),
    [({"email": "not-an-address"}, "email"), ({"timezone": "Mars/Base"}, "timezone"), ({"fax": "1"}, "fax")],
)
def test_bad_contacts_are_refused_naming_the_field(api: Api, contact: dict, field: str) -> None:
    status, body = api.call("PUT", f"/customers/{api.customers[1]}/contact", contact, signed=True)
    assert status == 422 and body["detail"][0]["loc"][-1] == field


def test_frequency_caps_see_what_dispatch_sent(api: Api) -> None:
    customer = api.customers[2]
    _status, before = api.call("GET", f"/customers/{customer}/offers?channel=email&limit=1")
    chosen = before["offers"][0]["offer_id"]
    pid = before["pid"]
    ledger = Ledger(boto3.resource("dynamodb", endpoint_url=api.aws.endpoint).Table(api.aws.ref("LedgerTable")))
    now_ms = int(api.now().timestamp() * 1000)
    for i in range(2):  # two e-mails today: the global cap of 2 a day is reached
        ledger.record(LedgerEntry(pid, f"t-test-{i}.0", now_ms - i, "sent", channel="email", offer_id=chosen))
    _status, after = api.call("GET", f"/customers/{customer}/offers?channel=email&limit=1")
    assert after["offers"] == [] and "cap" in after["suppressed"][chosen]


def test_the_context_page_and_product_shape_the_answer(api: Api) -> None:
    status, body = api.call("GET", "/customers/never-seen-2/offers?channel=web&page=product&product_id=P00042")
    assert status == 200 and body["context"] == {"page": "product", "product_id": "P00042"}
    assert len(body["recommendations"]) == 3 and "P00042" not in body["recommendations"]
    products = body["products"]  # as the catalog shows them: names, prices, pictures, pages, and why
    assert [p["product_id"] for p in products] == body["recommendations"]
    assert all(p["name"] and p["price"] > 0 and p["image_url"].startswith("https://") for p in products)
    assert products[0]["reason"] == "bought together with the product on the page"  # each product says why
    assert {p["reason"] for p in products} <= {products[0]["reason"], "among the shop's best sellers"}
    stored = api.aws.client("s3").get_object(Bucket=api.aws.ref("ModelsBucket"), Key="config/products.jsonl")
    gone = {line["product_id"] for line in map(json.loads, stored["Body"].read().splitlines()) if "available" in line}
    assert gone and not gone & set(body["recommendations"])  # an unavailable product is never recommended
    items = [{"customer_id": "never-seen-2", "context": {"page": "product"}}, {"customer_id": "never-seen-3"}]
    status, body = api.call("POST", "/decisions", {"customers": items})
    assert status == 200 and [d["context"]["page"] for d in body["decisions"]] == ["product", None]
    popular, none = body["decisions"]  # a page and no product, for a visitor with no history: the best sellers
    assert len(popular["recommendations"]) == 3 and {p["reason"] for p in popular["products"]} == {
        "among the shop's best sellers"
    }
    assert none["recommendations"] == [] and none["products"] == []  # not for a site page: none asked for
    home = [{"customer_id": c, "context": {"page": "home"}} for c in api.customers]  # known: they viewed products
    status, body = api.call("POST", "/decisions", {"customers": home})
    reasons = {p["reason"] for d in body["decisions"] for p in d["products"]}
    assert status == 200 and reasons & {"bought together with what was viewed lately",
                                        "bought together with what is in the cart"}  # fmt: skip
    status, body = api.call("GET", "/customers/x/offers?page=Cart%20Page")
    assert status == 422 and body["detail"][0]["loc"] == ["query", "page"]


def test_what_a_customer_bought_lately_is_never_recommended_to_them(api: Api) -> None:
    # Given the served model's bought-together pairs, and what each customer bought in the last 30 days
    s3, bucket = api.aws.client("s3"), api.aws.ref("ModelsBucket")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="recommendations/")["Contents"]
    key = next(o["Key"] for o in listed if o["Key"].endswith("/model.json"))
    together = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["signals"]["together"]
    since = api.now() - timedelta(days=30)  # the campaigns file's window (the default)
    checked, strangers = 0, 0
    for customer in api.customers:
        held = api.call("GET", f"/customers/{customer}/data", signed=True)[1]["profile"]["products_bought"]
        recent = {p["product_id"] for p in held if datetime.fromisoformat(p["last_bought_at"]) >= since}
        pages = [page for page, others in together.items() if page not in recent and others[0][0] in recent]
        for page in pages[:5]:  # a product page whose best partner they bought lately
            query = f"offers?channel=web&page=product&product_id={page}"
            body = api.call("GET", f"/customers/{customer}/{query}")[1]
            assert body["recommendations"] and not recent & set(body["recommendations"]), (customer, page)
            stranger = api.call("GET", f"/customers/never-seen-{page}/{query}")[1]["recommendations"]
            strangers += bool(recent & set(stranger))  # a visitor who bought nothing is shown it
            checked += 1
    # Then no answer held one, though visitors who never bought it were offered it on those pages
    assert checked >= 2 and strangers >= 1  # the fixture's traffic ends now: how many varies with the hour


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/customers/C-1"), ("GET", "/customers/C-1/data"), ("GET", "/erasures/er_1"),
     ("PUT", "/customers/C-1/consent"), ("PUT", "/customers/C-1/contact"), ("DELETE", "/customers/C-1/contact")],
)  # fmt: skip
def test_the_campaign_key_opens_no_personal_data_route(api: Api, method: str, path: str) -> None:
    status, body = api.call(method, path, {"consents": {"email": True}, "source": "x"} if method == "PUT" else None)
    assert status == 403 and body == {"message": "Missing Authentication Token"}


def test_consent_through_the_api_is_honoured_at_once_and_kept_with_its_history(api: Api) -> None:
    offered = {c: api.call("GET", f"/customers/{c}/offers?channel=email&limit=3")[1]["offers"] for c in api.customers}
    customer = next(c for c, offers in offered.items() if offers)  # one with an e-mail offer to lose
    path = f"/customers/{customer}"
    status, body = api.call("PUT", f"{path}/consent", {"consents": {"email": False}, "source": "preference-center"},
                            signed=True)  # fmt: skip
    assert status == 200 and body["consents"]["email"] is False
    _status, after = api.call("GET", f"{path}/offers?channel=email&limit=3")  # no wait for the stream
    assert after["offers"] == [] and any("no email consent" in r for r in after["suppressed"].values())
    status, held = api.call("GET", f"{path}/data", signed=True)
    assert [(h["consents"], h["source"]) for h in held["consent_history"]] == [({"email": False}, "preference-center")]
    assert held["consent"]["email"]["granted"] is False
    status, body = api.call("PUT", f"{path}/consent", {"consents": {"fax": True}, "source": "x"}, signed=True)
    assert status == 422 and "fax" in body["detail"][0]["loc"]


def test_a_consent_older_than_the_profile_allows_is_refused_and_nothing_is_kept(api: Api) -> None:
    customer = api.customers[4]
    _status, held = api.call("GET", f"/customers/{customer}/data", signed=True)
    last_seen = datetime.fromisoformat(held["profile"]["last_seen"])
    for at, code in (
        (last_seen - timedelta(days=4), "late_event"),
        (last_seen - timedelta(days=4000), "timestamp_too_old"),
    ):
        body = {"consents": {"email": False}, "source": "import", "at": at.isoformat()}
        status, answer = api.call("PUT", f"/customers/{customer}/consent", body, signed=True)
        assert (status, answer["code"]) == (400, code)
    _status, held = api.call("GET", f"/customers/{customer}/data", signed=True)
    assert (held["consent_history"] == [] and "email" not in held["consent"]) or held["consent"]["email"]["granted"]
