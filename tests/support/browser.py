"""Headless Chromium as the browser tests start it (Debian's package, driven by Playwright)."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
#: no sandbox (root in CI), no GPU, and no background connections: this machine has no network
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
