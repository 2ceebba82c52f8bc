"""report.html in headless Chromium: self-contained, no console errors, charts present, labels inert."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from bulkqa.analysis import AnalysisOptions, Verdict
from bulkqa.reports import write_reports
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, sync_api
from tests.support.report_cases import export_verdicts

pytestmark = pytest.mark.browser

ARGS = CHROMIUM_ARGS
ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "analysis" / "shellfish-verdicts.csv"
ARTIFACTS = ROOT / "tests" / "artifacts"

HOSTILE = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    '"><img src=x onerror=window.__xss=3>',
    "{{ x }}",
    "{% raw %}",
]


def shellfish_verdicts() -> Iterator[Verdict]:
    """shellfish.csv with three simulated reviewers (tests/fixtures/analysis/make_verdicts.py)."""
    return export_verdicts("shellfish-verdicts.csv")


def hostile_verdicts() -> Iterator[Verdict]:
    for n, label in enumerate(HOSTILE):
        for k in range(6):
            yield Verdict(
                image=f'{label}/img{k}"<b>',
                label=label,
                confidence=81.0 + 3 * k + n * 0.1,
                confirms=1 if k % 3 else 0,
                rejects=1 if k % 2 else 0,
                reviewers={label: "confirm" if k % 3 else "reject"},
            )


def _open(html_path: pathlib.Path, screenshot: pathlib.Path | None = None) -> dict[str, Any]:
    api = sync_api()  # skipped without Chromium, failed instead under CI=true
    console: list[str] = []
    errors: list[str] = []
    requests: list[str] = []
    with api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(html_path.as_uri(), wait_until="load")
            page.wait_for_timeout(200)
            result = {
                "console": console,
                "errors": errors,
                "requests": requests,
                "svg_count": page.locator("svg").count(),
                "reliability": page.locator("svg.reliability").count(),
                "whiskers": page.locator("svg.whisker").count(),
                "xss": page.evaluate("() => typeof window.__xss"),
                "text": page.inner_text("body"),
                "scripts": page.locator("script").count(),
                "images": page.locator("img").count(),
                "scroll_width": page.evaluate("() => document.documentElement.scrollWidth"),
            }
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return result


def test_realistic_report_renders_cleanly(tmp_path: pathlib.Path) -> None:
    report = write_reports(
        shellfish_verdicts(),
        None,
        AnalysisOptions(min_confidence=80),
        tmp_path,
        title="shellfish.csv, 3 simulated reviewers",
    )
    assert report["totals"]["total"] > 200
    result = _open(tmp_path / "report.html", ARTIFACTS / "report.png")
    assert result["console"] == []
    assert result["errors"] == []
    assert result["requests"] == [(tmp_path / "report.html").as_uri()]
    assert result["reliability"] == 1 + len(report["classes"])
    assert result["whiskers"] == len(report["classes"]) + 1
    assert result["svg_count"] >= 5
    assert result["scripts"] == 0
    assert result["scroll_width"] <= 1280  # fits the viewport: no horizontal scrolling at 1280 px
    for label in ("Crab", "Crawdad", "Lobster", "Scorpion", "Shrimp", "TOTALS", "Class average"):
        assert label in result["text"]
    assert "Fleiss" in result["text"]
    assert "Wilson" in result["text"]


def test_hostile_labels_are_inert(tmp_path: pathlib.Path) -> None:
    write_reports(
        hostile_verdicts(), None, AnalysisOptions(min_confidence=80), tmp_path, partial=True, title=HOSTILE[0]
    )
    raw = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script" not in raw.lower()
    assert "<img" not in raw.lower()
    result = _open(tmp_path / "report.html", ARTIFACTS / "report-hostile.png")
    assert result["xss"] == "undefined"
    assert result["errors"] == []
    assert result["console"] == []
    assert result["requests"] == [(tmp_path / "report.html").as_uri()]
    assert result["images"] == 0
    assert result["scripts"] == 0
    for label in HOSTILE:
        assert label in result["text"]  # shown literally, as text
    assert "Partial results" in result["text"]
