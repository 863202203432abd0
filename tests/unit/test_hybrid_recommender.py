"""The hybrid recommender on a planted shop where each signal knows something the others do not:
pairs bought together across categories (only co-occurrence finds them), products bought after
viewing another (only view-to-buy), and new products bought beside their look-alike (only the
catalog's content knows them before anyone has bought them). The blend must beat every part."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from microtarget.catalog import Catalog, Product
from microtarget.recommendations import load_recommender

from training.dataset import plan_timeline
from training.recommend import Order, train_recommender

END = datetime(2026, 11, 20, tzinfo=UTC)
START = END - timedelta(days=70)
CATEGORIES = ("shoes", "coats", "bags", "hats", "toys", "lamps")
WORDS = ("amber", "birch", "cedar", "dune", "ember", "frost", "grove", "haze", "iris", "jade")


def _shop() -> tuple[Catalog, list[Order], dict[str, str]]:
    rng = random.Random(11)
    products, kinds = {}, {}
    for c, category in enumerate(CATEGORIES):
        for i, word in enumerate(WORDS):  # each old product a brand and name word of its own
            pid = f"{category}-{i}"
            products[pid] = Product(product_id=pid, name=f"{word.title()} {category}", category=["shop", category],
                                    brand=f"{word}-{c}", price=20.0 * (1 + c))  # fmt: skip
    for c, category in enumerate(CATEGORIES):
        for i in range(3):  # launched later: the same brand, word and band as the one they go with
            pid, word = f"{category}-new{i}", WORDS[i]
            products[pid] = Product(product_id=pid, name=f"{word.title()} {category} II", category=["shop", category],
                                    brand=f"{word}-{c}", price=20.0 * (1 + c))  # fmt: skip
    products["hats-9"] = products["hats-9"].model_copy(update={"available": False})
    timeline = plan_timeline(START, END)
    launched = {f"{c}-new{i}": (timeline.valid_cutoff if i < 2 else timeline.test_cutoff) for c in CATEGORIES
                for i in range(3)}  # fmt: skip
    old = [p for p in products if "new" not in p]
    partner = {p: old[(k + 17) % len(old)] for k, p in enumerate(old[:30])}  # across categories
    after = {p: old[(k + 23) % len(old)] for k, p in enumerate(old[30:50], 30)}  # viewed p, then bought it
    orders = []
    for day in range(70):
        at = START + timedelta(days=day, hours=12)
        for _ in range(12):
            roll = rng.random()
            if roll < 0.5:
                p = rng.choice(sorted(partner))
                orders.append(Order(f"c{len(orders) % 97}", at, sorted([p, partner[p]]), []))
                kinds[p] = "together"
            elif roll < 0.75:
                p = rng.choice(sorted(after))
                orders.append(Order(f"c{len(orders) % 97}", at, [after[p]], [p]))
            else:
                new = [n for n, when in launched.items() if when <= at]
                if new:
                    n = rng.choice(sorted(new))
                    orders.append(Order(f"c{len(orders) % 97}", at, sorted([n, n.replace("new", "")]), []))
    return Catalog("v1", products), orders, kinds


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Catalog, Path]:
    catalog, orders, _kinds = _shop()
    out = tmp_path_factory.mktemp("hybrid")
    return train_recommender(orders, plan_timeline(START, END), out, catalog), catalog, out


def test_the_blend_beats_each_signal_alone_and_popularity_on_held_out_orders(trained: tuple) -> None:
    manifest = trained[0]["manifest"]
    test = manifest["comparison"]["test"]
    assert test["hybrid"]["trials"] > 200
    for part in ("popularity", "co-occurrence", "content"):
        assert test["hybrid"]["ndcg_10"] > test[part]["ndcg_10"] + 0.1, part
        assert test["hybrid"]["hit_rate_10"] > test[part]["hit_rate_10"] + 0.1, part
    assert manifest["blend"]["served"] == "hybrid" and manifest["metrics"]["test"] == test["hybrid"]
    weights = manifest["blend"]["weights"]
    assert weights["after_viewing"] > 0 and weights["similar"] > 0  # each signal earned its weight
    assert test["hybrid"]["coverage"] > test["co-occurrence"]["coverage"]


def test_products_nobody_bought_yet_are_recommended_by_their_content(trained: tuple) -> None:
    test = trained[0]["manifest"]["comparison"]["test"]
    assert test["hybrid"]["cold_trials"] > 10
    assert test["co-occurrence"]["cold_hit_rate_10"] < 0.05  # it cannot know them
    assert test["hybrid"]["cold_hit_rate_10"] > 0.8
    _result, catalog, out = trained
    served = load_recommender(json.loads((out / "recommendations/manifest.json").read_text()),
                              (out / "recommendations/model.json").read_bytes())  # fmt: skip
    picks = served.picks(["coats-2"], 3, catalog.available)
    assert ("coats-new2", "similar", False) in picks  # launched after the model's last order


def test_never_what_is_in_the_cart_viewed_or_unavailable(trained: tuple) -> None:
    result, catalog, _out = trained
    served = load_recommender(
        result["manifest"],
        json.dumps(
            result["model"] | {"weights": result["manifest"]["blend"]["weights"]}, sort_keys=True, separators=(",", ":")
        ).encode(),
    )
    for product in sorted(catalog.products):
        viewed = ["hats-8", "toys-1"]
        picks = [p for p, _signal, _viewed in served.picks([product], 10, catalog.available, viewed)]
        assert product not in picks and not set(viewed) & set(picks) and "hats-9" not in picks
        assert len(picks) == len(set(picks))


def test_without_a_catalog_the_blend_is_kept_only_if_it_beats_co_occurrence(tmp_path: Path) -> None:
    _catalog, orders, _kinds = _shop()
    manifest = train_recommender(orders, plan_timeline(START, END), tmp_path)["manifest"]
    assert "content" not in manifest["comparison"]["test"]
    assert manifest["blend"]["weights"]["similar"] == 0.0
    validation = manifest["blend"]["validation_ndcg_10"]
    assert (manifest["blend"]["served"] == "hybrid") == (validation["hybrid"] > validation["co-occurrence"])
    only_pairs = [o for o in orders if len(o.products) == 2 and "new" not in "".join(o.products)]
    plain = train_recommender(only_pairs, plan_timeline(START, END), tmp_path / "pairs")["manifest"]
    assert plain["blend"]["served"] == "co-occurrence"  # nothing to add: co-occurrence alone is served
    assert json.loads((tmp_path / "pairs/recommendations/model.json").read_text())["weights"] == {"together": 1.0}


def test_the_report_shows_every_recommenders_figures_and_what_is_served(trained: tuple) -> None:
    from training.recommend_html import section

    page = section(trained[0]["manifest"])
    assert "Serving the <b>hybrid</b>" in page and "NDCG@10" in page and "cold hit@10" in page
    assert all(f"<td>{name}</td>" in page for name in ("popularity", "co-occurrence", "content", "hybrid"))
    assert page.count("<tr>") == 1 + 2 * 4  # the header, then four recommenders on two windows


def test_the_strangest_catalog_entries_still_get_look_alikes_or_none() -> None:
    from training.recommend_signals import similar

    assert similar(Catalog("v0", {})) == {}
    alone = Product(product_id="only", name="X", price=0.0)  # no category, no brand, free, a name of one letter
    assert similar(Catalog("v1", {"only": alone})) == {"only": []}  # never itself
    twin = alone.model_copy(update={"product_id": "twin"})
    other = Product(product_id="far", name="Oak table", category=["home"], brand="b", price=900_000.0)
    found = similar(Catalog("v2", {p.product_id: p for p in (alone, twin, other)}))
    assert found["only"] == [("twin", 1.0)] and found["far"] == []  # nothing in common: no neighbour


def test_a_model_file_of_the_wrong_shape_is_refused_not_served() -> None:
    import hashlib

    from microtarget.scoring import ModelRejected

    body = json.dumps({"signals": {"together": ["not", "a", "table"]}, "popular": []}).encode()
    with pytest.raises(ModelRejected, match="unreadable model file"):
        load_recommender({"sha256": hashlib.sha256(body).hexdigest()}, body)
