"""JSON Lines, written and read the one safe way.

``json.dumps(..., ensure_ascii=False)`` leaves U+2028, U+2029 and U+0085 as they are: valid JSON, but
``str.splitlines()`` and many JSON Lines readers break a line on them, so one odd label could split a
manifest line in two and fail a whole labeling job. Every JSON Lines file the stack writes goes through
:func:`dumps_line` (those characters escaped as ``\\u2028``...), and every reader splits on ``\\n`` only
(:func:`split_lines`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

_LINE_BREAKERS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\u0085": "\\u0085"}


def escape_line_breakers(text: str) -> str:
    """JSON text with U+2028, U+2029 and U+0085 escaped (the same JSON value, one physical line)."""
    if text.isascii():
        return text
    for ch, escaped in _LINE_BREAKERS.items():
        if ch in text:
            text = text.replace(ch, escaped)
    return text


def dumps_line(value: object, *, default: Callable[[object], object] | None = None) -> str:
    """One JSON Lines record, without its trailing ``\\n``: UTF-8 kept readable, line breakers escaped.

    ``default`` is ``json.dumps``'s: what to write for a value JSON has no form for (logs: ``str``).
    """
    return escape_line_breakers(json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=default))


def split_lines(text: str) -> Iterator[str]:
    """The non-empty records of a JSON Lines text, split on ``\\n`` only (never on U+2028 and the like)."""
    for line in text.split("\n"):
        if line.strip():
            yield line
