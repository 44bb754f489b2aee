"""The reproduction attached to an exchange runs: pasted into bash after exporting the variables
it names, it repeats the request against the same server. A code's redemption replays the whole
flow: a new verifier, the authorization request to open, the code read back. No secret and no
cookie is in the snippet."""

import json
import re
import subprocess

import pytest
from run import SANDBOX_SECRETS, run_suite, write_environment, write_sandbox_environment

from sandbox import SandboxServer, default_registry
from suite.configuration.environment import load_environment
from suite.wire.http import HttpClient
from suite.wire.login import login_method
from suite.wire.login.form import FormLogin
from suite.wire.login.html_forms import forms_of

POSTED = "authorization-request.html"  # the page a POSTed authorization request's snippet writes


@pytest.fixture(scope="module")
def run_against_a_sandbox(tmp_path_factory):
    """SVC-01 and PKCE-01 against a sandbox that outlives the run, with secrets in variables."""
    directory = tmp_path_factory.mktemp("reproduction")
    sandbox = SandboxServer(default_registry()).start()
    environment = write_sandbox_environment(directory, sandbox.url, "reproduction")
    results = directory / "allure-results"
    result = run_suite(
        f"--env={environment}",
        "--rule=SVC-01",
        "--rule=PKCE-01",
        f"--alluredir={results}",
        f"--compliance={directory / 'c.json'}",
        environ=SANDBOX_SECRETS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    try:
        yield sandbox, environment, results
    finally:
        sandbox.stop()


def _snippets(results, what: str) -> list[str]:
    """The reproductions of the exchanges whose first line is `what` ("POST /connect/token")."""
    method, path = what.split()
    found = []
    for attachment in results.glob("*-attachment.txt"):
        text = attachment.read_text()
        first = text.split("\n", 1)[0].split()
        if len(first) == 2 and first[0] == method and first[1].split("?")[0].endswith(path):
            found.append(text.split("# reproduce: paste into a shell after exporting the variables it names\n", 1)[1])
    assert found, f"no exchange {what!r} was attached"
    return found


def _bash(script: str, environ: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", **environ}
    )


def test_the_client_credentials_snippet_runs_with_the_secret_exported(run_against_a_sandbox):
    _, _, results = run_against_a_sandbox
    snippet = next(s for s in _snippets(results, "POST /connect/token") if "client_credentials" in s)
    assert "# export T_SERVICE_SECRET=...   # clients.service.client_secret in " in snippet
    assert "sandbox-service-secret" not in snippet and "Cookie" not in snippet
    answer = _bash(snippet, {"T_SERVICE_SECRET": SANDBOX_SECRETS["T_SERVICE_SECRET"]})
    assert answer.stdout.startswith("HTTP/1.1 200"), answer.stdout + answer.stderr
    assert json.loads(answer.stdout.split("\n\n", 1)[1])["token_type"] == "Bearer"
    # Pasted without the export, it says so and sends nothing (not an empty secret the server refuses)
    forgotten = _bash(snippet, {})
    assert forgotten.stdout == "" and "T_SERVICE_SECRET: export T_SERVICE_SECRET first" in forgotten.stderr


def test_the_code_redemption_snippet_replays_the_flow_from_the_authorization_request(run_against_a_sandbox):
    _, environment_file, results = run_against_a_sandbox
    snippet = next(s for s in _snippets(results, "POST /connect/token") if "authorization_code" in s)
    assert "code=$AUTHORIZATION_CODE" in snippet and "code_verifier=$CODE_VERIFIER" in snippet
    # One shell, as a person runs it: it prints the authorization request (with the challenge of
    # the verifier it just made), the person signs in there, and types the code in.
    shell = subprocess.Popen(
        ["bash", "-c", snippet],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    try:
        assert shell.stdout.readline().startswith("Open this in a browser")
        url = shell.stdout.readline().strip()
        assert "code_challenge=" in url and "$" not in url, url
        environment = load_environment(str(environment_file), environ=SANDBOX_SECRETS)
        outcome = login_method(environment, HttpClient(environment.http)).authorize(
            url, "https://spa.app.local/callback"
        )
        answer, errors = shell.communicate(outcome.callback_params["code"] + "\n", timeout=60)
    finally:
        shell.kill()
    assert "HTTP/1.1 200" in answer, answer + errors
    assert '"access_token"' in answer


def test_the_snippet_of_a_code_requested_by_post_writes_the_form_to_submit(tmp_path):
    """AUTH-12's code was requested by POST: its redemption's snippet writes the request as a page with
    a form (the new challenge in it, the rest as sent), the person submits it and signs in, and the code
    they type is redeemed."""
    sandbox = SandboxServer(default_registry()).start()
    try:
        web = "  web:\n    client_id: sandbox-web\n    client_secret: ${T_WEB_SECRET}\n"
        web += "    redirect_uri: https://web.app.local/callback\n    scope: openid profile email\n"
        text = write_sandbox_environment(tmp_path, sandbox.url, "reproduction").read_text()
        environment_file = write_environment(tmp_path, text.replace("  spa:\n", web + "  spa:\n"), "web.yaml")
        secrets = {**SANDBOX_SECRETS, "T_WEB_SECRET": "sandbox-web-secret"}
        results = tmp_path / "allure-results"
        result = run_suite(
            f"--env={environment_file}",
            "--rule=AUTH-12",
            f"--alluredir={results}",
            f"--compliance={tmp_path / 'c.json'}",
            environ=secrets,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        [snippet] = _snippets(results, "POST /connect/token")
        _submit_the_written_form(snippet, environment_file, secrets, tmp_path / "shell")
    finally:
        sandbox.stop()


def _submit_the_written_form(snippet, environment_file, secrets, folder) -> None:
    folder.mkdir()
    shell = subprocess.Popen(
        ["bash", "-c", snippet],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
        env={"PATH": "/usr/bin:/bin", "T_WEB_SECRET": secrets["T_WEB_SECRET"]},
    )
    assert shell.stdout is not None
    try:
        assert "open authorization-request.html" in shell.stdout.readline()
        page = folder / POSTED
        [form] = forms_of(page.read_text(), page.as_uri())
        assert form.method == "POST" and "?" not in form.action and "$" not in page.read_text()
        assert set(form.fields) >= {"client_id", "state", "redirect_uri", "code_challenge"}
        environment = load_environment(str(environment_file), environ=secrets)
        outcome = FormLogin(environment, HttpClient(environment.http)).authorize(
            form.action, "https://web.app.local/callback", form=form.fields
        )
        answer, errors = shell.communicate(outcome.callback_params["code"] + "\n", timeout=60)
    finally:
        shell.kill()
    assert "HTTP/1.1 200" in answer, answer + errors


def test_no_cookie_and_no_secret_value_even_without_an_environment_file():
    """The application side records requests with no environment file: the secret it saw is still
    a variable, and the browser's cookie is left out."""
    from suite.wire.reproduction import snippet

    text = snippet(
        "POST",
        "https://issuer.example/connect/token",
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "session=abc123def456",
            "Authorization": "Basic " + __import__("base64").b64encode(b"app:s3cr3t-value").decode(),
        },
        "grant_type=client_credentials&client_secret=s3cr3t-value",
    )
    assert "s3cr3t-value" not in text and "abc123def456" not in text and "Cookie" not in text
    assert '-u "app:${SECRET:?export SECRET first (see the lines above)}"' in text
    assert '"client_secret=${SECRET:?export SECRET first (see the lines above)}"' in text


def test_the_code_redemption_snippet_names_the_server_and_the_test_user(run_against_a_sandbox):
    """A person reading it knows where it goes ($SERVER, the issuer's origin unless exported) and
    whom to sign in as (the test user as the file names them, the password's variable)."""
    sandbox, _, results = run_against_a_sandbox
    snippet = next(s for s in _snippets(results, "POST /connect/token") if "authorization_code" in s)
    assert f'SERVER="${{SERVER:-{sandbox.url.rstrip("/")}}}"' in snippet
    assert 'curl -i -X POST "$SERVER"/connect/token' in snippet and "127.0.0.1" not in snippet.split("\n")[-3:][0]
    assert "sign in as the test user test.user (password: $T_PASSWORD from " in snippet


def test_a_failed_check_carries_the_reproduction_and_an_embedded_sandbox_is_not_a_stopped_port(tmp_path):
    """The step whose check failed has the reproduction of the request it checked (made by the step
    before); against the embedded sandbox, whose port closed with the run, it asks for a new one."""
    results = tmp_path / "allure-results"
    result = run_suite("--rule=SVC-07", "--defect=no-store-missing", f"--alluredir={results}")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    failed = [
        r
        for r in map(json.loads, map(lambda p: p.read_text(), results.glob("*-result.json")))
        if r["status"] == "failed"
    ]
    assert failed
    for test in failed:
        step = next(s for s in test["steps"] if s["status"] == "failed")
        attached = [a for a in step.get("attachments", []) if a["name"].startswith("reproduce: POST /connect/token")]
        assert attached, (step["name"], step.get("attachments"))
        text = (results / attached[0]["source"]).read_text()
        assert "SERVER=\"${SERVER:?the run's sandbox has stopped: start one" in text
        assert '"$SERVER"/connect/token' in text
        assert not re.search(r"127\.0\.0\.1:(?!8080\b)\d+", text)  # the run's sandbox port, closed since


def test_a_made_up_refresh_token_or_code_is_sent_as_it_was_with_no_flow_to_run_first():
    """SVC-13 sends a refresh token it made up; the probe of a client's authentication a code nobody issued.
    The snippet sends them as they were sent: no REFRESH_TOKEN to export, no code redemption to run first,
    no authorization request to replay."""
    from steps.service_tokens import MADE_UP_REFRESH_TOKEN
    from suite.wire.reproduction import snippet

    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refresh = snippet(
        "POST",
        "https://issuer.example/connect/token",
        form,
        f"grant_type=refresh_token&refresh_token={MADE_UP_REFRESH_TOKEN}",
    )
    assert f"refresh_token={MADE_UP_REFRESH_TOKEN}" in refresh and "REFRESH_TOKEN" not in refresh, refresh
    assert "redemption snippet" not in refresh
    probe = snippet(
        "POST", "https://issuer.example/connect/token", form, "grant_type=authorization_code&code=never-issued-x1"
    )
    assert "code=never-issued-x1" in probe and "AUTHORIZATION_CODE" not in probe and "CODE_VERIFIER" not in probe
