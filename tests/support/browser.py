"""Headless Chromium as the browser tests start it (Debian's package, driven by Playwright), and the
reviewer's page in it.

The worker page (bulkqa.worker_page.worker_template(): the Liquid template with the shared grid.css and
grid.js inlined) is rendered exactly as in the unit tests (bulkqa_local.liquid_gt), then AWS's
crowd-html-elements.js <script src> is replaced by our stand-in, inlined: AWS's script cannot be
fetched offline, and the stand-in reproduces its documented output format
({"<name>": {"<value>": true|false}} for every crowd-checkbox) and sets window.__crowdAnswer on
submit. Image URLs (presigned https URLs) are routed to small generated PNGs.

The ``browser`` fixture (one Chromium per test module) is in tests/conftest.py. Without Chromium or
Playwright a browser test is skipped, except under ``CI=true``, where it fails with what to install
(:func:`sync_api`): a CI run must never pass by skipping the page tests. ``make test`` installs Chromium
first (the Makefile's ``chromium`` target).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import struct
import zlib
from pathlib import Path
from typing import Any, NoReturn

import pytest

from bulkqa import worker_page
from bulkqa_local import liquid_gt
from tests.support.batches import Batch

#: Debian's package; BULKQA_TEST_CHROMIUM points elsewhere (tests/unit/test_fresh_machine.py uses it)
CHROMIUM = Path(os.environ.get("BULKQA_TEST_CHROMIUM") or "/usr/bin/chromium")
#: no sandbox (root in CI), no GPU, and no background connections: this machine has no network
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: what to do when Chromium is missing (the Makefile's ``chromium`` target does it when run as root)
INSTALL_CHROMIUM = (
    "install Debian's package as root: apt-get update && apt-get install -y chromium (or run `make test` as root)"
)
INSTALL_PLAYWRIGHT = "install the test dependencies: .venv/bin/pip install -e '.[dev]' (or run `make test`)"


def in_ci() -> bool:
    """True when the environment says this is a CI run (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable(reason: str) -> NoReturn:
    """A browser test cannot run: skipped on a developer's machine, failed (never skipped) under CI=true."""
    if in_ci():
        pytest.fail(f"CI=true: browser tests must run, not skip: {reason}", pytrace=False)
    pytest.skip(reason)


def sync_api(chromium: Path | None = None) -> Any:
    """Playwright's sync API, once Chromium and Playwright are known to be there (else :func:`unavailable`)."""
    executable = CHROMIUM if chromium is None else chromium
    try:
        api = importlib.import_module("playwright.sync_api")
    except ImportError as exc:
        unavailable(f"Playwright is not installed ({exc}): {INSTALL_PLAYWRIGHT}")
    if not executable.exists():
        unavailable(f"{executable} is not installed: {INSTALL_CHROMIUM}")
    return api


REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "local" / "bulkqa_local" / "static" / "crowd-html-elements-standin.js"
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


def image_png(url: str) -> bytes:
    """The generated PNG served for an image URL (the same picture for the same URL without its query)."""
    return _photo_for(url)


# --- the page --------------------------------------------------------------------------------------


def fake_presign(uri: str) -> str:
    key = uri.split("/", 3)[3]
    return f"https://bkt.s3.amazonaws.com/{key}?X-Amz-Expires=3600&X-Amz-Signature=abc123"


def page_html(batch: Batch) -> str:
    template = worker_page.worker_template().decode("utf-8")  # the page as uploaded: the grid inlined
    rendered = liquid_gt.render_worker_template(template, batch.task_input, fake_presign)
    assert rendered.count(CROWD_TAG) == 1
    # AWS's crowd-html-elements.js cannot be loaded offline: inline the local stand-in in its place.
    standin = STANDIN.read_text("utf-8")
    assert "</script" not in standin
    page = rendered.replace(CROWD_TAG, f"<script>\n{standin}\n</script>")
    # Ground Truth shows the template inside its own standards-mode page; do the same here.
    head = '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Task</title></head>'
    return f"{head}\n<body>\n{page}\n</body></html>"


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
        return [bool(c) for c in self.page.eval_on_selector_all("crowd-checkbox", "els => els.map(e => e.checked)")]

    def lightbox_open(self) -> bool:
        return bool(
            self.page.evaluate("() => { const lb = document.querySelector('.bq-lb'); return !!lb && !lb.hidden; }")
        )

    def close(self) -> None:
        self.context.close()
