"""A page that writes thousands of console messages (a hostile application's 20,000 console.error a page) held
each sign-in for a round trip per message, 74 s for one page and 790 s for a run at a load of 32, and the bound
on the messages kept did not hold (4,912 of a session kept where 500 are): the suite listens to a page's first
CONSOLE_MESSAGES_HEARD messages, then to none until the tab shows its next page, whose first ones it hears again
(APPC-28 reads them for credentials)."""

import os
import time
from types import SimpleNamespace

import pytest
from faulty_servers import Answer, HostileServer, browser_driven_spa

from suite.wire.browser import chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
FLOOD = 5_000


def _page(logged: str) -> Answer:
    script = f"console.log('{logged}');for(var i=0;i<{FLOOD};i++){{console.error('line '+i+' '+'A'.repeat(200));}}"
    return Answer(200, {"Content-Type": "text/html"}, f"<p>signed in</p><script>{script}</script>".encode())


def test_a_page_flooding_the_console_is_heard_for_its_first_messages_and_the_next_page_again():
    from appside.browser_driver import CONSOLE_MESSAGES_HEARD, BrowserDriver

    app = HostileServer({"/": _page("token of the first page"), "/next": _page("token of the next page")})
    driver = BrowserDriver(
        browser_driven_spa(app.url), "http://127.0.0.1:9", SimpleNamespace(username="test.user", password="pw-7Q!x")
    )
    try:
        session = driver.session()
        started = time.monotonic()
        first = session.open(app.url + "/")
        assert first.finished
        time.sleep(1)  # the messages on their way when the listening stopped arrive
        second = session.open(app.url + "/next")
        took = time.monotonic() - started
        time.sleep(1)
        assert second.finished
        assert first.console[0] == "console.log: token of the first page"
        assert second.console[0] == "console.log: token of the next page"
        assert len(session.console) == 2 * CONSOLE_MESSAGES_HEARD, len(session.console)
        assert took < 60, took  # 5,000 round trips a page before
        session.close()
    finally:
        driver.close()
        app.close()
