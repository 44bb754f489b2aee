"""Debian's Chromium under Playwright: the one real browser the suite uses (Playwright's own
browser download does not work on the machines this runs on)."""

import os
import shutil

CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these, Chromium calls home at start-up; on a closed network that only adds noise.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def launch_chromium(playwright, extra_flags=()):
    path = chromium_path()
    if path is None:
        raise RuntimeError("Chromium is not installed: apt-get install chromium (or set CHROMIUM=/path/to/chrome)")
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS + list(extra_flags), headless=True)
