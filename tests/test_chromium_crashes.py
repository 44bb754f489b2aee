"""Chromium's own crash is the machine's problem, not the server's: on a loaded machine its process
ended with a general protection fault in its libc as it started, or between two sign-ins, and AUTH-01
failed (a blocker: NOT CONFORMANT) for what no server did. A crash at start is tried once more; a
browser gone between sign-ins is launched anew; one gone during a sign-in is an environment problem
(exit 3), named as Chromium's."""

import os
import stat

import pytest
from faulty_servers import Answer, HostileServer
from test_browser_session import CALLBACK, _browser_environment

from suite.wire.browser import chromium_path, launch_chromium
from suite.wire.http import EnvironmentProblem, HttpClient

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)


def _chromium_that_crashes(tmp_path, times: int):
    """A Chromium whose first `times` starts end in a segmentation fault (as Debian's wrapper script says
    it), then the real one."""
    real = chromium_path()
    script = tmp_path / "chromium"
    script.write_text(
        f'#!/bin/sh\nn=$(cat "{tmp_path}/starts" 2>/dev/null || echo 0); echo $((n + 1)) > "{tmp_path}/starts"\n'
        f'if [ "$n" -lt {times} ]; then sh -c "kill -SEGV \\$\\$"; exit 139; fi\nexec "{real}" "$@"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _launch(monkeypatch, script):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("CHROMIUM", str(script))
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        version = browser.version
        browser.close()
    return version


def test_a_crash_as_chromium_starts_is_tried_once_more(tmp_path, monkeypatch):
    assert _launch(monkeypatch, _chromium_that_crashes(tmp_path, 1))
    assert (tmp_path / "starts").read_text().strip() == "2"


def test_two_crashes_as_chromium_starts_are_an_environment_problem(tmp_path, monkeypatch):
    with pytest.raises(EnvironmentProblem, match=r"crashed as it started, twice \(Segmentation fault\)"):
        _launch(monkeypatch, _chromium_that_crashes(tmp_path, 2))


def test_a_launch_that_fails_otherwise_is_not_tried_again(tmp_path, monkeypatch):
    from playwright.sync_api import Error as PlaywrightError

    script = tmp_path / "chromium"
    script.write_text(f'#!/bin/sh\necho started >> "{tmp_path}/starts"\necho "unknown flag" >&2\nexit 1\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(PlaywrightError):
        _launch(monkeypatch, script)
    assert (tmp_path / "starts").read_text().count("started") == 1


SIGNS_IN = Answer(
    200,
    {"Content-Type": "text/html"},
    f"<!doctype html><input id=password type=password><button id=go onclick=\"location.href='{CALLBACK}?code=c'\">go"
    "</button>".encode(),
)
PAGES = """    pages:
      - url: /connect/authorize
        actions:
          - fill: "#password"
            value: "{password}"
          - click: "#go"
"""


def test_a_browser_gone_between_sign_ins_is_launched_anew(tmp_path):
    from suite.wire.browser import stop_chromium
    from suite.wire.login import browser as login_browser

    server = HostileServer({"/connect/authorize": SIGNS_IN})
    environment = _browser_environment(tmp_path, "crash", server.url, PAGES, "crash-pw-1")
    login = login_browser.BrowserLogin(environment, HttpClient(environment.http))
    try:
        first = login.authorize(f"{server.url}/connect/authorize", CALLBACK)
        assert stop_chromium(login_browser._fence.flags[0]) > 0  # as a crash would: the suite did not stop it
        second = login.authorize(f"{server.url}/connect/authorize", CALLBACK)
    finally:
        login_browser.close_browser()
        server.close()
    assert [first.kind, second.kind] == ["callback", "callback"]


def test_a_browser_gone_during_a_sign_in_is_an_environment_problem(tmp_path):
    from suite.wire.browser import stop_chromium
    from suite.wire.login import browser as login_browser

    def crash_then_answer(handler):
        stop_chromium(login_browser._fence.flags[0])
        handler.end_headers()

    page = (
        "<!doctype html><form method=post action=/login><input id=password name=p type=password>"
        "<button id=go>go</button></form>"
    )
    server = HostileServer(
        {
            "/connect/authorize": Answer(200, {"Content-Type": "text/html"}, page.encode()),
            "/login": Answer(200, {"Content-Type": "text/html"}, crash_then_answer),
        }
    )
    environment = _browser_environment(tmp_path, "crash", server.url, PAGES, "crash-pw-2")
    try:
        with pytest.raises(EnvironmentProblem, match="Chromium's process ended during the sign-in"):
            login_browser.BrowserLogin(environment, HttpClient(environment.http)).authorize(
                f"{server.url}/connect/authorize", CALLBACK
            )
    finally:
        login_browser.close_browser()
        server.close()
