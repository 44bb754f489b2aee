"""The browser method keeps one Chromium page for the whole run (a new context and page cost more
than a sign-in). Each sign-in must still start as in a new browser profile: what the issuer's
pages left behind in one sign-in (cookies, local storage, a service worker, the HTTP cache) is
gone in the next."""

import json
import os

import pytest
from faulty_servers import Answer, HostileServer
from run import write_environment

from suite.configuration.environment import load_environment
from suite.wire.browser import chromium_path
from suite.wire.http import HttpClient

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)

CALLBACK = "https://app.example/callback"


def _browser_environment(tmp_path, name: str, issuer: str, browser: str, password: str):
    """An environment of one SPA client the browser method signs in as test.user; `browser` is the rest of
    its login.browser section (pages, expected_elsewhere), written at that section's indentation."""
    text = (
        f"name: {name}\nissuer: {issuer}\nclients:\n  spa:\n    client_id: spa\n    redirect_uri: {CALLBACK}\n"
        "    scope: openid\nlogin:\n  method: browser\n  username: test.user\n  password: ${T_PASSWORD}\n"
        "  browser:\n    timeout: 10\n" + browser
    )
    return load_environment(str(write_environment(tmp_path, text)), {"T_PASSWORD": password})


# The authorization page reports what it finds from earlier sign-ins (in the callback URL, once its
# "go" button is clicked), then leaves some of each kind of state behind for the next one.
LEAVES_STATE = f"""<!doctype html><title>Sign in</title><script>
(async () => {{
  const found = {{storage: localStorage.getItem("left"), cookie: document.cookie.includes("script=left"),
                 workers: (await navigator.serviceWorker.getRegistrations()).length}};
  localStorage.setItem("left", "by an earlier sign-in");
  document.cookie = "script=left; max-age=3600";
  await fetch("/cacheable");
  // the suite blocks service workers outright: a registration then never becomes ready
  await Promise.race([navigator.serviceWorker.register("/worker.js").then(() => navigator.serviceWorker.ready),
                      new Promise(done => setTimeout(done, 300))]).catch(() => {{}});
  const go = document.createElement("button");
  go.id = "go";
  go.textContent = "go";
  go.onclick = () => location.href = "{CALLBACK}?code=c&found=" + encodeURIComponent(JSON.stringify(found));
  document.body.append(go);
}})();
</script>""".encode()


def test_each_sign_in_starts_without_what_the_last_one_left(tmp_path):
    from suite.wire.login.browser import BrowserLogin, close_browser

    server = HostileServer(
        {
            "/connect/authorize": Answer(
                200,
                {
                    "Content-Type": "text/html",
                    "Cache-Control": "no-store",
                    "Set-Cookie": "session=left; Max-Age=3600; Path=/",
                },
                LEAVES_STATE,
            ),
            "/cacheable": Answer(200, {"Content-Type": "text/plain", "Cache-Control": "max-age=3600"}, b"kept"),
            "/worker.js": Answer(
                200, {"Content-Type": "text/javascript"}, b"self.addEventListener('fetch', () => {});"
            ),
        }
    )
    environment = _browser_environment(
        tmp_path,
        "state",
        server.url,
        """    pages:
      - url: /connect/authorize
        actions:
          - wait: "#go"
          - click: "#go"
""",
        "not-sent",
    )
    login = BrowserLogin(environment, HttpClient(environment.http))
    try:
        outcomes = [login.authorize(f"{server.url}/connect/authorize?client_id=spa&n={n}", CALLBACK) for n in (1, 2)]
    finally:
        close_browser()
        server.close()
    assert [o.kind for o in outcomes] == ["callback", "callback"], outcomes
    found = [json.loads(o.query_params["found"]) for o in outcomes]
    assert found[1] == found[0] == {"storage": None, "cookie": False, "workers": 0}, found
    authorizations = [headers for method, path, headers, _ in server.requests if path.startswith("/connect/authorize")]
    assert [h.get("Cookie") for h in authorizations] == [None, None]
    # Not from the HTTP cache the first sign-in filled, nor from its service worker: asked again.
    assert [path for _, path, _, _ in server.requests].count("/cacheable") == 2, server.requests


def test_sign_ins_one_after_another_reach_their_callback_with_the_origin_fence(tmp_path):
    """The sandbox redirects to each redirect URI: a hop no route sees. It is aborted before it
    leaves; were it left to the fence, Chromium's error page for the refused connection came in
    late and cut the next authorization's navigation short (PKCE-01 or AUTH-01 failed)."""
    from run import run_suite

    result = run_suite(
        "--env=sandbox-browser",
        "--rule=AUTH-01",
        "--rule=PKCE-01",
        "--rule=CODE-01",
        "--rule=CONS-01",
        f"--compliance={tmp_path / 'c.json'}",
    )
    record = json.loads((tmp_path / "c.json").read_text())
    assert record["failed_rules"] == [] and record["error_rules"] == [], result.stdout[-3000:]


def test_an_origin_the_login_pages_are_known_to_ask_for_is_refused_but_not_held_against_the_server(tmp_path):
    """login.browser.expected_elsewhere (a real server's consent page loading fonts): what the page
    asks of that origin after the password is typed is refused all the same and reported; the
    sign-in goes on. Any other origin fails it."""
    from suite.wire.http import UntrustedEndpoint
    from suite.wire.login.browser import BrowserLogin, close_browser

    fonts, other = HostileServer({}), HostileServer({})
    page = (
        '<!doctype html><form onsubmit="event.preventDefault(); fetch(document.body.dataset.to + '
        "'/font.css', {mode: 'no-cors'}).catch(() => {}); setTimeout(() => location.href = "
        f"'{CALLBACK}?code=c', 500)\"><input id=password type=password><button id=go>go</button></form>"
    )
    outcomes = []
    for target in (fonts, other):
        server = HostileServer(
            {
                "/connect/authorize": Answer(
                    200,
                    {"Content-Type": "text/html"},
                    page.replace("<form", f'<body data-to="{target.url}"><form').encode(),
                )
            }
        )
        environment = _browser_environment(
            tmp_path,
            "fonts",
            server.url,
            f"""    expected_elsewhere: ["{fonts.url}"]
    pages:
      - url: /connect/authorize
        actions:
          - fill: "#password"
            value: "{{password}}"
          - click: "#go"
""",
            "typed-password-1",
        )
        try:
            outcomes.append(
                BrowserLogin(environment, HttpClient(environment.http)).authorize(
                    f"{server.url}/connect/authorize", CALLBACK
                )
            )
        except UntrustedEndpoint as refusal:
            outcomes.append(refusal)
        finally:
            close_browser()
            server.close()
    fonts.close()
    other.close()
    assert outcomes[0].kind == "callback", outcomes
    assert isinstance(outcomes[1], UntrustedEndpoint) and other.url.split("//")[1] in str(outcomes[1]), outcomes
    assert fonts.requests == other.requests == []


def test_a_stylesheet_elsewhere_loaded_before_the_password_is_typed_is_listed_in_every_sign_in(tmp_path):
    """A login page whose <head> links a stylesheet on another origin, loaded before the password is
    typed: refused and listed, not held against the server, in the run's second sign-in as in its
    first (the second failed AUTH-01, "(stylesheet)": the first's typing was counted for it)."""
    from suite.wire.login.browser import BrowserLogin, close_browser

    styles = HostileServer({})
    page = (
        f'<!doctype html><head><link rel="stylesheet" href="{styles.url}/site.css"></head><form onsubmit='
        f"\"event.preventDefault(); location.href = '{CALLBACK}?code=c'\"><input id=password type=password>"
        "<button id=go>go</button></form>"
    )
    server = HostileServer({"/connect/authorize": Answer(200, {"Content-Type": "text/html"}, page.encode())})
    environment = _browser_environment(
        tmp_path,
        "styles",
        server.url,
        """    pages:
      - url: /connect/authorize
        actions:
          - fill: "#password"
            value: "{password}"
          - click: "#go"
""",
        "typed-password-1",
    )
    login = BrowserLogin(environment, HttpClient(environment.http))
    try:
        outcomes = [login.authorize(f"{server.url}/connect/authorize", CALLBACK).kind for _ in range(3)]
    finally:
        close_browser()
        server.close()
        styles.close()
    assert outcomes == ["callback"] * 3
    assert styles.requests == []


def test_the_login_browser_looks_like_a_persons(tmp_path):
    """The server's login pages meet a browser that says it is Chrome (no "HeadlessChrome") and no
    navigator.webdriver, as a person's: they report both in the callback URL."""
    from suite.wire.login.browser import BrowserLogin, close_browser

    reports = (
        f'<!doctype html><script>location.href = "{CALLBACK}?code=c&ua=" + encodeURIComponent(navigator.userAgent)'
        ' + "&webdriver=" + navigator.webdriver;</script>'
    ).encode()
    server = HostileServer({"/connect/authorize": Answer(200, {"Content-Type": "text/html"}, reports)})
    environment = _browser_environment(
        tmp_path,
        "ua",
        server.url,
        """    pages:
      - url: /account/login
        actions:
          - click: "#never"
""",
        "not-sent",
    )
    login = BrowserLogin(environment, HttpClient(environment.http))
    try:
        outcome = login.authorize(f"{server.url}/connect/authorize?client_id=spa", CALLBACK)
    finally:
        close_browser()
        server.close()
    assert outcome.kind == "callback", outcome
    assert "Headless" not in outcome.query_params["ua"] and "Chrome/" in outcome.query_params["ua"], outcome
    assert outcome.query_params["webdriver"] == "false"
    assert not any("Headless" in headers.get("User-Agent", "") for _, _, headers, _ in server.requests)
