"""Neutralise text that comes from the data (labels, image names) for the medium it is written to.

Spreadsheets: :func:`csv_safe`. Markdown: :func:`md_escape`. HTML is escaped by the report templates.
"""

from __future__ import annotations

_CSV_ACTIVE = ("=", "+", "-", "@", "\t", "\r", "\n")
_MD_ACTIVE = set("\\`*_{}[]<>#|~&$")


def csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ tab CR or LF gets a leading '."""
    if value and value[0] in _CSV_ACTIVE:
        return "'" + value
    return value


def md_escape(value: str) -> str:
    """Text safe inside a Markdown table cell: line breaks flattened, markup characters escaped."""
    flat = " ".join(value.splitlines()) if value else ""
    return "".join("\\" + ch if ch in _MD_ACTIVE else ch for ch in flat.replace("\t", " "))
