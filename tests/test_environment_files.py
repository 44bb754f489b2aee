"""A broken environment file gives one clear message per cause, exit code 4, and no traceback."""

import pytest
from run import SANDBOX_YAML, run_suite, write_environment

EXIT_CONFIGURATION_PROBLEM = 4


def _assert_clean_refusal(result, *expected_lines):
    output = result.stdout + result.stderr
    assert result.returncode == EXIT_CONFIGURATION_PROBLEM, output
    assert "Traceback" not in output and "Error:" not in output.replace("ERROR:", ""), output
    assert " passed" not in output and " failed" not in output, "no scenario may run"
    for line in expected_lines:
        assert line in output, f"{line!r} not in:\n{output}"


@pytest.mark.parametrize("edit, message", [
    (lambda y: y.replace("  web:\n", "  web:\n    colour: blue\n"),
     "clients.web.colour: unknown key. Allowed here: client_id, client_secret, redirect_uri, scope"),
    (lambda y: y.replace("access_token_lifetime: 3600", "access_token_lifetime: one hour"),
     "expectations.access_token_lifetime: must be of type integer (found 'one hour')"),
    (lambda y: y.replace("    client_id: sandbox-spa\n", ""),
     "clients.spa.client_id: missing. Add it"),
    (lambda y: y.replace("refresh_token_rotation: one_time", "refresh_token_rotation: sometimes"),
     "expectations.refresh_token_rotation: must be one of one_time, reuse (found 'sometimes'). "
     "Write one_time (a new refresh token each time) or reuse"),
    (lambda y: y.replace("redirect_uri: https://spa.app.local/callback", "redirect_uri: spa.app.local"),
     "clients.spa.redirect_uri: has the wrong form (found 'spa.app.local')"),
    (lambda y: y.replace("sandbox:\n  defects: []", "issuer: https://example.invalid\nsandbox: {}"),
     "give exactly one of `issuer:` (a real server) or `sandbox:` (the embedded sandbox)"),
    (lambda y: y + "\nclients: [oops\n", "not valid YAML at line"),
])
def test_schema_errors_name_file_key_and_fix(tmp_path, edit, message):
    path = write_environment(tmp_path, edit(SANDBOX_YAML))
    _assert_clean_refusal(run_suite(f"--env={path}"), f"{path}: {message}")


def test_unset_variables_are_each_named(tmp_path):
    text = SANDBOX_YAML.replace("client_id: sandbox-web\n", "client_id: ${MY_WEB_ID}\n").replace(
        "username: test.user", "username: ${MY_TEST_USER}")
    path = write_environment(tmp_path, text)
    _assert_clean_refusal(
        run_suite(f"--env={path}"),
        "clients.web.client_id: environment variable MY_WEB_ID is not set. Export it",
        "login.username: environment variable MY_TEST_USER is not set. Export it")


def test_inline_secret_for_a_real_server_is_refused(tmp_path):
    text = SANDBOX_YAML.replace("sandbox:\n  defects: []", "issuer: https://connect.example.invalid")
    path = write_environment(tmp_path, text)
    _assert_clean_refusal(
        run_suite(f"--env={path}"),
        "clients.service.client_secret: a secret is written inline. Write `client_secret: "
        "${VISMA_CLIENTS_SERVICE_CLIENT_SECRET}`")
    assert "sandbox-service-secret" not in run_suite(f"--env={path}").stdout


def test_unknown_environment_name_lists_the_known_ones():
    _assert_clean_refusal(run_suite("--env", "nowhere"),
                          "no such environment file. Known environments: oidc-provider, partner-template, "
                          "sandbox, sandbox-browser, visma-production, visma-staging")


def test_unknown_defect_is_a_configuration_problem():
    _assert_clean_refusal(run_suite("--defect", "no-such-defect"), "unknown sandbox defect(s): no-such-defect")


def test_defects_only_apply_to_the_sandbox(tmp_path):
    result = run_suite("--env", "visma-production", "--defect", "code-reusable",
                       environ={name: "https://app.local/cb" for name in _production_variables()})
    _assert_clean_refusal(result, "--defect works with the embedded sandbox only")


def test_production_without_secrets_names_every_missing_variable():
    result = run_suite("--env", "visma-production")
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "is not set" in line]
    assert sorted(line.split("environment variable ")[1].split()[0] for line in lines) == sorted(_production_variables())
    _assert_clean_refusal(result, "environments/visma-production.yaml: clients.service.client_secret: "
                                  "environment variable VISMA_SERVICE_CLIENT_SECRET is not set")


def test_production_unreachable_ends_with_one_message():
    """With every variable set but no network, the run stops once, naming the issuer and the cause."""
    result = run_suite("--env", "visma-production", environ={name: "https://app.local/cb" for name in _production_variables()})
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "environment problem: cannot reach https://connect.visma.com" in output, output
    assert "Traceback" not in output and " failed" not in output, output


def _production_variables():
    import re

    from run import ROOT
    return sorted(set(re.findall(r"\$\{(\w+)\}", (ROOT / "environments" / "visma-production.yaml").read_text())))
