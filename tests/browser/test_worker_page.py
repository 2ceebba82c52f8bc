"""The reviewer's page in a real headless Chromium: what a reviewer does, and what GT would receive.

The page and the reviewer driving it are tests/support/browser.py's :class:`Reviewer`: the template
rendered as Ground Truth would, with a local stand-in for AWS's crowd-html-elements.js.

A screenshot at 1440x900 is written to tests/artifacts/worker-page.png (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bulkqa import consolidation
from tests.support.batches import make_batch
from tests.support.browser import REPO, Reviewer

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture
def reviewer(browser: Any) -> Iterator[Reviewer]:
    r = Reviewer(browser, make_batch(25))
    yield r
    r.close()


# --- tests -------------------------------------------------------------------------------------


def test_page_loads_clean_every_box_checked_counter_at_zero(reviewer: Reviewer) -> None:
    page = reviewer.page
    assert reviewer.errors == []
    assert reviewer.checked() == [True] * 25
    assert reviewer.counter("0 of 25 marked wrong") == "0 of 25 marked wrong"
    assert page.locator("[data-qa-label]").inner_text() == "Sea Turtle"
    assert page.locator("h1").inner_text() == "Confirm that each image is correctly labelled as Sea Turtle"
    assert all(u.startswith("https://bkt.s3.amazonaws.com/images/") for u in reviewer.requests)
    assert len(reviewer.requests) == 25


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (1366, 768)])
def test_25_images_fit_the_width_of_a_laptop_screen(browser: Any, width: int, height: int) -> None:
    r = Reviewer(browser, make_batch(25), width, height)
    try:
        assert r.page.evaluate("document.documentElement.scrollWidth") <= width
        # At least 6 tiles per row, so 25 images take at most 5 rows.
        tops = r.page.eval_on_selector_all(
            "[data-tile]", "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
        )
        assert len(set(tops)) <= 5
        first_row = [t for t in tops if t == tops[0]]
        assert len(first_row) >= 6
        # Every tile is at least 150 px wide: images stay readable.
        widths = r.page.eval_on_selector_all("[data-tile]", "els => els.map(e => e.getBoundingClientRect().width)")
        assert min(widths) >= 150
    finally:
        r.close()


def test_100_images_render_without_errors(browser: Any) -> None:
    r = Reviewer(browser, make_batch(100))
    try:
        assert r.errors == []
        assert r.counter("0 of 100 marked wrong") == "0 of 100 marked wrong"
        assert r.page.evaluate("document.documentElement.scrollWidth") <= 1440
    finally:
        r.close()


def test_unchecked_tiles_are_marked_and_counted_live(reviewer: Reviewer) -> None:
    page = reviewer.page
    reviewer.box(2).click()
    assert reviewer.counter("1 of 25 marked wrong") == "1 of 25 marked wrong"
    tile = page.locator("[data-tile]").nth(2)
    assert "is-wrong" in (tile.get_attribute("class") or "")
    assert page.locator(".bq-tile.is-wrong .bq-badge").first.is_visible()
    page.wait_for_function(  # red border (after its short transition)
        "e => getComputedStyle(e).borderTopColor === 'rgb(220, 38, 38)'",
        arg=tile.element_handle(),
        timeout=2000,
    )
    reviewer.box(9).click()
    reviewer.box(20).click()
    assert reviewer.counter("3 of 25 marked wrong") == "3 of 25 marked wrong"
    reviewer.box(9).click()  # re-checked
    assert reviewer.counter("2 of 25 marked wrong") == "2 of 25 marked wrong"
    assert page.locator(".bq-tile.is-wrong").count() == 2
    assert reviewer.errors == []


def test_click_image_enlarges_and_escape_closes(reviewer: Reviewer) -> None:
    page = reviewer.page
    assert not reviewer.lightbox_open()
    page.locator("img[data-zoom]").nth(4).click()
    assert reviewer.lightbox_open()
    big = page.locator(".bq-lb img")
    assert big.get_attribute("src") == page.locator("img[data-zoom]").nth(4).get_attribute("src")
    box = big.bounding_box()
    assert box is not None and box["width"] > 400  # really enlarged (the tile is ~190 px)
    assert page.locator(".bq-lb-pos").inner_text() == "Image 5 of 25"
    page.keyboard.press("ArrowRight")
    assert page.locator(".bq-lb-pos").inner_text() == "Image 6 of 25"
    page.keyboard.press("Escape")
    assert not reviewer.lightbox_open()
    assert page.evaluate("document.documentElement.style.overflow") == ""
    # Focus returns to the box of the image last shown.
    assert page.evaluate("document.activeElement.getAttribute('name')") == f"image-{reviewer.batch.ids[5]}"
    assert reviewer.errors == []


def test_marking_wrong_from_the_enlarged_view(reviewer: Reviewer) -> None:
    page = reviewer.page
    page.locator("img[data-zoom]").nth(0).click()
    page.locator(".bq-lb-toggle").click()
    assert page.locator(".bq-lb-state").inner_text() == "Marked wrong"
    assert reviewer.counter("1 of 25 marked wrong") == "1 of 25 marked wrong"
    page.keyboard.press("Escape")
    assert reviewer.checked()[0] is False


def test_keyboard_tab_space_and_visible_focus(reviewer: Reviewer) -> None:
    page = reviewer.page
    ids = reviewer.batch.ids
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('name')") == f"image-{ids[0]}"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('name')") == f"image-{ids[1]}"
    tile = page.locator("[data-tile]").nth(1)
    assert tile.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"  # the focus ring
    assert page.locator("[data-tile]").nth(0).evaluate("e => getComputedStyle(e).outlineStyle") == "none"
    scroll_before = page.evaluate("window.scrollY")
    page.keyboard.press("Space")
    assert reviewer.checked()[1] is False
    assert reviewer.counter("1 of 25 marked wrong") == "1 of 25 marked wrong"
    assert page.evaluate("window.scrollY") == scroll_before  # Space toggled, did not scroll
    page.keyboard.press("Space")
    assert reviewer.checked()[1] is True
    page.keyboard.press("z")
    assert reviewer.lightbox_open()
    assert page.locator(".bq-lb-pos").inner_text() == "Image 2 of 25"
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.getAttribute('name')") == f"image-{ids[1]}"
    assert reviewer.errors == []


def test_submit_sends_exactly_the_two_unchecked_images_as_wrong(reviewer: Reviewer) -> None:
    page = reviewer.page
    batch = reviewer.batch
    wrong = {batch.ids[3], batch.ids[17]}
    page.evaluate("document.addEventListener('crowd-submit', e => { window.__event = e.detail; })")
    reviewer.box(3).click()
    reviewer.box(17).click()
    assert reviewer.counter("2 of 25 marked wrong") == "2 of 25 marked wrong"

    _screenshot(reviewer, extra_wrong=(11,))  # 3 red tiles in the picture
    reviewer.box(11).click()  # undo the screenshot's extra mark
    assert reviewer.counter("2 of 25 marked wrong") == "2 of 25 marked wrong"

    page.locator('crowd-button[form-action="submit"]').click()
    page.wait_for_function("window.__crowdAnswer !== undefined")
    answer = page.evaluate("window.__crowdAnswer")
    assert page.evaluate("window.__event") == answer
    assert len(answer) == 25
    assert all(set(v) == {"correct"} for v in answer.values())

    verdicts = consolidation.verdicts_from_answer(answer, batch.ref)
    assert {i for i, ok in verdicts.items() if not ok} == wrong
    assert verdicts == {i: i not in wrong for i in batch.ids}
    assert page.locator('crowd-button[form-action="submit"]').count() == 1  # no second button appended
    assert reviewer.errors == []


def _screenshot(reviewer: Reviewer, extra_wrong: tuple[int, ...]) -> None:
    for n in extra_wrong:
        reviewer.box(n).click()
    page = reviewer.page
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    page.wait_for_timeout(300)  # let the tiles' colour transitions finish
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "worker-page.png"))
    page.locator("img[data-zoom]").nth(11).click()
    page.wait_for_timeout(100)
    page.screenshot(path=str(ARTIFACTS / "worker-page-enlarged.png"))
    page.keyboard.press("Escape")


@pytest.mark.parametrize(
    "label",
    [
        '<img src=x onerror="window.__xss=1">',
        "<script>window.__xss=2</script>",
        '"><svg onload="window.__xss=3">',
        "{{ 7*7 }} {% if true %}x{% endif %}",
    ],
)
def test_hostile_label_is_shown_as_text_and_never_runs(browser: Any, label: str) -> None:
    r = Reviewer(browser, make_batch(25, label))
    try:
        r.page.wait_for_timeout(150)
        assert r.page.evaluate("window.__xss") is None
        assert r.page.locator("[data-qa-label]").inner_text() == label
        assert r.page.locator("[data-qa-label] *").count() == 0
        r.page.locator("img[data-zoom]").first.click()  # the enlarged view repeats the label
        assert r.page.locator(".bq-lb-label b").inner_text() == label
        r.page.keyboard.press("Escape")
        assert r.page.locator("img").count() == 25 + 1  # the tiles + the (closed) enlarged view
        assert r.errors == []
    finally:
        r.close()
