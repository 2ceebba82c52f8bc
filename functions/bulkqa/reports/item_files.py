"""The item-level files, written while the verdicts stream into the analysis.

- ``corrected-labels.jsonl``: one JSON object per reviewed item;
- ``disconfirmed.csv``: the disconfirmed and split items, cells through :func:`visible` and :func:`csv_safe`.

No raw control byte reaches either file: the JSON strings are ASCII-only (``ensure_ascii``), so control
characters and the line breakers U+2028, U+2029 and U+0085 are ``\\u`` escapes and each line is one
physical line for every JSON Lines reader (as :func:`bulkqa.jsonl.dumps_line` guarantees for the stack's
other JSON Lines files); the CSV shows control bytes as ``\\x00``-style escapes.

Each JSONL line is exactly the text ``json.dumps`` gives for the object (default separators,
``ensure_ascii``, floats as ``repr``): the strings go through ``json``'s own encoder
(``encode_basestring_ascii``, what ``json.dumps`` calls for them) and the numbers through ``repr``/``int``,
as ``json.dumps`` writes them. Building a dict and calling ``json.dumps`` per line instead gives the same
bytes but costs 3.1 µs a line against 0.8 µs (Python 3.11): about 2 s more per million reviewed items,
a third of bench/bench_analysis.py's write_reports time. tests/unit/test_reports.py checks that every
line equals ``json.dumps`` of itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring_ascii
from typing import IO

from ..analysis import Verdict
from ..escaping import csv_safe, visible
from ..verdict import CONFIRMED, classify

#: The header line of disconfirmed.csv.
DISCONFIRMED_HEADER = ("image", "label", "confidence", "verdict", "confirms", "rejects")


def tap(
    verdicts: Iterable[Verdict],
    minimum: float,
    jsonl: IO[str],
    disconfirmed_row: Callable[[tuple[str, str, str, str, int, int]], object],
) -> Iterator[Verdict]:
    """Pass the verdicts on, writing each reviewed item to the item-level files on the way.

    ``disconfirmed_row`` is the ``writerow`` of a ``csv.writer`` on disconfirmed.csv.
    """
    enc = encode_basestring_ascii
    dumps = json.dumps
    write_line = jsonl.write
    for v in verdicts:
        conf = v.confidence
        if conf >= minimum:
            verdict = classify(v.confirms, v.rejects)
            if verdict is not None:
                conf_text = repr(float(conf))
                tail = ""
                if v.reviewers:
                    tail = ', "reviewers": ' + dumps(dict(sorted(v.reviewers.items())))
                write_line(
                    f'{{"image": {enc(v.image)}, "label": {enc(v.label)}, "confidence": {conf_text}, '
                    f'"verdict": "{verdict}", "confirms": {int(v.confirms)}, "rejects": {int(v.rejects)}'
                    f"{tail}}}\n"
                )
                if verdict is not CONFIRMED:
                    disconfirmed_row(
                        (
                            csv_safe(visible(v.image)),
                            csv_safe(visible(v.label)),
                            conf_text,
                            verdict,
                            int(v.confirms),
                            int(v.rejects),
                        )
                    )
        yield v
