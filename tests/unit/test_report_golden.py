"""The report files are the same as before the reports package: byte for byte, and the page by its text
and charts. The golden files were written by the pre-package code (tests/support/report_cases.py)."""

from __future__ import annotations

import pathlib
import re
from html.parser import HTMLParser

import pytest

from bulkqa.reports import REPORT_FILES, write_reports
from tests.support.report_cases import BYTE_IDENTICAL, CASES, GOLDEN, Case

#: SVG attributes that draw something: geometry, paint and the tooltips (<title>) are compared.
_DRAWN = (
    "x",
    "y",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "r",
    "width",
    "height",
    "d",
    "points",
    "fill",
    "stroke",
    "stroke-dasharray",
    "transform",
    "text-anchor",
    "viewbox",
    "opacity",
    "fill-opacity",
)


class _Page(HTMLParser):
    """A page reduced to what a person sees: its text in order and every SVG element it draws."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.svg: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        self._skip = 0
        self._in_svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        if tag == "svg":
            self._in_svg += 1
        if self._in_svg:
            drawn = tuple(sorted((k, re.sub(r"\s+", " ", v or "").strip()) for k, v in attrs if k in _DRAWN))
            self.svg.append((tag, drawn))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        if tag == "svg":
            self._in_svg -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.extend(data.split())


def _page(path: pathlib.Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


@pytest.fixture(scope="module", params=CASES, ids=[case.name for case in CASES])
def written(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Case, pathlib.Path]:
    case: Case = request.param
    out = tmp_path_factory.mktemp(case.name)
    write_reports(case.verdicts(), case.rows, case.options, out, partial=case.partial, title=case.title)
    return case, out


def test_every_report_file_is_compared(written: tuple[Case, pathlib.Path]) -> None:
    case, out = written
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)
    assert sorted(p.name for p in (GOLDEN / case.name).iterdir()) == sorted(REPORT_FILES)
    assert set(BYTE_IDENTICAL) | {"report.html"} == set(REPORT_FILES)


@pytest.mark.parametrize("name", BYTE_IDENTICAL)
def test_files_are_byte_identical(written: tuple[Case, pathlib.Path], name: str) -> None:
    case, out = written
    assert (out / name).read_bytes() == (GOLDEN / case.name / name).read_bytes()


def test_page_shows_the_same_text(written: tuple[Case, pathlib.Path]) -> None:
    case, out = written
    assert _page(out / "report.html").text == _page(GOLDEN / case.name / "report.html").text


def test_page_draws_the_same_charts(written: tuple[Case, pathlib.Path]) -> None:
    case, out = written
    new, old = _page(out / "report.html").svg, _page(GOLDEN / case.name / "report.html").svg
    assert len(old) > 50  # the heatmap, the reliability diagram, the thresholds, the row accounting
    assert new == old
