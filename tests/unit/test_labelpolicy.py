"""bulkqa.labelpolicy: the one policy for labels (NFC, spaces trimmed, invisible characters refused by code point)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulkqa import labelpolicy


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("Crab", "Crab"),
        ("  Crab  ", "Crab"),
        ("Sea turtle", "Sea turtle"),
        ("Cafe\u0301", "Caf\u00e9"),  # NFC: two spellings of "Café" are one class
        ("\u00a0Caf\u00e9\u3000", "Caf\u00e9"),  # no-break and ideographic spaces (category Zs) are trimmed
        ('12" vinyl', '12" vinyl'),
    ],
)
def test_normalise_label(raw: str, label: str) -> None:
    assert labelpolicy.normalise_label(raw) == label


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("Crab\n", "U+000A"),
        ("\tCrab", "U+0009"),  # a tab is refused, not trimmed
        ("Cr\rab", "U+000D"),
        ("Crab\x7f", "U+007F"),
        ("Crab\x00", "U+0000"),
        ("Crab\u0085", "U+0085"),
        ("Crab\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("Cr\u200dab", "U+200D ZERO WIDTH JOINER"),
        ("\ufeffCrab", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("Cr\u00adab", "U+00AD SOFT HYPHEN"),
        ("Crab\u2028", "U+2028 LINE SEPARATOR"),
        ("Crab\u2029", "U+2029 PARAGRAPH SEPARATOR"),
    ],
)
def test_refused_characters_are_named_by_code_point(raw: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"label contains {named} ")):
        labelpolicy.normalise_label(raw)


@pytest.mark.parametrize("raw", ["", "   ", "\u00a0\u2003"])
def test_an_empty_label_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="label is empty"):
        labelpolicy.normalise_label(raw)


@given(st.text(max_size=12))
def test_the_ascii_fast_path_agrees_with_the_general_rule(raw: str) -> None:
    """Whatever the text, the result is NFC, trimmed of Zs, free of refused characters, or refused."""
    try:
        label = labelpolicy.normalise_label(raw)
    except ValueError:
        general = unicodedata.normalize("NFC", raw)
        stripped = labelpolicy._strip_spaces(general)
        assert not stripped or labelpolicy.refused_character(stripped)
        return
    assert label == labelpolicy._strip_spaces(unicodedata.normalize("NFC", raw))
    assert labelpolicy.refused_character(label) is None
    assert label
