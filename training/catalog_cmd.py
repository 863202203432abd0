"""python -m training catalog: a product feed (CSV or JSON lines) → the catalog serving reads.

    python -m training catalog feed.csv --out s3://<models bucket>/config/products.jsonl

Column (or key) names are configurable; every row is validated and a bad one is named by its line
and field (or skipped and counted with --skip-bad). Serving picks the new catalog up within its
refresh interval; its version is the content's sha256, so an unchanged feed is the same version.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from microtarget.catalog import Product, catalog_body, parse_catalog
from pydantic import ValidationError

from training.commands import say
from training.sources import read_text, write_bytes

FIELDS = ("id", "name", "category", "brand", "price", "currency", "image", "url", "availability")
DEFAULTS = {"id": "product_id", "name": "name", "category": "category", "brand": "brand", "price": "price",
            "currency": "currency", "image": "image_url", "url": "product_url", "availability": "availability"}  # fmt: skip
AVAILABLE = {"in stock", "in_stock", "instock", "available", "true", "yes", "1"}
UNAVAILABLE = {"out of stock", "out_of_stock", "outofstock", "discontinued", "unavailable", "false", "no", "0"}


def register(sub: Any) -> None:
    command = sub.add_parser("catalog", help="import a product feed (CSV or JSON lines) as the catalog serving reads")
    command.add_argument("feed", help="CSV or JSON lines (path or s3://); .jsonl/.json read as JSON lines")
    command.add_argument(
        "--out", required=True, help="where serving reads it: s3://<models bucket>/config/products.jsonl"
    )
    for name in FIELDS:
        command.add_argument(f"--{name}-column", default=DEFAULTS[name], help=f"column or key of the {name}")
    command.add_argument("--category-separator", default=">", help="between the levels of a category path")
    command.add_argument("--default-currency", default="EUR")
    command.add_argument("--skip-bad", action="store_true", help="skip and count bad rows instead of stopping")
    command.set_defaults(run=cmd_catalog)


def cmd_catalog(args: Any) -> dict[str, Any]:
    columns = {name: getattr(args, f"{name}_column") for name in FIELDS}
    products, skipped, seen = [], [], dict[str, int]()
    for line, row in _rows(args.feed):
        try:
            product = _product(row, columns, args.category_separator, args.default_currency, line)
            if product.product_id in seen:
                raise ValueError(f"line {line}, field {columns['id']!r}: product {product.product_id!r} is on line "
                                 f"{seen[product.product_id]} too")  # fmt: skip
            seen[product.product_id] = line
            products.append(product)
        except ValueError as exc:
            if not args.skip_bad:
                raise ValueError(f"{args.feed}: {exc} (use --skip-bad to skip and count bad rows)") from None
            skipped.append(str(exc))
    if not products:
        raise ValueError(f"{args.feed}: no valid products")
    body = catalog_body(products)
    catalog = parse_catalog(body)  # what serving will read, read back before it is written
    write_bytes(args.out, body)
    unavailable = sum(not p.available for p in products)
    for problem in skipped[:20]:
        say(f"skipped {problem}")
    say(f"catalog {catalog.version}: {len(products):,} products ({unavailable:,} unavailable) → {args.out}; "
        f"{len(skipped)} rows skipped")  # fmt: skip
    return {"version": catalog.version, "products": len(products), "unavailable": unavailable, "skipped": len(skipped)}


def _rows(feed: str) -> list[tuple[int, Any]]:
    """(line, the row) for each row; a JSON line that cannot be read is its JSONDecodeError."""
    text = read_text(feed)
    if feed.endswith((".jsonl", ".json", ".ndjson")):
        rows = []
        for number, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 may be inside a name
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except json.JSONDecodeError as exc:
                    rows.append((number, exc))
        return rows
    reader = csv.DictReader(io.StringIO(text))
    return [(reader.line_num, row) for row in reader]  # the row's line, blank lines and quoted breaks counted


def _product(row: Any, columns: dict[str, str], separator: str, currency: str, line: int) -> Product:
    if isinstance(row, json.JSONDecodeError):
        raise ValueError(f"line {line}: not JSON ({row.msg})")
    if not isinstance(row, dict):
        raise ValueError(f"line {line}: not an object")
    value = {name: row.get(column) for name, column in columns.items()}
    text = {name: str(v).strip() if v is not None else "" for name, v in value.items()}
    available = text["availability"].lower()
    if available and available not in AVAILABLE | UNAVAILABLE:
        raise ValueError(f"line {line}, field {columns['availability']!r}: {text['availability']!r} is not an availability "
                         f"(in stock, out of stock, true, false …)")  # fmt: skip
    category = value["category"] if isinstance(value["category"], list) else text["category"].split(separator)
    price = value["price"]
    fields = {
        "product_id": text["id"], "name": text["name"], "brand": text["brand"],
        "category": [str(level).strip() for level in category if level is not None and str(level).strip()],
        "price": price if isinstance(price, int | float) and not isinstance(price, bool) else text["price"] or None,
        "currency": text["currency"].upper() or currency, "image_url": text["image"] or None,
        "product_url": text["url"] or None, "available": available not in UNAVAILABLE,
    }  # fmt: skip
    try:
        return Product.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = str(error["loc"][0]) if error["loc"] else "product"
        column = columns.get({"product_id": "id", "image_url": "image", "product_url": "url"}.get(name, name), name)
        raise ValueError(f"line {line}, field {column!r}: {error['msg']}") from None
