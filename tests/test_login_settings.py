"""Login settings that do not fit the server's pages are the environment's fault, not the server's:
a configuration problem (exit code 4) that names the key and lists what the page offers. Public
clients never get, and never send, a secret."""

import json

import pytest
from run import SANDBOX_SECRETS, SANDBOX_YAML, run_suite, write_environment, write_sandbox_environment


def with_form_settings(lines: str) -> str:
    """The sandbox's environment with more `login.form` settings, in its own `form:` block (a
    second `form:` key would be refused as a duplicate before the suite looked at any page)."""
    assert SANDBOX_YAML.count("\n  form:\n") == 1
    return SANDBOX_YAML.replace("\n  form:\n", "\n  form:\n" + lines)


@pytest.mark.parametrize(
    "setting, named, offered",
    [
        (
            "    password_field: pwd\n",
            "configuration problem: login.form.username_field / login.form.password_field",
            "it offers fields password, returnUrl, username",
        ),
        (
            "    consent_value: accept\n",
            "login.form.consent_field / login.form.consent_value",
            "decision='allow', decision='deny'",
        ),
    ],
    ids=["login page without the configured field", "consent page without the configured button"],
)
def test_a_page_without_the_configured_control_is_a_configuration_problem(tmp_path, setting, named, offered):
    path = write_environment(tmp_path, with_form_settings(setting))
    result = run_suite(f"--env={path}", "--rule=AUTH-01", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 4, result.stdout[-2000:]
    assert named in result.stdout and offered in result.stdout
    assert "could not be checked (configuration problem): AUTH-01" in result.stdout
    assert "non-conformance" not in result.stdout.lower()


def test_a_secret_for_a_public_client_is_refused_before_anything_runs(tmp_path):
    path = write_environment(
        tmp_path,
        SANDBOX_YAML.replace("    client_id: sandbox-spa\n", "    client_id: sandbox-spa\n    client_secret: leaked\n"),
    )
    result = run_suite(f"--env={path}")
    assert result.returncode == 4
    assert "clients.spa.client_secret: spa apps are public clients and have no secret" in result.stdout + result.stderr


def test_a_login_page_refusing_the_environments_test_user_is_a_configuration_problem(tmp_path):
    """A wrong password in the environment is bad input, not a server refusing its own test user: the
    suite cannot tell them apart, so no rule that needed the sign-in fails for it (docs/certify-server.md)."""
    from sandbox import SandboxServer, default_registry

    sandbox = SandboxServer(default_registry()).start()
    try:
        path = write_sandbox_environment(tmp_path, sandbox.url, "mistyped")
        result = run_suite(
            f"--env={path}",
            "--rule=AUTH-01",
            "--rule=AUTH-02",
            "-q",
            "-p",
            "no:cacheprovider",
            environ={**SANDBOX_SECRETS, "T_PASSWORD": "mistyped-password"},
        )
    finally:
        sandbox.stop()
    assert result.returncode == 4, result.stdout[-3000:]
    assert "login.username / login.password: the login page" in result.stdout
    assert "could not be checked (configuration problem): AUTH-01 (blocker), AUTH-02 (critical)" in result.stdout, (
        result.stdout[-3000:]
    )
    assert "non-conformance" not in result.stdout.lower() and "mistyped-password" not in result.stdout


def test_an_identifier_first_login_page_says_to_use_the_browser_method(tmp_path):
    """A login page that asks for the username alone (the password on a page after it, as
    django-oidc-provider's two-step template does) cannot be driven by the form method: the run says
    so and names login.method: browser, not the consent button it did not reach."""
    from faulty_servers import FaultyProxy

    from sandbox import SandboxServer, default_registry

    def identifier_first(method, path, status, headers, body):
        if b'type="password"' in body:
            body = body.replace(b'<input type="password" id="password" name="password"', b'<input type="hidden"')
        return status, headers, body

    proxy = FaultyProxy([], rewrite=identifier_first)
    sandbox = SandboxServer(default_registry(), issuer=proxy.url).start()
    proxy.target = sandbox.url
    try:
        path = write_sandbox_environment(tmp_path, proxy.url, "two-step")
        result = run_suite(f"--env={path}", "--rule=AUTH-01", "-q", "-p", "no:cacheprovider", environ=SANDBOX_SECRETS)
    finally:
        proxy.close()
        sandbox.stop()
    assert result.returncode == 4, result.stdout[-3000:]
    assert "a two-step (identifier-first) sign-in" in result.stdout, result.stdout[-3000:]
    assert "use login.method: browser" in result.stdout and "consent_field" not in result.stdout


@pytest.mark.parametrize("defect, expected", [(None, "passed"), ("consent-denial-ignored", "failed")])
def test_a_refusal_that_leaves_the_consent_field_out_is_declared_and_judged(tmp_path, defect, expected):
    """django-oidc-provider grants consent for any non-empty `allow`, and its Decline button has no
    name: its refusal is the consent form sent without the field (login.form.consent_deny_omits_field)."""
    path = write_environment(
        tmp_path, SANDBOX_YAML.replace("    consent_deny_value: deny", "    consent_deny_omits_field: true")
    )
    record = tmp_path / "compliance.json"
    switch = [f"--defect={defect}"] if defect else []
    result = run_suite(
        f"--env={path}", "--rule=CONS-01", *switch, f"--compliance={record}", "-q", "-p", "no:cacheprovider"
    )
    (rule,) = json.loads(record.read_text())["rules"]
    assert rule["status"] == expected, result.stdout[-3000:]


def test_two_ways_of_refusing_consent_are_refused(tmp_path):
    path = write_environment(
        tmp_path,
        SANDBOX_YAML.replace(
            "    consent_deny_value: deny", "    consent_deny_value: deny\n    consent_deny_omits_field: true"
        ),
    )
    result = run_suite(f"--env={path}", "--rule=CONS-01", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 4
    assert (
        "consent_deny_value and consent_deny_omits_field both say how consent is refused"
        in result.stdout + result.stderr
    )


@pytest.mark.parametrize("environment", ["sandbox", "sandbox-browser"])
def test_a_consent_page_with_its_decision_in_a_hidden_field_is_granted_and_refused(tmp_path, environment):
    """A consent page that carries the decision in a hidden field, its buttons unnamed, a script setting the
    refusal (LemonLDAP::NG's confirm.tpl, with fixed values). The form method sends the field set to
    login.form.consent_value to grant and to consent_deny_value to refuse (it had found no consent
    button, a configuration problem); the browser presses the buttons, the page's script decides."""
    if environment == "sandbox-browser":
        from suite.wire.browser import chromium_path

        if chromium_path() is None:
            pytest.skip("needs Debian's chromium")
    record = tmp_path / "compliance.json"
    result = run_suite(
        f"--env={environment}",
        "--defect=consent-hidden-field",
        "--rule=CONS-01",
        "--rule=AUTH-01",
        "-k",
        "web or CONS",
        f"--compliance={record}",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    statuses = {r["rule_id"]: r["status"] for r in json.loads(record.read_text())["rules"]}
    assert statuses == {"AUTH-01": "passed", "CONS-01": "passed"}, result.stdout[-3000:]
