"""Debian's Chromium under Playwright: the one real browser the suite uses (Playwright's own
browser download does not work on the machines this runs on)."""

import os
import shutil
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # playwright is imported where a browser is started: it loads slowly
    from playwright.sync_api import Browser, Playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these, Chromium calls home at start-up; on a closed network that only adds noise.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's headless shell (package chromium-headless-shell) where it is installed: the same
    Chromium without the desktop browser's window, tabs and their per-navigation bookkeeping, which
    cost the browser process more CPU than the rest of a sign-in (0.2 s of CPU a sign-in against
    0.09 s; median sign-in 390 ms against 249 ms at a load of 3.5 on 2 cores). Else the desktop
    Chromium in headless mode; $CHROMIUM names another."""
    return (
        os.environ.get("CHROMIUM")
        or shutil.which("chromium-headless-shell")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


def launch_chromium(playwright: "Playwright", extra_flags: Iterable[str] = ()) -> "Browser":
    path = chromium_path()
    if path is None:
        raise RuntimeError(
            "Chromium is not installed: apt-get install chromium-headless-shell "
            "(or chromium, or set CHROMIUM=/path/to/chrome)"
        )
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS + list(extra_flags), headless=True)
