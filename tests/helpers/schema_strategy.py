"""Hypothesis strategies for any document a JSON Schema admits, for the keywords our published
schemas use: objects (required, optional, additionalProperties, propertyNames, minProperties),
strings (length, pattern, date-time), numbers and integers (bounds), arrays, anyOf/oneOf, $ref,
const, enum. Strings reach their maximum length and timestamps span years 1 to 9999 with any
offset: the strangest values the contract's text allows, not only the common ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

_OFFSETS = st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes)))
_MOMENTS = st.one_of(
    st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=_OFFSETS),
    st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)),
).map(lambda moment: moment.isoformat())


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    return _node(schema, schema)


def _node(node: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return st.deferred(lambda: _node(root["$defs"][name], root))
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return st.one_of([_node(option, root) for option in node[key]])
    kind = node.get("type")
    if kind == "object":
        return _object(node, root)
    if kind == "array":
        return st.lists(_node(node.get("items", {}), root), max_size=min(node.get("maxItems", 5), 5))
    if kind == "string":
        return _string(node)
    if kind == "integer":
        return st.integers(node.get("minimum"), node.get("maximum"))
    if kind == "number":
        return st.floats(node.get("minimum"), node.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    raise NotImplementedError(f"schema keyword set not covered: {sorted(node)}")


def _string(node: dict[str, Any]) -> st.SearchStrategy[str]:
    if node.get("format") == "date-time":
        return _MOMENTS
    if "pattern" in node:
        return st.from_regex(node["pattern"], fullmatch=True)
    low, high = node.get("minLength", 0), node.get("maxLength", 64)
    return st.one_of(st.text(min_size=low, max_size=min(high, 24)), st.text(min_size=high, max_size=high))


def _object(node: dict[str, Any], root: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = node.get("properties", {})
    if not properties and isinstance(node.get("additionalProperties"), dict):
        keys = _node(node.get("propertyNames", {"type": "string"}), root)
        values = _node(node["additionalProperties"], root)
        return st.dictionaries(keys, values, min_size=node.get("minProperties", 0), max_size=4)
    required = set(node.get("required", ()))
    fields = {name: _node(spec, root) for name, spec in properties.items()}
    return st.fixed_dictionaries(
        {name: fields[name] for name in properties if name in required},
        optional={name: fields[name] for name in properties if name not in required},
    )
