"""No raw control byte in any report file; a class named like a summary row never looks like one (#17)."""

from __future__ import annotations

import csv
import html
import json
import pathlib
import re
from collections.abc import Iterator

from bulkqa.analysis import AnalysisOptions, Verdict
from bulkqa.reports import REPORT_FILES, write_reports
from bulkqa.reports.fmt import class_label

OPTS = AnalysisOptions(min_confidence=80)
#: Text that no label policy lets in today, but that an old export or the API can still carry.
ODD = ["nul\x00byte", "bell\x07", "esc\x1b[31mred", "del\x7f", "nel\x85", "c1\x9b", "ls\u2028ps\u2029", "tab\tcr\r"]
#: C0 and C1 controls and DEL; \n (and \r before \n in report.csv's CRLF) are the files' own line ends.
CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def odd_verdicts() -> Iterator[Verdict]:
    for n, text in enumerate(ODD):
        yield Verdict(f"img-{text}-{n}.jpg", text, 90.0 + n, 1, 0, {f"worker {text}": "confirm"})
        yield Verdict(f"bad-{text}-{n}.jpg", text, 95.0, 0, 1, {f"worker {text}": "reject"})
        yield Verdict(f"split-{text}-{n}.jpg", text, 97.0, 1, 1)


def test_no_raw_control_byte_reaches_any_report_file(tmp_path: pathlib.Path) -> None:
    write_reports(odd_verdicts(), None, OPTS, tmp_path, title="title\x00\x1b")
    for name in REPORT_FILES:
        text = (tmp_path / name).read_text(encoding="utf-8")
        found = CONTROL.search(text)
        assert found is None, f"{name}: raw {found[0]!r} at {found.start()}"
    # shown as escapes where people read them
    assert "nul\\\\x00byte" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert html.escape("esc\\x1b[31mred") in (tmp_path / "report.html").read_text(encoding="utf-8")
    rows = list(csv.reader((tmp_path / "disconfirmed.csv").open(newline="", encoding="utf-8")))
    assert ["bad-nul\\x00byte-0.jpg", "nul\\x00byte"] in [row[:2] for row in rows]


def test_json_files_keep_the_data_exact_and_one_record_per_line(tmp_path: pathlib.Path) -> None:
    write_reports(odd_verdicts(), None, OPTS, tmp_path)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert sorted(c["label"] for c in report["classes"]) == sorted(ODD)  # JSON escapes, the value stays exact
    text = (tmp_path / "corrected-labels.jsonl").read_text(encoding="utf-8")
    for breaker in ("\u2028", "\u2029", "\x85"):
        assert breaker not in text
    lines = text.split("\n")[:-1]
    assert text.splitlines() == lines  # no reader can split a record in two
    items = [json.loads(line) for line in lines]
    assert {item["label"] for item in items} == set(ODD)
    for line, item in zip(lines, items, strict=True):
        assert line == json.dumps(item)


def test_corrected_labels_of_ordinary_labels_are_unchanged(tmp_path: pathlib.Path) -> None:
    write_reports(iter([Verdict("a.jpg", "Café crème", 90.5, 1, 0)]), None, OPTS, tmp_path)
    assert (tmp_path / "corrected-labels.jsonl").read_text(encoding="utf-8") == (
        '{"image": "a.jpg", "label": "Caf\\u00e9 cr\\u00e8me", "confidence": 90.5, "verdict": "confirmed", '
        '"confirms": 1, "rejects": 0}\n'
    )


# --- a class named like a summary row ----------------------------------------------------------------------

SUMMARY_LIKE = ["TOTALS", "Totals", "Class average", "Class Average", '"TOTALS"', '""Class average""', "Crab"]


def summary_like_verdicts() -> Iterator[Verdict]:
    for n, label in enumerate(SUMMARY_LIKE):
        yield Verdict(f"{n}a.jpg", label, 90.0, 1, 0)
        yield Verdict(f"{n}b.jpg", label, 96.0, 0, 1)


def test_class_label_rule() -> None:
    assert class_label("TOTALS") == '"TOTALS"'
    assert class_label("class AVERAGE") == '"class AVERAGE"'
    assert class_label('"TOTALS"') == '""TOTALS""'  # one more pair: never the same as the label TOTALS
    assert class_label("Crab") == "Crab" and class_label('"Crab"') == '"Crab"'
    assert class_label("TOTALS 2") == "TOTALS 2"
    shown = {class_label(label) for label in SUMMARY_LIKE}
    assert len(shown) == len(SUMMARY_LIKE) and not shown & {"TOTALS", "Class Average", "Class average"}


def _first_cells(rows: list[list[str]]) -> list[str]:
    return [row[0] for row in rows]


def test_no_report_file_has_two_rows_that_look_alike(tmp_path: pathlib.Path) -> None:
    write_reports(summary_like_verdicts(), None, OPTS, tmp_path)
    table = list(csv.reader((tmp_path / "report.csv").open(newline="", encoding="utf-8")))
    names = _first_cells(table[1:])
    assert len(names) == len(set(names)) == len(SUMMARY_LIKE) + 2
    assert names[-2:] == ["TOTALS", "Class Average"]

    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    for block in re.findall(r"(?:^\| .*\n)+", markdown, re.M):
        cells = [line.split(" | ")[0].removeprefix("| ").replace("*", "") for line in block.splitlines()[1:]]
        cells = [c for c in cells if not c.startswith("|")]
        assert len(cells) == len(set(cells)), cells

    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    for table_html in re.findall(r"<table.*?</table>", page, re.S):
        labels = re.findall(r"<td class='lab'>(.*?)</td>", table_html)
        assert len(labels) == len(set(labels)), labels
    assert "<td class='lab'>&#34;TOTALS&#34;</td>" in page or "<td class='lab'>&quot;TOTALS&quot;</td>" in page
