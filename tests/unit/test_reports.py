"""The report files: contents, spreadsheet and markup safety, streaming, atomicity, determinism."""

from __future__ import annotations

import csv
import html
import io
import json
import pathlib
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from bulkqa.analysis import AnalysisOptions, RowCounts, Verdict
from bulkqa.escaping import visible
from bulkqa.reports import REPORT_FILES, csv_safe, md_escape, render_html, render_markdown, write_reports
from tests.support.report_cases import export_verdicts

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "analysis"
OPTS80 = AnalysisOptions(min_confidence=80)

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ x }}",
    "{% raw %}",
    "a|b",
    '=HYPERLINK("http://evil")',
    "+1",
    "-1+2",
    "@SUM(A1)",
    "\tTab",
    "\rCR",
    "*bold* _it_ [link](x) `code` # h",
]


def blog_verdicts() -> Iterator[Verdict]:
    return export_verdicts("shellfish-blog-verdicts.csv")


def hostile_verdicts() -> Iterator[Verdict]:
    for n, label in enumerate(HOSTILE):
        yield Verdict(f"{label}.jpg", label, 90.0 + n / 10, 1, 0)
        yield Verdict(f"=cmd|' /C calc'!A0 {n}", label, 96.0, 0, 1, {label: "reject"})
        yield Verdict(f"split{n}", label, 97.0, 1, 1)


def read_csv(path: pathlib.Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


# ---------------------------------------------------------------- csv_safe / md_escape


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Crab", "Crab"),
        ("", ""),
        ("a=b", "a=b"),
        ("s3://bucket/x.jpg", "s3://bucket/x.jpg"),
        ("\uff1d1+2", "'\uff1d1+2"),  # full-width = + - @: spreadsheets read them as formula starts too
        ("\uff0b1", "'\uff0b1"),
        ("\uff0d1", "'\uff0d1"),
        ("\uff20SUM(A1)", "'\uff20SUM(A1)"),
        ("a\uff1db", "a\uff1db"),
    ],
)
def test_csv_safe(value: str, expected: str) -> None:
    assert csv_safe(value) == expected


def test_md_escape() -> None:
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("<script>") == "\\<script\\>"
    assert md_escape("{{ x }}") == "\\{\\{ x \\}\\}"
    assert md_escape("line\nbreak") == "line break"
    assert md_escape("Sea Turtle") == "Sea Turtle"


# ---------------------------------------------------------------- the files


def test_writes_every_file_and_returns_report_json(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "new" / "dir"
    report = write_reports(blog_verdicts(), None, OPTS80, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)
    assert json.loads((out / "report.json").read_text(encoding="utf-8")) == report


def test_report_csv_is_the_blog_table(tmp_path: pathlib.Path) -> None:
    write_reports(blog_verdicts(), None, OPTS80, tmp_path)
    table = read_csv(tmp_path / "report.csv")
    assert table[0][:12] == [
        "Label",
        "Total",
        "Confirmed",
        "Disconfirmed",
        "Split",
        "% Correct",
        "80-85 Total",
        "80-85 Incorrect",
        "80-85 % Correct",
        "85-90 Total",
        "85-90 Incorrect",
        "85-90 % Correct",
    ]
    rows = {r[0]: r for r in table[1:]}
    assert [r[0] for r in table[1:]] == [
        "Crab",
        "Crawdad",
        "Lobster",
        "Scorpion",
        "Shrimp",
        "TOTALS",
        "Class Average",
    ]
    # the blog post's rows (seed lines 233-240), empty cells n/a instead of 0.00 %
    assert rows["Crawdad"][:18] == [
        "Crawdad",
        "68",
        "16",
        "32",
        "20",
        "23.53",
        "1",
        "0",
        "100.00",
        "10",
        "8",
        "20.00",
        "10",
        "8",
        "20.00",
        "47",
        "36",
        "23.40",
    ]
    assert rows["Shrimp"][:18] == [
        "Shrimp",
        "2",
        "0",
        "1",
        "1",
        "0.00",
        "0",
        "0",
        "n/a",
        "1",
        "1",
        "0.00",
        "0",
        "0",
        "n/a",
        "1",
        "1",
        "0.00",
    ]
    assert rows["TOTALS"][:18] == [
        "TOTALS",
        "245",
        "173",
        "47",
        "25",
        "70.61",
        "17",
        "7",
        "58.82",
        "34",
        "15",
        "55.88",
        "59",
        "11",
        "81.36",
        "135",
        "39",
        "71.11",
    ]
    average = rows["Class Average"]
    assert [average[i] for i in (5, 8, 11, 14, 17)] == ["58.50", "65.62", "49.33", "73.18", "63.25"]
    assert all(len(r) == len(table[0]) for r in table)
    assert rows["Crab"][-2:] == ["80", "80"]  # thresholds


def test_csv_files_neutralise_formulas(tmp_path: pathlib.Path) -> None:
    write_reports(hostile_verdicts(), None, OPTS80, tmp_path)
    for name in ("report.csv", "disconfirmed.csv"):
        for row in read_csv(tmp_path / name):
            for cell in row:
                assert not cell or cell[0] not in "=+-@\t\r", (name, cell)
    labels = [r[0] for r in read_csv(tmp_path / "report.csv")[1:-2]]
    assert '\'=HYPERLINK("http://evil")' in labels
    assert "'+1" in labels and "'-1+2" in labels and "'@SUM(A1)" in labels and "\\x09Tab" in labels
    dis = read_csv(tmp_path / "disconfirmed.csv")
    assert dis[0] == ["image", "label", "confidence", "verdict", "confirms", "rejects"]
    assert ["'=cmd|' /C calc'!A0 5", '\'=HYPERLINK("http://evil")', "96.0", "disconfirmed", "0", "1"] in dis


def test_item_level_files(tmp_path: pathlib.Path) -> None:
    verdicts = [
        Verdict("a.jpg", "A", 90.5, 2, 0, {"r2": "confirm", "r1": "confirm"}),
        Verdict("b.jpg", "A", 91.0, 0, 1),
        Verdict("c.jpg", "B", 92.0, 1, 1),
        Verdict("d.jpg", "B", 93.0, 0, 0),  # unreviewed: in neither file
        Verdict("e.jpg", "B", 50.0, 0, 1),  # below the minimum: in neither file
        Verdict('q"uote\\.jpg', "Ü", 94.0, 1, 0),
    ]
    write_reports(verdicts, None, OPTS80, tmp_path)
    lines = (tmp_path / "corrected-labels.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    assert items == [
        {
            "image": "a.jpg",
            "label": "A",
            "confidence": 90.5,
            "verdict": "confirmed",
            "confirms": 2,
            "rejects": 0,
            "reviewers": {"r1": "confirm", "r2": "confirm"},
        },
        {
            "image": "b.jpg",
            "label": "A",
            "confidence": 91.0,
            "verdict": "disconfirmed",
            "confirms": 0,
            "rejects": 1,
        },
        {"image": "c.jpg", "label": "B", "confidence": 92.0, "verdict": "split", "confirms": 1, "rejects": 1},
        {
            "image": 'q"uote\\.jpg',
            "label": "Ü",
            "confidence": 94.0,
            "verdict": "confirmed",
            "confirms": 1,
            "rejects": 0,
        },
    ]
    assert read_csv(tmp_path / "disconfirmed.csv")[1:] == [
        ["b.jpg", "A", "91.0", "disconfirmed", "0", "1"],
        ["c.jpg", "B", "92.0", "split", "1", "1"],
    ]


def test_jsonl_lines_are_what_json_dumps_writes(tmp_path: pathlib.Path) -> None:
    """The item-level writer assembles each line itself (for speed): the bytes must be json.dumps'."""
    verdicts = [
        *hostile_verdicts(),
        Verdict('q"uote\\ Ü \u2028 \x00.jpg', "Ü\n\t", 94.123456789012, 2, 1, {"z": "confirm", "a": "reject"}),
        Verdict("e.jpg", "E", 100.0, 0, 3),
    ]
    write_reports(verdicts, None, OPTS80, tmp_path)
    lines = (tmp_path / "corrected-labels.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(verdicts)
    for line in lines:
        assert line == json.dumps(json.loads(line))


def test_no_template_engine_at_import_time() -> None:
    """Jinja2 is imported when a page is rendered, not when a handler or the reports package is imported."""
    root = pathlib.Path(__file__).resolve().parents[2]
    code = (
        "import sys, analyze_results.app, bulkqa.reports, bulkqa.analysis; "
        "assert not {'jinja2', 'markupsafe'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=root / "functions", check=True)


def test_reports_are_deterministic(tmp_path: pathlib.Path) -> None:
    first = write_reports(blog_verdicts(), None, OPTS80, tmp_path / "a")
    second = write_reports(reversed(list(blog_verdicts())), None, OPTS80, tmp_path / "b")
    assert first == second
    for name in ("report.json", "report.csv", "report.md", "report.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_failure_midway_leaves_no_files(tmp_path: pathlib.Path) -> None:
    def broken() -> Iterator[Verdict]:
        yield Verdict("a", "A", 90, 1, 0)
        raise ValueError("line 3: bad row")

    with pytest.raises(ValueError, match="line 3"):
        write_reports(broken(), None, OPTS80, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_streams_a_generator_once(tmp_path: pathlib.Path) -> None:
    seen = 0

    def generate() -> Iterator[Verdict]:
        nonlocal seen
        for i in range(5000):
            seen += 1
            yield Verdict(f"i{i}", f"L{i % 7}", 80 + (i % 200) / 10, i % 3 != 0, i % 5 == 0)

    report = write_reports(generate(), None, OPTS80, tmp_path)
    assert seen == 5000 and report["rows"]["total"] == 5000
    assert (
        len((tmp_path / "corrected-labels.jsonl").read_text(encoding="utf-8").splitlines()) == report["totals"]["total"]
    )


def test_rows_given_and_partial_banner(tmp_path: pathlib.Path) -> None:
    rows = RowCounts(total=12, accepted=3, rejected=8, below_min_confidence=1)
    report = write_reports([Verdict("a", "A", 90, 1, 0)], rows, OPTS80, tmp_path, partial=True, title="Run 7")
    assert report["partial"] is True and report["rows"]["rejected"] == 8
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Partial results" in page and "12 = 3 accepted + 8 rejected + 1 below" in page
    assert "<title>Run 7</title>" in page
    assert "Partial results" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Partial results" not in render_html(dict(report, partial=False))


# ---------------------------------------------------------------- markup safety


def test_html_escapes_every_label(tmp_path: pathlib.Path) -> None:
    write_reports(hostile_verdicts(), None, OPTS80, tmp_path, title="<script>alert(2)</script>")
    page = (tmp_path / "report.html").read_bytes().decode("utf-8")
    lowered = page.lower()
    assert "<script" not in lowered
    assert "<img" not in lowered
    for label in HOSTILE:
        assert html.escape(visible(label), quote=True) in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_html_is_self_contained(tmp_path: pathlib.Path) -> None:
    write_reports(blog_verdicts(), None, OPTS80, tmp_path)
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"\b(src|href)\s*=", page, re.I)
    assert not re.search(r"url\((?!#)", page)  # only url(#pattern) references inside the page
    assert "@import" not in page and "<link" not in page and "<script" not in page
    assert "http://" not in page and "https://" not in page
    for needed in ("<svg", "reliability", "Wilson", "Fleiss", "n/a", "counted empty cells as 0 %"):
        assert needed in page


def test_markdown_escapes_labels_and_keeps_tables_rectangular(tmp_path: pathlib.Path) -> None:
    report = write_reports(hostile_verdicts(), None, OPTS80, tmp_path)
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert text == render_markdown(report)
    assert "<script>" not in text and "\\<script\\>" in text
    assert "a\\|b" in text and "\\{\\{ x \\}\\}" in text and "\\{% raw %\\}" in text
    for block in re.split(r"\n\n", text):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if not rows:
            continue
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
        assert len(widths) == 1, block
    for name in ("Wilson", "Fleiss", "ECE", "counted empty cells as 0 %"):
        assert name in text


def test_csv_report_renders_with_csv_module_roundtrip(tmp_path: pathlib.Path) -> None:
    write_reports(hostile_verdicts(), None, OPTS80, tmp_path)
    raw = (tmp_path / "report.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    assert len({len(r) for r in rows}) == 1
