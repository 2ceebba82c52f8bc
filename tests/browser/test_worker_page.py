"""The reviewer's page in a real headless Chromium: what a reviewer does, and what GT would receive.

The page is rendered exactly as in the unit tests (bulkqa_local.liquid_gt), then AWS's
crowd-html-elements.js <script src> is replaced by our stand-in, inlined: AWS's script cannot be
fetched offline, and the stand-in reproduces its documented output format
({"<name>": {"<value>": true|false}} for every crowd-checkbox) and sets window.__crowdAnswer on
submit. Image URLs (presigned https URLs) are routed to small generated PNGs.

A screenshot at 1440x900 is written to tests/artifacts/worker-page.png (git-ignored).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bulkqa import consolidation
from bulkqa_local import liquid_gt
from tests.support.batches import Batch, make_batch
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "local" / "bulkqa_local" / "static" / "crowd-html-elements-standin.js"
TEMPLATE = REPO / "functions" / "bulkqa" / "templates" / "worker_task.liquid.html"
ARTIFACTS = REPO / "tests" / "artifacts"
CROWD_TAG = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'


# --- tiny PNGs without PIL -------------------------------------------------------------------------


def _png(width: int, height: int, pixel: Any) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _photo(seed: int) -> bytes:
    """A 160x120 'photo': a soft two-colour gradient with a disc, colours chosen by ``seed``."""
    palette = [(56, 120, 180), (70, 150, 110), (190, 120, 60), (140, 90, 170), (60, 150, 160), (180, 80, 90)]
    base = palette[seed % len(palette)]
    accent = palette[(seed * 7 + 3) % len(palette)]
    cx, cy, r = 50 + (seed * 37) % 60, 45 + (seed * 23) % 30, 22 + seed % 12

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        if (x - cx) ** 2 + (y - cy) ** 2 < r * r:
            return accent
        t = (x + y) / 280
        return tuple(int(c * (0.55 + 0.45 * t) + 255 * 0.25 * (1 - t)) for c in base)  # type: ignore[return-value]

    return _png(160, 120, pixel)


_PHOTOS: dict[int, bytes] = {}


def _photo_for(url: str) -> bytes:
    seed = int(hashlib.sha256(url.split("?", 1)[0].encode()).hexdigest()[:6], 16) % 24
    if seed not in _PHOTOS:
        _PHOTOS[seed] = _photo(seed)
    return _PHOTOS[seed]


# --- the page --------------------------------------------------------------------------------------


def fake_presign(uri: str) -> str:
    key = uri.split("/", 3)[3]
    return f"https://bkt.s3.amazonaws.com/{key}?X-Amz-Expires=3600&X-Amz-Signature=abc123"


def page_html(batch: Batch) -> str:
    rendered = liquid_gt.render_worker_template(TEMPLATE.read_text("utf-8"), batch.task_input, fake_presign)
    assert rendered.count(CROWD_TAG) == 1
    # AWS's crowd-html-elements.js cannot be loaded offline: inline the local stand-in in its place.
    standin = STANDIN.read_text("utf-8")
    assert "</script" not in standin
    page = rendered.replace(CROWD_TAG, f"<script>\n{standin}\n</script>")
    # Ground Truth shows the template inside its own standards-mode page; do the same here.
    head = '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Task</title></head>'
    return f"{head}\n<body>\n{page}\n</body></html>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Reviewer:
    """A browser page showing one batch, plus what went wrong in its console."""

    def __init__(self, browser: Any, batch: Batch, width: int = 1440, height: int = 900) -> None:
        self.batch = batch
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        self.page.set_content(page_html(batch), wait_until="load")
        self.page.wait_for_function(
            "Array.from(document.querySelectorAll('img[data-zoom]')).every(i => i.complete && i.naturalWidth > 0)"
        )

    def _route(self, route: Any) -> None:
        url = route.request.url
        self.requests.append(url)
        if url.startswith("https://"):
            route.fulfill(status=200, content_type="image/png", body=_photo_for(url))
        else:
            route.abort()

    def box(self, n: int) -> Any:
        return self.page.locator(f'crowd-checkbox[name="image-{self.batch.ids[n]}"]')

    def counter(self, expect: str | None = None) -> str:
        """The live counter's text; with ``expect``, first wait (up to 2 s) until it shows that."""
        if expect is not None:
            self.page.wait_for_function(
                "t => document.querySelector('[data-qa-count]').textContent.trim() === t",
                arg=expect,
                timeout=2000,
            )
        return " ".join(self.page.locator("[data-qa-count]").inner_text().split())

    def checked(self) -> list[bool]:
        return self.page.eval_on_selector_all("crowd-checkbox", "els => els.map(e => e.checked)")

    def lightbox_open(self) -> bool:
        return self.page.evaluate("() => { const lb = document.querySelector('.bq-lb'); return !!lb && !lb.hidden; }")

    def close(self) -> None:
        self.context.close()


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
