"""Chromium's memory is bounded like the HTTP client's bodies: a page that fills it (a hostile login
page of 3 GB took the browser to 2.6 GB) has that Chromium stopped once its processes hold more than
the bound, and the sign-in going on says why; an ordinary page stays far below it."""

import contextlib
import os
import secrets
import threading
import time
from types import SimpleNamespace

import pytest

from suite.wire import browser as wire_browser
from suite.wire.browser import MemoryBound, chromium_path, launch_chromium, stop_chromium

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
LIMIT = 400 * 2**20  # a test's bound: a Chromium with one plain page holds well under it
FILLING = """<!doctype html><p>loading</p><script>
  const kept = [];
  setInterval(() => { for (let i = 0; i < 16; i++) kept.push(new Uint8Array(1 << 20).fill(7)); }, 50);
</script>"""
LOGIN_PAGE = """<!doctype html><form><input name="username"><input name="password" type="password">
<button>Sign in</button></form>"""


def _watched_browser(html: str, seconds: float) -> tuple[list[int], int, str]:
    """A Chromium of its own (a flag no other has) showing `html`, watched by a MemoryBound with the
    test's bound for at most `seconds`: what the bound reported, the highest memory it saw, the flag."""
    from playwright.sync_api import sync_playwright

    flag = f"--user-agent=memory-test-{secrets.token_hex(6)}"
    reported: list[int] = []
    stopped = threading.Event()

    def exceeded(held: int) -> None:
        reported.append(held)
        stop_chromium(flag)
        stopped.set()

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, [flag])
        bound = MemoryBound(flag, exceeded, limit=LIMIT)
        try:
            page = browser.new_page()
            page.set_content(html)
            stopped.wait(seconds)
        finally:
            bound.close()
            with contextlib.suppress(Exception):  # stopped by the bound
                browser.close()
    return reported, bound.peak, flag


def test_a_page_that_fills_memory_has_its_chromium_stopped_past_the_bound():
    started = time.monotonic()
    reported, peak, flag = _watched_browser(FILLING, 60)
    assert reported, f"never reported: the highest seen was {peak / 2**20:.0f} MiB"
    assert reported[0] > LIMIT
    assert time.monotonic() - started < 60
    assert not wire_browser.chromium_roots(flag), "that Chromium is gone"


def test_a_login_page_stays_far_below_the_bound():
    reported, peak, _ = _watched_browser(LOGIN_PAGE, 3)
    assert not reported
    assert 0 < peak < LIMIT / 2, f"{peak / 2**20:.0f} MiB"


def test_a_sign_in_stopped_for_memory_says_so(monkeypatch):
    """The server side's sign-in that the bound stopped fails naming the memory, not scripts or time."""
    from suite.wire.login import browser as login_browser

    class Page:
        url = "http://127.0.0.1:1/login"

    login = SimpleNamespace(guard=SimpleNamespace(scripted={}))

    monkeypatch.setattr(login_browser, "_memory_exceeded", MemoryBound("--unused", lambda held: None).said(3 * 2**30))
    message = str(login_browser.BrowserLogin._too_long(login, Page(), 60))
    assert "held 3.0 GiB of memory, past the suite's bound of 2 GiB" in message
    assert "scripts" not in message
    monkeypatch.setattr(login_browser, "_memory_exceeded", "")
    assert "never finished loading" in str(login_browser.BrowserLogin._too_long(login, Page(), 60))


def test_an_application_s_browser_stopped_for_memory_says_so():
    """The application side's watchdog stops the browser for the bound as for a call not answered, and
    the steps waiting on it are "could not be checked" naming the memory."""
    from appside.browser_driver import Watchdog

    stopped = []
    watchdog = Watchdog(30, lambda: stopped.append(True))
    try:
        watchdog.stop_for_memory(MemoryBound("--unused", lambda held: None).said(int(2.5 * 2**30)))
        assert stopped and watchdog.expired
        assert "held 2.5 GiB of memory, past the suite's bound of 2 GiB" in watchdog.message()
        assert "did not answer" not in watchdog.message()
    finally:
        watchdog.close()
