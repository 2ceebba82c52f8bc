"""Read ``template.yaml`` and resolve its intrinsic functions for the local cloud.

The local stack is built from the template itself (no second description to drift): parameters with
their defaults, ``Rules`` (a failed assertion refuses the parameters, as CloudFormation does), conditions
(a resource whose ``Condition`` is false is not part of the stack), ``Globals``, resource properties,
``!Ref``/``!GetAtt``/``!Sub``/``!If``/``!Join`` and ``!Ref AWS::NoValue`` (the key or list element is
dropped). Only what the template uses is implemented; anything else raises so a template change is noticed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT = "123456789012"  # moto's default account


class TemplateRuleFailed(ValueError):
    """A ``Rules`` assertion of the template is false for the given parameters (CloudFormation refuses them)."""


class _NoValue:
    """``!Ref AWS::NoValue``: the property (or list element) it stands for is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


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
        self.conditions: dict[str, bool] = {}
        for name, expr in self.template.get("Conditions", {}).items():  # in order: a condition may use an earlier one
            self.conditions[name] = bool(self.resolve(expr))
        self._check_rules()

    def _check_rules(self) -> None:
        """CloudFormation's ``Rules``: every assertion of a rule whose RuleCondition holds must hold."""
        failed = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.resolve(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not self.resolve(assertion["Assert"]):
                    failed.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
        if failed:
            raise TemplateRuleFailed("the template's rules refuse these parameters: " + " ".join(failed))

    def active(self, logical: str) -> bool:
        """Whether a resource is part of the stack (no ``Condition``, or a true one)."""
        condition = self.template["Resources"][logical].get("Condition")
        return condition is None or self.conditions[condition]

    @property
    def resources(self) -> dict[str, Any]:
        """The resources the stack has with its parameters: those whose ``Condition`` is false are left out."""
        return {logical: spec for logical, spec in self.template["Resources"].items() if self.active(logical)}

    def pseudo(self, name: str) -> str:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com",
        }[name]

    def _in_stack(self, logical: str, use: str) -> None:
        """Refuse a reference to a resource the conditions left out (CloudFormation refuses such a template)."""
        if logical in self.template["Resources"] and not self.active(logical):
            condition = self.template["Resources"][logical]["Condition"]
            raise KeyError(
                f"{use}: {logical} is not in the stack (its Condition {condition} is false); "
                f"refer to it only under !If [{condition}, ...] or give the referring resource that Condition"
            )

    def ref(self, name: str) -> str:
        self._in_stack(name, f"!Ref {name}")
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise KeyError(f"!Ref {name}: not created yet")

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by its value; ``!Ref AWS::NoValue`` removes the key
        or list element it stands for (None when ``value`` itself is one)."""
        resolved = self._resolve(value)
        return None if resolved is NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self._resolve(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Condition":  # a condition named inside Fn::And / Fn::Or / Fn::Not
                return self.conditions[arg]
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                self._in_stack(logical, f"!GetAtt {logical}.{attribute}")
                return self.attrs[(logical, attribute)]
            if key == "Fn::Sub":
                text, extra = (arg[0], self.resolve(arg[1])) if isinstance(arg, list) else (arg, {})
                return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1), extra), text)
            if key == "Fn::If":
                cond, yes, no = arg
                return self._resolve(yes if self.conditions[cond] else no)
            if key == "Fn::Not":
                return not self._resolve(arg[0])
            if key == "Fn::And":
                return all(self._resolve(v) for v in arg)
            if key == "Fn::Or":
                return any(self._resolve(v) for v in arg)
            if key == "Fn::Equals":
                return self._resolve(arg[0]) == self._resolve(arg[1])
            if key == "Fn::Join":
                return str(arg[0]).join(str(v) for v in self.resolve(arg[1]))
            if key.startswith("Fn::"):
                raise NotImplementedError(f"intrinsic {key} is not supported by the local cloud")
        out = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _sub(self, name: str, extra: Mapping[str, Any]) -> str:
        if name in extra:
            return str(extra[name])
        if "." in name:
            logical, attribute = name.split(".", 1)
            self._in_stack(logical, f"${{{name}}}")
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
