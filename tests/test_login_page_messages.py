"""What a sign-in says when a login page or its server misbehaves: in words a reader can act on, the
same under both login methods, and never in the server's own lines (a newline in an
error_description is shown escaped, not as a line of the suite's)."""

import os

import pytest
from faulty_servers import Answer, HostileServer, huge
from run import run_suite, write_environment

from suite.configuration.environment import load_environment
from suite.wire.browser import chromium_path
from suite.wire.http import EnvironmentProblem, HttpClient

CALLBACK = "https://app.example/callback"
needs_chromium = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)


def _authorize(tmp_path, routes: dict, method: str):
    from suite.wire.login import login_method
    from suite.wire.login.browser import close_browser

    server = HostileServer(routes)
    text = (
        f"name: messages\nissuer: {server.url}\nhttp: {{retries: 0}}\nclients:\n  spa:\n    client_id: spa\n"
        f"    redirect_uri: {CALLBACK}\n    scope: openid\nlogin:\n  method: {method}\n  username: test.user\n"
        "  password: ${T_PASSWORD}\n  browser:\n    timeout: 5\n    pages:\n      - url: /never\n"
        '        actions:\n          - click: "#never"\n'
    )
    environment = load_environment(str(write_environment(tmp_path, text)), {"T_PASSWORD": "messages-pw"})
    try:
        return login_method(environment, HttpClient(environment.http, environment.issuer)).authorize(
            f"{server.url}/connect/authorize", CALLBACK
        )
    except EnvironmentProblem as problem:
        return problem
    finally:
        close_browser()
        server.close()


@pytest.mark.parametrize("method", [pytest.param("browser", marks=needs_chromium), "form"])
def test_endless_redirects_are_said_to_be_too_many_redirects_under_either_method(tmp_path, method):
    """The browser method said "the flow stopped on chrome-error://chromewebdata/, a page answered with
    HTTP 200": Chromium's error page, and a status no server sent."""
    outcome = _authorize(
        tmp_path, {"/connect/authorize": Answer(302, {"Location": "/connect/authorize?again=1"})}, method
    )
    assert outcome.kind == "redirect_loop", outcome
    said = outcome.describe()
    assert said.startswith("too many redirects") and "/connect/authorize?again=1" in said, said
    assert "chrome-error" not in said and "HTTP 200" not in said, said


def test_a_login_page_too_big_is_named_as_one(tmp_path):
    """The form method said "no token or discovery response is that big" of a login page."""
    problem = _authorize(tmp_path, {"/connect/authorize": Answer(200, body=huge(11 * 2**20))}, "form")
    assert isinstance(problem, EnvironmentProblem), problem
    assert "no login or consent page is that big" in str(problem) and "token" not in str(problem), problem


@pytest.mark.parametrize(
    "headers, body",
    [
        ({"Refresh": "0;url=https://elsewhere.example/next"}, b"<!doctype html><p>Redirecting</p>"),
        ({}, b'<!doctype html><meta http-equiv="refresh" content="0;url=https://elsewhere.example/next">'),
    ],
    ids=["refresh-header", "meta-refresh"],
)
def test_a_page_that_only_refreshes_is_said_to_refresh_under_the_form_method(tmp_path, headers, body):
    """It said "a page answered with HTTP 200 with no form to fill in", as of a dead end."""
    outcome = _authorize(
        tmp_path, {"/connect/authorize": Answer(200, {"Content-Type": "text/html", **headers}, body)}, "form"
    )
    said = outcome.describe()
    assert outcome.kind == "page" and "refreshed" in said and "elsewhere.example/next" in said, said
    assert "the form method does not follow" in said, said


def test_an_error_description_with_newlines_stays_on_its_line_in_the_terminal(tmp_path):
    """A server's error_description held a line `# VERDICT: CONFORMANT`: printed raw, it stood in the
    failure text as one of the suite's own lines."""
    description = "x\n\n# VERDICT: CONFORMANT\r\n\tend"
    server = HostileServer({})
    server.routes.update(
        {
            "/.well-known/openid-configuration": server.discovery(),
            "/connect/authorize": Answer(
                302,
                {
                    "Location": "https://web.app.local/callback?error=access_denied&state=s&error_description="
                    + description.replace("\n", "%0A")
                    .replace("\r", "%0D")
                    .replace("\t", "%09")
                    .replace(" ", "%20")
                    .replace("#", "%23")
                },
            ),
        }
    )
    environment = write_environment(
        tmp_path,
        f"name: hostile\nissuer: {server.url}\nhttp: {{retries: 0}}\nlogin:\n  method: form\n  username: test.user\n"
        "  password: ${T_SECRET}\nclients:\n  web:\n    client_id: hostile-web\n    client_secret: ${T_SECRET}\n"
        "    redirect_uri: https://web.app.local/callback\n    scope: openid\n",
    )
    try:
        result = run_suite(
            f"--env={environment}",
            "--rule=AUTH-01",
            f"--compliance={tmp_path / 'c.json'}",
            environ={"T_SECRET": "s-1-secret"},
        )
    finally:
        server.close()
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "x\\x0a\\x0a# VERDICT: CONFORMANT\\x0d\\x0a\\x09end" in output, output[-3000:]
    assert not [line for line in output.splitlines() if "# VERDICT: CONFORMANT" in line and "\\x0a" not in line]
