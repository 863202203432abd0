"""The product catalog serving shows: names, images, prices and links for the products in messages
and answers, and which products may be shown at all (an unavailable one never is).

Stored as JSON lines (one product a line, sorted by id) in the models bucket beside the campaigns
file (`config/products.jsonl`, written by `python -m training catalog`); its version is the
content's sha256, so a changed feed is a new version and an unchanged one is not reloaded."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from microtarget.errors import PermanentError

# the event contract's limits, restated: the API's cold start does not load the event contract
Id = Annotated[str, Field(min_length=1, max_length=128)]
Money = Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
Url = Annotated[str, Field(pattern=r"^https://[^\s]+$", max_length=2048)]


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)]
    category: Annotated[list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=8)] = []
    brand: Annotated[str, Field(max_length=100)] = ""
    price: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    image_url: Url | None = None
    product_url: Url | None = None
    available: bool = True


def unknown(product_id: str) -> dict[str, Any]:
    """A product the catalog does not describe, with every field a template may name (None)."""
    return {name: None for name in Product.model_fields} | {"product_id": product_id, "category": [], "reason": ""}


class CatalogInvalid(PermanentError):
    """A catalog file that cannot be served: names the line and the field."""


@dataclass(frozen=True)
class Catalog:
    version: str
    products: dict[str, Product] = field(default_factory=dict)
    # each product's fields as templates and answers get them, made once per product and version
    _details: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    def available(self, product_id: str) -> bool:
        product = self.products.get(product_id)
        return product is not None and product.available

    def details(self, product_id: str) -> dict[str, Any]:
        """A known product's fields (callers merge into a new dict: this one is shared)."""
        found = self._details.get(product_id)
        if found is None:
            found = self._details[product_id] = self.products[product_id].model_dump()
        return found

    def shown(self, picks: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
        """The available ones among the (product, why it is there) `picks`, in order, with their details."""
        return [self.details(p) | {"reason": reason} for p, reason in picks if self.available(p)]


def parse_catalog(body: bytes) -> Catalog:
    products: dict[str, Product] = {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogInvalid(
            "catalog_invalid", f"the catalog is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    for number, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 may be inside a name
        if not line.strip():
            continue
        try:
            product = Product.model_validate(json.loads(line))
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, ValidationError, nesting too deep
            raise CatalogInvalid("catalog_invalid", f"catalog line {number}: {_reason(exc)}") from None
        if product.product_id in products:
            raise CatalogInvalid(
                "catalog_invalid", f"catalog line {number}: product {product.product_id!r} appears twice"
            )
        products[product.product_id] = product
    return Catalog(hashlib.sha256(body).hexdigest()[:12], products)


def catalog_body(products: Iterable[Product]) -> bytes:
    """The stored form: one product a line, sorted by id (the same feed gives the same version)."""
    lines = [p.model_dump_json(exclude_defaults=True) for p in sorted(products, key=lambda p: p.product_id)]
    return ("\n".join(lines) + "\n").encode()


def _reason(exc: ValueError | RecursionError) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        return f"{'.'.join(map(str, error['loc'])) or 'product'}: {error['msg']}"
    return f"not JSON ({exc})"
