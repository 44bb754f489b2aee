"""The manual login method with a person at a terminal: the suite prints the authorization URL,
the person signs in elsewhere and pastes the address the browser ended on. A pseudo-terminal
plays the person here; it signs in with the form method."""

import json
import os
import pty
import re
import select
import sys
import time
from pathlib import Path

from run import ROOT, SANDBOX_YAML, write_environment

from suite.configuration.environment import load_environment
from suite.wire.http import HttpClient
from suite.wire.login.form import FormLogin


def _read_until(fd, pattern, seconds=60) -> str:
    text, deadline = "", time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096).decode(errors="replace")
            except OSError:
                break
            if not chunk:
                break
            text += chunk
            if re.search(pattern, text):
                return text
    raise AssertionError(f"no {pattern!r} in the terminal output:\n{text[-2000:]}")


def _signed_in_by_a_person(tmp_path, rule: str, role: str):
    """The suite runs `rule` for `role`'s client with the manual method, attached to a
    pseudo-terminal as a user's shell would be; the person signs in with the same account. The
    suite's process id, the terminal, the address the person's browser ended on, and the environment."""
    path = write_environment(tmp_path, SANDBOX_YAML.replace("method: form", "method: manual"))
    person = load_environment(str(path))
    pid, terminal = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-m",
                "pytest",
                f"--env={path}",
                f"--rule={rule}",
                "-k",
                role,
                f"--compliance={tmp_path / 'compliance.json'}",
                "-p",
                "no:cacheprovider",
                "-q",
            ],
        )
    shown = _read_until(terminal, r"Paste that whole address here")
    url = re.search(r"^\s+(http://127\.0\.0\.1:\d+/connect/authorize\?\S+)", shown, flags=re.M).group(1)
    person.issuer = url.split("/connect/")[0]
    outcome = FormLogin(person, HttpClient(person.http)).authorize(url, person.clients[role].redirect_uri)
    assert outcome.kind == "callback"
    return pid, terminal, outcome.url, person


def test_a_person_pastes_the_callback_and_the_scenario_passes(tmp_path):
    pid, terminal, callback, _ = _signed_in_by_a_person(tmp_path, "AUTH-01", "spa")
    os.write(terminal, (callback + "\n").encode())
    result = _read_until(terminal, r"\d+ (passed|failed)")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, result
    assert "1 passed" in result


def test_a_code_pasted_after_it_expired_is_no_verdict(tmp_path):
    """A person who hands the callback over after the code's declared lifetime (2 s on the
    sandbox) since the authorization request was sent: the refusal of the expired code is no
    verdict (an environment problem), not a non-conformance. Counted from when the suite had the
    code in hand instead, the deadline fell after the redemption, and PKCE-01 failed."""
    pid, terminal, callback, environment = _signed_in_by_a_person(tmp_path, "PKCE-01", "web")
    # the person is slow: the code has expired on the sandbox
    time.sleep(environment.expectations.authorization_code_lifetime + 0.5)
    os.write(terminal, (callback + "\n").encode())
    result = _read_until(terminal, r"\d+ (passed|failed|error|could not be checked)")
    os.waitpid(pid, 0)
    [rule] = [r for r in json.loads((tmp_path / "compliance.json").read_text())["rules"] if r["rule_id"] == "PKCE-01"]
    assert rule["status"] == "error", result
    assert "past its deadline" in rule["scenarios"][0]["reason"], rule


def test_a_person_sends_the_request_by_post_from_the_page_the_suite_wrote(tmp_path):
    """AUTH-12 with the manual method: a person's browser POSTs only from a page, so the suite writes one
    with the request as a form and asks the person to open it. The pseudo-person submits that form as
    the browser would (the same fields, POSTed to its action), pastes the callback, and the rule passes;
    the page is gone once the address is pasted."""
    from urllib.parse import unquote, urlsplit

    from suite.wire.login.html_forms import forms_of

    path = write_environment(tmp_path, SANDBOX_YAML.replace("method: form", "method: manual"))
    person = load_environment(str(path))
    pid, terminal = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        os.execv(
            sys.executable,
            [
                sys.executable,
                "-m",
                "pytest",
                f"--env={path}",
                "--rule=AUTH-12",
                f"--compliance={tmp_path / 'compliance.json'}",
                "-p",
                "no:cacheprovider",
                "-q",
            ],
        )
    shown = _read_until(terminal, r"Paste that whole address here")
    assert "press its button" in shown
    address = re.search(r"^\s+(file://\S+\.html)", shown, flags=re.M)
    assert address, shown
    page = Path(unquote(urlsplit(address.group(1)).path))
    [form] = forms_of(page.read_text(), page.as_uri())
    assert (
        form.method == "POST" and urlsplit(form.action).path == "/connect/authorize" and not urlsplit(form.action).query
    )
    assert {"client_id", "state", "code_challenge", "redirect_uri"} <= set(form.fields)
    person.issuer = form.action.split("/connect/")[0]
    redirect_uri = person.clients["web"].redirect_uri
    assert redirect_uri
    outcome = FormLogin(person, HttpClient(person.http)).authorize(form.action, redirect_uri, form=form.fields)
    assert outcome.kind == "callback" and outcome.url
    os.write(terminal, (outcome.url + "\n").encode())
    result = _read_until(terminal, r"\d+ (passed|failed|error)")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, result
    assert "1 passed" in result
    assert not page.exists()
