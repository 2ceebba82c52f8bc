"""The one policy for labels, applied wherever a label enters: the ingest, ``bulkqa analyze``, the reports.

A label is NFC-normalised (two spellings of "Café" are one class) and trimmed of the spaces around it.
A label that still contains a character that is invisible or breaks a line is refused, with a reason that
names the code point: control characters (C0 and C1, tab, CR, LF, U+0085 included), format characters
(zero-width characters, bidirectional controls such as U+202E, the BOM, the soft hyphen) and the line and
paragraph separators U+2028 and U+2029. Such a label cannot be shown to a reviewer as what it is, and some
of them split JSON Lines or spreadsheet rows.
"""

from __future__ import annotations

import unicodedata

#: Unicode general categories refused anywhere in a label.
_REFUSED = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def code_point(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: a character named so that people can find it."""
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def refused_character(text: str) -> str | None:
    """Why ``text`` may not be a label (the first refused character, named), or None."""
    if text.isascii() and text.isprintable():  # the common case: no lookup per character
        return None
    for position, ch in enumerate(text, start=1):
        kind = _REFUSED.get(unicodedata.category(ch))
        if kind:
            return f"label contains {code_point(ch)} ({kind}) at character {position}; remove it"
    return None


def _strip_spaces(text: str) -> str:
    """``text`` without the spaces (category Zs) around it; a tab or a line break is not trimmed but refused."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]) == "Zs":
        start += 1
    while end > start and unicodedata.category(text[end - 1]) == "Zs":
        end -= 1
    return text[start:end]


def normalise_label(raw: str) -> str:
    """The label as stored and reported, or ValueError saying why it is refused."""
    if raw.isascii():  # the common case: ASCII is NFC already and its only space character is " "
        label = raw.strip(" ")
        if label and label.isprintable():
            return label
    else:
        label = _strip_spaces(unicodedata.normalize("NFC", raw))
    reason = refused_character(label)
    if reason:
        raise ValueError(reason)
    if not label:
        raise ValueError("label is empty")
    return label
