"""Neutralise text that comes from the data (labels, image names) for the medium it is written to.

Spreadsheets: :func:`csv_safe`. Markdown: :func:`md_escape`. HTML is escaped by the report templates.
"""

from __future__ import annotations

#: What a spreadsheet reads as the start of a formula, full-width forms included (＝ ＋ － ＠).
_CSV_ACTIVE = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
#: The C0 control characters (tab and line breaks included), DEL and the C1 controls: shown escaped, never raw.
_INVISIBLE = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))}
_MD_ACTIVE = set("\\`*_{}[]<>#|~&$")


def visible(value: str) -> str:
    """``value`` with control bytes shown as ``\\x00``-style escapes, so no raw NUL reaches an output file."""
    if value.isprintable():
        return value
    return value.translate(_INVISIBLE)


def csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ tab CR or LF gets a leading '."""
    if value and value[0] in _CSV_ACTIVE:
        return "'" + value
    return value


def md_escape(value: str) -> str:
    """Text safe inside a Markdown table cell: line breaks flattened, markup characters escaped."""
    flat = " ".join(value.splitlines()) if value else ""
    return "".join("\\" + ch if ch in _MD_ACTIVE else ch for ch in flat.replace("\t", " "))
