"""The product catalog: the feed import (errors by line and field), the stored form serving reads,
what may be shown (never an unavailable product), and every template with and without products."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from microtarget.campaigns import parse_campaigns
from microtarget.catalog import CatalogInvalid, parse_catalog, unknown
from microtarget.recommendations import Recommender
from microtarget.rendering import environment, render

from training.cli import main as cli
from training.synthetic import generate
from training.synthetic_catalog import feed, feed_csv

ROOT = Path(__file__).resolve().parents[2]
FEED = """sku,title,path,maker,cost,cur,picture,page,stock
P1,Trail sneakers,fashion / shoes,Fjord,89.90,eur,https://shop.example.com/img/P1.jpg,https://shop.example.com/p/P1,in stock
P2,Soft throw,home / home,Lumen,35,,,,out of stock
P3,Studio jeans,fashion / denim,Kite,59.5,EUR,https://shop.example.com/img/P3.jpg,https://shop.example.com/p/P3,
"""
COLUMNS = ["--id-column", "sku", "--name-column", "title", "--category-column", "path", "--brand-column", "maker",
           "--price-column", "cost", "--currency-column", "cur", "--image-column", "picture", "--url-column", "page",
           "--availability-column", "stock", "--category-separator", "/"]  # fmt: skip


def _import(tmp_path: Path, text: str, *extra: str, name: str = "feed.csv") -> tuple[int, Path]:
    (tmp_path / name).write_text(text)
    out = tmp_path / "products.jsonl"
    return cli(["catalog", str(tmp_path / name), "--out", str(out), *COLUMNS, *extra]), out


def test_a_feed_with_its_own_column_names_becomes_the_catalog_serving_reads(tmp_path: Path) -> None:
    code, out = _import(tmp_path, FEED)
    assert code == 0
    catalog = parse_catalog(out.read_bytes())
    trail = catalog.products["P1"]
    assert (trail.name, trail.category, trail.brand, trail.price, trail.currency) == (
        "Trail sneakers", ["fashion", "shoes"], "Fjord", 89.9, "EUR")  # fmt: skip
    assert not catalog.products["P2"].available and catalog.products["P3"].available  # no stock column: available
    assert catalog.version == parse_catalog(_import(tmp_path, FEED)[1].read_bytes()).version  # same feed, same version
    assert [p["product_id"] for p in catalog.shown((p, "bought together") for p in ["P2", "P9", "P3", "P1"])] == [
        "P3",
        "P1",
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("P4,Boots,fashion,Fjord,abc,EUR,,,in stock", "line 5, field 'cost': Input should be a valid number"),
        (
            "P4,Boots,fashion,Fjord,10,EUR,http://x.example/a.jpg,,in stock",
            "line 5, field 'picture': String should match",
        ),
        ("P4,Boots,fashion,Fjord,10,EUR,,,maybe", "line 5, field 'stock': 'maybe' is not an availability"),
        ("P4,,fashion,Fjord,10,EUR,,,in stock", "line 5, field 'title': String should have at least 1 character"),
        ("P1,Again,fashion,Fjord,10,EUR,,,in stock", "line 5, field 'sku': product 'P1' is on line 2 too"),
        ("P4,Boots,fashion,Fjord,10,EURO,,,in stock", "line 5, field 'cur': String should match pattern"),
    ],
)
def test_a_bad_row_is_named_by_its_line_and_field(tmp_path: Path, row: str, message: str, capsys: Any) -> None:
    code, out = _import(tmp_path, FEED + row + "\n")
    assert code == 2 and message in capsys.readouterr().err and not out.exists()  # nothing half written
    assert _import(tmp_path, FEED + row + "\n", "--skip-bad")[0] == 0  # or skipped and counted
    assert len(parse_catalog(out.read_bytes()).products) == 3 and "1 rows skipped" in capsys.readouterr().err


def test_a_json_lines_feed_and_a_stored_catalog_that_does_not_validate(tmp_path: Path, capsys: Any) -> None:
    lines = '{"sku": "P1", "title": "Trail sneakers", "path": ["fashion", "shoes"], "cost": 89.9, "stock": "true"}\n'
    code, out = _import(tmp_path, lines + "not json\n", name="feed.jsonl")
    assert code == 2 and "line 2: not JSON" in capsys.readouterr().err
    assert _import(tmp_path, lines, name="feed.jsonl")[0] == 0
    assert parse_catalog(out.read_bytes()).products["P1"].category == ["fashion", "shoes"]
    with pytest.raises(CatalogInvalid, match=r"catalog line 2: price: Input should be greater than or equal to 0"):
        parse_catalog(out.read_bytes() + b'{"product_id": "P2", "name": "x", "price": -1}\n')


def test_recommendations_skip_what_may_not_be_shown_and_fill_from_the_popular() -> None:
    model = Recommender({}, {"together": {"P1": [("P2", 0.9), ("P3", 0.5)]}}, ["P2", "P4", "P5"])
    assert model.recommend(["P1"], 3) == ["P2", "P3", "P4"]
    assert model.recommend(["P1"], 3, allowed=lambda p: p != "P2") == ["P3", "P4", "P5"]


def test_the_synthetic_feed_sells_what_its_traffic_views_at_the_same_prices() -> None:
    traffic = generate(60, 10, seed=3)
    listed = {row["product_id"]: float(row["price"]) for row in feed(traffic)}
    seen = {(e["properties"]["product_id"], e["properties"]["price"]) for e in traffic.events
            if e["event_type"] == "product_view"}  # fmt: skip
    assert seen and all(listed[product] == round(price, 2) for product, price in seen)
    assert feed_csv(traffic).startswith("product_id,name,category,brand,price")


def _templates() -> dict[str, str]:
    folder = ROOT / "campaigns" / "templates"
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("shown", ["catalog", "ids only", "nothing"])
def test_every_template_renders_with_and_without_products(shown: str) -> None:
    campaigns = parse_campaigns((ROOT / "campaigns" / "catalog.yaml").read_text())
    catalog = parse_catalog(
        b'{"product_id": "P1", "name": "Trail sneakers", "price": 89.9, "image_url": "https://shop.example.com/i.jpg"}\n'
        b'{"product_id": "P2", "name": "Soft throw", "price": 35}\n'
    )
    products = {"catalog": catalog.shown([("P1", "bought together")]), "ids only": [unknown("P7")], "nothing": []}[
        shown
    ]
    picked = catalog.shown([("P2", "similar to what was viewed lately")])
    env = environment(_templates())
    for offer in campaigns.offers:
        for channel in ("email", "push"):
            if channel not in offer.channels:
                continue
            context = {"first_name": None, "offer": offer.model_dump(), "decision_id": "d1",
                       "items": [p | {"quantity": 1} for p in products], "recommended": products,
                       "links": {"offer": "https://shop.example.com/o", "unsubscribe": "https://shop.example.com/u"}}  # fmt: skip
            rendered = render(env, offer.template, channel, context)
            assert rendered.text.strip(), (offer.id, channel)
            if shown == "catalog" and channel == "email":  # every e-mail shows the picks, in both parts
                assert "Trail sneakers" in rendered.html and 'src="https://shop.example.com/i.jpg"' in rendered.html
                assert "Trail sneakers" in rendered.text, offer.id
            if shown == "catalog" and channel == "push":  # a push names the first pick, apart from the items
                alone = render(env, offer.template, channel, context | {"items": [], "recommended": picked})
                assert "Soft throw" in alone.text and len(alone.text) <= 178, (offer.id, alone.text)
                long = [p | {"name": "Soft throw " + "x" * 190} for p in picked]  # a 200-character name
                both = render(env, offer.template, channel, context | {"items": long, "recommended": long})
                assert len(both.text) <= 178 and "Soft throw" in both.text, (offer.id, both.text)


def test_odd_values_a_name_with_a_line_separator_and_line_numbers_after_blank_lines(
    tmp_path: Path, capsys: Any
) -> None:
    lines = '{"sku": "P1", "title": "Trail\u2028sneakers", "cost": 10}\n{"sku": "P2", "title": "Soft", "cost": true}\n'
    assert _import(tmp_path, lines, name="feed.jsonl")[0] == 2
    assert "line 2, field 'cost'" in capsys.readouterr().err  # true is no price
    code, out = _import(tmp_path, lines.split("\n")[0] + "\n", name="feed.jsonl")
    assert code == 0 and parse_catalog(out.read_bytes()).products["P1"].name == "Trail\u2028sneakers"
    assert _import(tmp_path, FEED.replace("P3,", "\nP3,").replace("59.5", "abc"))[0] == 2
    assert "line 5, field 'cost'" in capsys.readouterr().err  # the file's line, the blank one counted
    with pytest.raises(CatalogInvalid, match="not UTF-8"):
        parse_catalog(b'{"product_id": "P1", "name": "\xff", "price": 1}\n')
    with pytest.raises(CatalogInvalid, match="catalog line 1: not JSON"):  # nested past the parser's depth
        parse_catalog(b"[" * 100_000 + b"]" * 100_000 + b"\n")


def test_text_parts_keep_one_thing_a_line() -> None:
    catalog = parse_catalog(b'{"product_id": "P1", "name": "Trail sneakers", "price": 89.9}\n')
    context = {"first_name": None, "offer": {"id": "o", "name": "Offer"}, "decision_id": "d",
               "items": [p | {"quantity": 1} for p in catalog.shown([("P1", "")])], "recommended": catalog.shown([("P1", "")]),
               "links": {"offer": "https://shop.example.com/o", "unsubscribe": "https://shop.example.com/u"}}  # fmt: skip
    text = render(environment(_templates()), "cart_recovery", "email", context).text
    assert "\n- Trail sneakers x 1 (€89.90)\n" in text and text.endswith("\nComplete your order today and save 5%: "
                                                                          "https://shop.example.com/o")  # fmt: skip
    assert render(environment(_templates()), "cross_sell", "email", context).text.endswith(
        "\n\nhttps://shop.example.com/o"
    )


def test_each_moment_gets_what_goes_with_it_its_products_then_cart_then_views_then_best_sellers() -> None:
    from microtarget.aggregation import apply_events
    from microtarget.profile import Profile
    from microtarget.recommendations import POPULAR, recommend_for

    from tests.helpers.events import event

    model = Recommender({}, {"together": {"P1": [("P2", 0.9)], "P5": [("P6", 0.8)], "P7": [("P8", 0.7)]}}, ["P9"])
    viewer = Profile("c_v")
    apply_events(viewer, [event("product_view", product_id="P7", minutes=-30)])
    shopper = Profile("c_s")
    apply_events(shopper, [event("product_view", product_id="P7", minutes=-30), event("add_to_cart", product_id="P5")])
    page, cart = "bought together with the product on the page", "bought together with what is in the cart"
    viewed = "bought together with what was viewed lately"
    assert recommend_for(model, ["P1"], shopper, None) == [("P2", page), ("P8", viewed), ("P9", POPULAR)]
    assert recommend_for(model, [], shopper, None) == [("P6", cart), ("P8", viewed), ("P9", POPULAR)]
    assert recommend_for(model, [], viewer, None) == [("P8", viewed), ("P9", POPULAR)]
    assert recommend_for(model, [], None, lambda p: p != "P9") == []
    assert recommend_for(model, [], None, None) == [("P9", POPULAR)]
    assert recommend_for(model, ["P1"], None, None, what="your order")[0] == ("P2", "bought together with your order")
