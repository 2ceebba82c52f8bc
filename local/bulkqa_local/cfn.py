"""Read ``template.yaml`` and resolve its intrinsic functions for the local cloud.

The local stack is built from the template itself (no second description to drift): parameters with
their defaults, conditions, ``Globals``, resource properties, ``!Ref``/``!GetAtt``/``!Sub``/``!If``.
Only what the template uses is implemented; anything else raises so a template change is noticed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT = "123456789012"  # moto's default account


class _Tag:
    def __init__(self, name: str, value: Any) -> None:
        self.name, self.value = name, value


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> _Tag:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return _Tag("Fn::" + suffix if suffix != "Ref" else "Ref", value)


_Loader.add_multi_constructor("!", _construct)


def _untag(value: Any) -> Any:
    if isinstance(value, _Tag):
        return {value.name: _untag(value.value)}
    if isinstance(value, dict):
        return {k: _untag(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_untag(v) for v in value]
    return value


def load(path: Path) -> dict[str, Any]:
    """The template as plain data (the YAML document itself: no schema is imposed)."""
    # _Loader is a SafeLoader subclass that only adds CloudFormation's short-form tags
    template = _untag(yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader))  # noqa: S506  # nosec B506
    if not isinstance(template, dict):
        raise ValueError(f"{path}: not a CloudFormation template (a YAML mapping)")
    return template


@dataclass
class Stack:
    """A template with bound parameters and the physical ids of its resources."""

    template: dict[str, Any]
    name: str
    region: str
    parameters: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical id, attribute) -> value

    def __post_init__(self) -> None:
        given = dict(self.parameters)
        self.parameters = {}
        for name, spec in self.template.get("Parameters", {}).items():
            if name in given:
                self.parameters[name] = str(given.pop(name))
            elif "Default" in spec:
                self.parameters[name] = str(spec["Default"])
            else:
                raise ValueError(f"template parameter {name} has no default; pass it")
        if given:
            raise ValueError(f"unknown template parameters: {sorted(given)}")
        self.conditions = {name: bool(self.resolve(expr)) for name, expr in self.template.get("Conditions", {}).items()}

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.template["Resources"])

    def pseudo(self, name: str) -> str:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com",
        }[name]

    def ref(self, name: str) -> str:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"!Ref {name}: not created yet")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.attrs[(logical, attribute)]
            if key == "Fn::Sub":
                text, extra = (arg[0], self.resolve(arg[1])) if isinstance(arg, list) else (arg, {})
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1), extra), text)
            if key == "Fn::If":
                cond, yes, no = arg
                return self.resolve(yes if self.conditions[cond] else no)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.resolve(arg[1]))
            if key.startswith("Fn::"):
                raise NotImplementedError(f"intrinsic {key} is not supported by the local cloud")
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, name: str, extra: Mapping[str, Any]) -> str:
        if name in extra:
            return str(extra[name])
        if "." in name:
            logical, attribute = name.split(".", 1)
            return self.attrs[(logical, attribute)]
        return self.ref(name)

    def function_properties(self, logical: str) -> dict[str, Any]:
        """A function's properties with ``Globals.Function`` merged in (environment merged by key)."""
        glob = dict(self.template.get("Globals", {}).get("Function", {}))
        props = dict(self.resources[logical]["Properties"])
        env = {**glob.get("Environment", {}).get("Variables", {}), **props.get("Environment", {}).get("Variables", {})}
        merged = {**glob, **props}
        merged["Environment"] = {"Variables": env}
        return merged
