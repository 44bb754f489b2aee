"""The login methods: a real browser signs in like a user; a failed sign-in leaves a screenshot
with the password masked; the manual method refuses to run without a terminal."""

import json
import os
import re

import pytest
from run import ROOT, SANDBOX_SECRETS, SANDBOX_YAML, run_ci, run_suite, write_environment

from sandbox import SandboxServer, default_registry
from suite.matrix.detection import all_rule_ids
from suite.wire.browser import chromium_path

BROWSER_YAML = (ROOT / "environments" / "sandbox-browser.yaml").read_text()
needs_chromium = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)


@needs_chromium
def test_interactive_rules_pass_when_chromium_signs_in(tmp_path):
    record = tmp_path / "compliance.json"
    prefixes = ("AUTH", "PKCE", "CODE", "APP", "RT")
    result = run_suite("--env=sandbox-browser", f"--compliance={record}", "-q", *(f"--rule={p}" for p in prefixes))
    assert result.returncode == 0, result.stdout[-3000:]
    statuses = {r["rule_id"]: r["status"] for r in json.loads(record.read_text())["rules"]}
    assert set(statuses) == {r for r in all_rule_ids() if r.split("-")[0] in prefixes}
    assert set(statuses.values()) == {"passed"}


@needs_chromium
def test_a_click_selector_that_matches_twice_clicks_the_first_match(tmp_path):
    """A login page's selector may match more than one element (the consent page's two submit
    buttons): the click takes the first, Allow, and the sign-in goes on; it must not stop at a
    strict locator's "resolved to 2 elements"."""
    assert BROWSER_YAML.count('      - click: "#allow"\n') == 1
    environment = write_environment(
        tmp_path, BROWSER_YAML.replace('      - click: "#allow"\n', '      - click: "button[type=submit]"\n')
    )
    result = run_suite(f"--env={environment}", f"--compliance={tmp_path / 'c.json'}", "-q", "--rule=PKCE-01")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "strict mode violation" not in result.stdout


@needs_chromium
def test_browser_catches_an_open_redirect(tmp_path):
    result = run_suite(
        "--env=sandbox-browser", "--defect=open-redirect", "--rule=AUTH-05", "-k", "another and host", "-q"
    )
    assert result.returncode == 1
    assert "the browser was redirected to an unregistered redirect_uri" in result.stdout


@needs_chromium
def test_the_browser_sends_the_authorization_request_by_a_form_post(tmp_path):
    """AUTH-12 in Chromium: the page the suite sets submits its form as a top-level navigation, a POST
    with the parameters form-encoded (the clean sandbox reads them from the body and passes); a
    sandbox that answers a POSTed request with 405 fails the rule (warning-level: warned), so the
    browser really POSTed."""
    for defect, expected in (None, "passed"), ("authorize-get-only", "warned"):
        result = run_suite(
            "--env=sandbox-browser",
            *([f"--defect={defect}"] if defect else []),
            "--rule=AUTH-12",
            f"--compliance={tmp_path / 'compliance.json'}",
            "-q",
        )
        rules = json.loads((tmp_path / "compliance.json").read_text())["rules"]
        assert [rule["status"] for rule in rules if rule["rule_id"] == "AUTH-12"] == [expected], result.stdout[-3000:]
    assert "was not granted" in result.stdout and "a page answered with HTTP 405" in result.stdout


@needs_chromium
def test_a_failed_browser_sign_in_leaves_a_masked_screenshot_and_the_url(tmp_path):
    # The sandbox registers the user with the file's password, so the browser rule types another.
    wrong = write_environment(tmp_path, BROWSER_YAML.replace('value: "{password}"', 'value: "not-the-password"'))
    results = tmp_path / "allure"
    result = run_suite(f"--env={wrong}", "--rule=AUTH-01", f"--alluredir={results}", "-q")
    # a test user the login page refuses is a configuration problem (docs/reference-exit-codes.md)
    assert result.returncode == 4, result.stdout[-3000:]
    assert "signing in failed" in result.stdout or "refused the environment's test user" in result.stdout
    attachments = [
        a
        for f in results.glob("*-result.json")
        for step in json.loads(f.read_text())["steps"]
        for a in step.get("attachments", [])
    ]
    screenshots = [a for a in attachments if a["name"] == "signing in failed: screenshot"]
    urls = [a for a in attachments if a["name"] == "signing in failed: page URL"]
    assert screenshots and urls
    assert (
        (results / screenshots[0]["source"]).read_bytes().startswith(b"\x89PNG")
    )  # masked: see suite/wire/login/browser.py


@needs_chromium
def test_a_wrong_password_answered_with_an_error_page_is_a_configuration_problem_in_the_browser_too(tmp_path):
    """idpyoidc's stock login page answers a wrong password with HTTP 200 and "Error: ..." (no form, no session
    begun): in Chromium as with the form method, the test user's credentials are the likely cause (exit 4)."""
    sandbox = SandboxServer(default_registry(), defects=("login-failure-error-page",)).start()
    try:
        text = re.sub(r"(?m)^sandbox:\n(  .*\n)*", f"issuer: {sandbox.url}\n", BROWSER_YAML)
        secrets = {}  # each inline secret of the file as a variable (a file for a real server has none inline)
        for number, secret in enumerate(re.findall(r"(?m)^ +(?:client_secret|password): (\S+)$", text)):
            secrets[f"T_SECRET_{number}"] = "mistyped" if secret == "sandbox-password" else secret
            text = text.replace(f": {secret}\n", f": ${{T_SECRET_{number}}}\n", 1)
        assert "mistyped" in secrets.values()
        wrong = write_environment(tmp_path, text)
        record = tmp_path / "compliance.json"
        result = run_suite(f"--env={wrong}", "--rule=AUTH-01", f"--compliance={record}", "-q", environ=secrets)
    finally:
        sandbox.stop()
    assert result.returncode == 4, result.stdout[-3000:]
    written = json.loads(record.read_text())
    assert not written.get("failed_rules", ["none recorded"]), result.stdout[-3000:]
    reasons = [s["reason"] for r in written["rules"] for s in r["scenarios"] if s["status"] == "error"]
    assert reasons and all("the page says 'Error Wrong username or password.'" in r for r in reasons), reasons


def test_debians_headless_shell_is_preferred_where_it_is_installed(tmp_path, monkeypatch):
    """The desktop Chromium's window and tab machinery cost a sign-in more CPU than the rest of it."""
    for name in ("chromium", "chromium-headless-shell"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHROMIUM", raising=False)
    assert chromium_path() == str(tmp_path / "chromium-headless-shell")
    (tmp_path / "chromium-headless-shell").unlink()
    assert chromium_path() == str(tmp_path / "chromium")
    monkeypatch.setenv("CHROMIUM", "/opt/chrome/chrome")
    assert chromium_path() == "/opt/chrome/chrome"


def test_manual_login_is_refused_without_a_terminal(tmp_path):
    manual = write_environment(tmp_path, BROWSER_YAML.replace("method: browser", "method: manual"))
    result = run_suite(f"--env={manual}")
    assert result.returncode == 4
    assert "login.method: manual sign-in needs a terminal to paste the redirect into" in result.stdout + result.stderr


@pytest.mark.parametrize("method", ["form", pytest.param("browser", marks=needs_chromium)], ids=["form", "browser"])
def test_a_native_app_signs_in_at_a_private_use_scheme(tmp_path, method):
    """RFC 8252 section 7.1: a native app may receive its redirect at a private-use URI scheme. The
    file's validation refused `com.example.native:/oauth/callback`; the form method reads Location,
    the browser catches the redirect before Chromium hands the scheme to any application. The pages
    carry LemonLDAP::NG's `Content-Security-Policy: form-action *`, under which Chromium stops the
    form's redirect to the scheme without a request of its own: the redirect is caught from the
    server's answer (the browser had gone in circles on the consent page, then failed the sign-in)."""
    text = (
        (BROWSER_YAML if method == "browser" else SANDBOX_YAML)
        .replace("redirect_uri: https://native.app.local/callback", "redirect_uri: com.example.native:/oauth/callback")
        .replace("  defects: []", "  defects: [form-action-csp]", 1)
    )
    assert "com.example.native:" in text and "form-action-csp" in text
    record = tmp_path / "compliance.json"
    path = write_environment(tmp_path, text)
    result = run_suite(f"--env={path}", f"--compliance={record}", "-q", "-k", "native", "--rule=AUTH-01", "--rule=PKCE")
    scenarios = [s for r in json.loads(record.read_text())["rules"] for s in r["scenarios"]]
    ran = {s["name"][:7]: s["status"] for s in scenarios if "native" in s["name"] and s["status"] != "skipped"}
    assert ran and set(ran.values()) == {"passed"} and "AUTH-01" in ran, result.stdout[-3000:]


@needs_chromium
def test_a_server_that_stops_answering_the_browser_is_an_environment_problem(tmp_path):
    """A page load of the browser's that the network failed (Chromium's net::ERR_EMPTY_RESPONSE here; a
    server killed mid-run gives ERR_SOCKS_CONNECTION_FAILED through the suite's fence) is the environment's
    problem, exit 3, as the HTTP client's connection failures are: it had failed AUTH-01 as the server's
    behaviour ("the browser login stopped on chrome-error://chromewebdata/")."""
    from faulty_servers import FaultyProxy

    from sandbox import SandboxServer, default_registry

    class Hangs(FaultyProxy):
        def handle(self, handler):
            if handler.path.startswith("/connect/authorize"):
                handler.close_connection = True  # no answer at all: the connection is closed
                return
            super().handle(handler)

    proxy = Hangs()
    sandbox = SandboxServer(default_registry(), issuer=proxy.url).start()
    proxy.target = sandbox.url
    try:
        pages = BROWSER_YAML[BROWSER_YAML.index("  browser:\n") : BROWSER_YAML.index("\nexpectations:")]
        text = (
            f"name: gone\nissuer: {proxy.url}\nclients:\n  spa:\n    client_id: sandbox-spa\n"
            "    redirect_uri: https://spa.app.local/callback\n    scope: openid profile email\n"
            "login:\n  method: browser\n  username: test.user\n  password: ${T_PASSWORD}\n" + pages + "\n"
        )
        environment = write_environment(tmp_path, text)
        result = run_suite(
            f"--env={environment}",
            f"--compliance={tmp_path / 'c.json'}",
            "-q",
            "--rule=AUTH-01",
            environ={**os.environ, **SANDBOX_SECRETS},
        )
    finally:
        proxy.close()
        sandbox.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 3, output[-3000:]
    assert f"cannot reach {proxy.url}: the server closed the connection without answering" in output, output[-3000:]
    assert "net::ERR_EMPTY_RESPONSE" in output and "chrome-error" not in output


@needs_chromium
def test_the_browser_refuses_consent_where_the_file_says_how(tmp_path):
    """CONS-01 under the browser method: login.browser.deny_consent's entries come before the pages', so
    the consent page's refusing button is pressed; the clean sandbox passes, one whose error redirects
    drop state fails. Without the entries, CONS-01 (critical) could not be checked for want of them, and
    the run is incomplete: it had been skipped, the run conformant."""
    record = tmp_path / "compliance.json"
    for defect, expected in (None, "passed"), ("error-state-dropped", "failed"):
        result = run_suite(
            "--env=sandbox-browser",
            *([f"--defect={defect}"] if defect else []),
            "--rule=CONS-01",
            f"--compliance={record}",
            "-q",
        )
        statuses = [r["status"] for r in json.loads(record.read_text())["rules"] if r["rule_id"] == "CONS-01"]
        assert statuses == [expected], result.stdout[-3000:]
    start, end = BROWSER_YAML.index("    deny_consent:"), BROWSER_YAML.index("\nexpectations:")
    environment = write_environment(tmp_path, BROWSER_YAML[:start] + BROWSER_YAML[end:])
    result = run_ci(f"--env={environment}", f"--reports={tmp_path / 'reports'}", "--rule=CONS-01")
    assert result.returncode == 5, result.stdout[-3000:]
    assert "login.browser.deny_consent" in result.stdout
