"""Read template.yaml (CloudFormation short tags included) and resolve its intrinsics.

The local AWS takes every name, key schema, queue and event-source setting from here,
so a change to the template is a change to what tests and the demo run against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
_TAGS = (
    "Ref", "GetAtt", "Sub", "If", "Equals", "Join", "Select", "Split", "GetAZs", "ImportValue", "Not", "And", "Or",
    "FindInMap", "Condition",
)  # fmt: skip


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag_constructor(tag: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {tag if tag in ("Ref", "Condition") else f"Fn::{tag}": value}

    return construct


for _tag in _TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _tag_constructor(_tag))


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_CfnLoader)


@dataclass
class Resolver:
    """Resolves Ref/GetAtt/Sub/If/Equals/FindInMap against the physical resources the local AWS made."""

    template: dict[str, Any]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    pseudo: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, spec in self.template.get("Parameters", {}).items():
            self.parameters.setdefault(name, str(spec.get("Default", "")))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                return self.attributes[(arg[0], arg[1])]
            if key == "Fn::Sub":
                return re.sub(r"\$\{([^}!]+)\}", lambda m: self._sub(m.group(1)), arg)
            if key == "Fn::If":
                return self.resolve(arg[1] if self.holds(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(part) for part in arg)
            if key == "Condition" and isinstance(arg, str):  # !Condition inside a condition
                return self.holds(arg)
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(part) for part in arg)
                return self.template["Mappings"][mapping][str(top)][second]
        return {key: self.resolve(inner) for key, inner in value.items()}

    def holds(self, condition: str) -> bool:
        """A named condition of the template's Conditions section."""
        return bool(self.resolve(self.template["Conditions"][condition]))

    def _ref(self, name: str) -> str:
        for table in (self.parameters, self.pseudo, self.refs):
            if name in table:
                return table[name]
        raise KeyError(f"template Ref to unknown name {name!r}")

    def _sub(self, expression: str) -> str:
        if "." in expression:
            logical, attribute = expression.split(".", 1)
            return self.attributes[(logical, attribute)]
        return self._ref(expression)


def resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in template["Resources"].items() if spec["Type"] == resource_type}


def function_environment(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """Globals merged with the function's own variables (unresolved)."""
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return {**globals_env, **own}
