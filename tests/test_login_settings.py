"""Login settings that do not fit the server's pages are the environment's fault, not the server's:
a configuration problem (exit code 4) that names the key and lists what the page offers. Public
clients never get, and never send, a secret."""

import pytest
from run import SANDBOX_YAML, run_suite, write_environment


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
