"""Binding ``${Name}`` placeholders of an ASL file, as CloudFormation's DefinitionSubstitutions do.

A regular expression, not ``string.Template``: the latter treats ``$$.Task.Token`` as an escape.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def bind_definition(text: str, substitutions: Mapping[str, str]) -> str:
    missing = placeholders(text) - set(substitutions)
    if missing:
        raise KeyError(f"ASL placeholders without a DefinitionSubstitutions value: {sorted(missing)}")
    return PLACEHOLDER.sub(lambda m: substitutions[m.group(1)], text)
