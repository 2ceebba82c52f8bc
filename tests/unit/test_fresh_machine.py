"""`make test` on a fresh machine (#12): it installs what the tests need, and under CI=true no browser test
can pass by skipping (a machine without Chromium once passed `make test` with every browser test skipped)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import browser

ROOT = Path(__file__).resolve().parents[2]
MISSING = Path("/nonexistent/chromium")


def _target(name: str) -> tuple[list[str], str]:
    """A Makefile target's prerequisites and recipe."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(name)}:(?P<prereqs>[^\n]*)\n(?P<recipe>(?:\t[^\n]*\n)*)", text, re.M)
    assert match, f"the Makefile has no {name!r} target"
    return match["prereqs"].split(), match["recipe"]


def test_make_test_installs_chromium_before_the_tests() -> None:
    prereqs, _ = _target("test")
    assert "chromium" in prereqs and "node_modules/.installed" in prereqs
    assert prereqs.index("chromium") < prereqs.index("unit")
    _, recipe = _target("chromium")
    assert "apt-get update" in recipe and "apt-get install -y" in recipe and " chromium " in recipe
    assert 'id -u)" = 0' in recipe  # installs only as root ...
    assert "exit 1" in recipe and "sudo apt-get install -y chromium" in recipe  # ... else says what to install
    assert "chromium" in _target("browser")[0]


def test_ci_run_leaves_the_installing_to_make_test_and_sets_ci() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, re.M)
    assert 'export CI="${CI:-true}"' in script


def test_without_chromium_a_browser_test_skips_on_a_developer_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        browser.sync_api(MISSING)


def test_under_ci_the_browser_fixture_fails_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(browser, "CHROMIUM", MISSING)
    with pytest.raises(pytest.fail.Exception, match=r"CI=true: browser tests must run, not skip: .*apt-get install"):
        request.getfixturevalue("browser")


def test_under_ci_the_pytest_summary_shows_failures_not_skips() -> None:
    """Both ways browser tests start Chromium (the fixture, and test_report_html's own launch), run by pytest
    as CI would on a machine without Chromium: failed or errored, none skipped; without CI: skipped."""
    tests = [
        "tests/browser/test_worker_page.py::test_100_images_render_without_errors",
        "tests/browser/test_report_html.py::test_realistic_report_renders_cleanly",
    ]
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *tests]
    env = {**os.environ, "BULKQA_TEST_CHROMIUM": str(MISSING)}
    ci = subprocess.run(command, cwd=ROOT, env={**env, "CI": "true"}, capture_output=True, text=True, timeout=300)
    summary = ci.stdout.strip().splitlines()[-1]
    assert ci.returncode == 1, ci.stdout
    assert "skipped" not in summary and re.search(r"\b2 (failed|errors?)|1 failed, 1 error", summary), summary
    assert "CI=true: browser tests must run, not skip" in ci.stdout
    local = subprocess.run(
        command, cwd=ROOT, env={k: v for k, v in env.items() if k != "CI"}, capture_output=True, text=True, timeout=300
    )
    assert local.returncode == 0 and "2 skipped" in local.stdout.strip().splitlines()[-1], local.stdout
