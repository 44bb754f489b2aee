"""An environment file without `login`: a service-only one certifies its service integration (a
rule that would need a sign-in is not checked, and says what to add), and one with an interactive
app is refused before any scenario runs (the files are those of an outsider certifying Spring
Authorization Server)."""

from run import run_ci, run_suite, write_environment

SERVICE_ONLY = """name: service-only
sandbox: {}
clients:
  service:
    client_id: sandbox-service
    client_secret: plain-secret
    scope: "connect_api:read"
    ungranted_scope: "visma_api:write"
capabilities: {tenants: false}
"""

SPA_WITHOUT_LOGIN = """name: spa-without-login
sandbox: {}
clients:
  spa:
    client_id: acme-spa
    redirect_uri: https://acme.app.local/spa-callback
    scope: openid profile email
"""

QUIET = ("-q", "-p", "no:cacheprovider")


def test_a_service_only_file_without_login_passes_svc19_where_the_server_answers_with_an_error_page(tmp_path):
    path = write_environment(tmp_path, SERVICE_ONLY)
    result = run_ci(f"--env={path}", f"--reports={tmp_path / 'reports'}", *QUIET)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "AttributeError" not in result.stdout and "VERDICT: CONFORMANT" in result.stdout


def test_a_service_only_file_without_login_leaves_svc19_unchecked_where_the_server_asks_for_a_sign_in(tmp_path):
    """The defect sends the service client's request on to the login page: without a test user the
    suite cannot see what comes after it, so SVC-19 is neither passed nor failed: the run is
    incomplete and says to add `login`."""
    path = write_environment(tmp_path, SERVICE_ONLY)
    reports = f"--reports={tmp_path / 'reports'}"
    result = run_ci(f"--env={path}", reports, "--rule=SVC-19", "--defect=service-client-signs-in", *QUIET)
    assert result.returncode == 5, result.stdout[-3000:]
    assert "AttributeError" not in result.stdout
    assert "add to the environment file to run them: login (SVC-19)" in result.stdout, result.stdout[-3000:]


def test_a_wrong_service_secret_without_login_is_a_configuration_problem_not_an_svc19_failure(tmp_path):
    from sandbox import SandboxServer, default_registry

    sandbox = SandboxServer(default_registry()).start()
    try:
        text = SERVICE_ONLY.replace("sandbox: {}", f"issuer: {sandbox.url}").replace(
            "client_secret: plain-secret", "client_secret: ${T_SERVICE_SECRET}"
        )
        path = write_environment(tmp_path, text.replace("connect_api:read", "visma_api:read"))
        result = run_suite(f"--env={path}", *QUIET, environ={"T_SERVICE_SECRET": "not-the-secret"})
    finally:
        sandbox.stop()
    assert result.returncode == 4, result.stdout[-3000:]
    assert "AttributeError" not in result.stdout and "failed: SVC-19" not in result.stdout, result.stdout[-3000:]


def test_an_interactive_file_without_login_is_refused_before_any_scenario_runs(tmp_path):
    path = write_environment(tmp_path, SPA_WITHOUT_LOGIN)
    result = run_suite(f"--env={path}", *QUIET)
    output = result.stdout + result.stderr
    assert result.returncode == 4, output[-3000:]
    assert f"{path}: login: missing, and clients.spa is an interactive app" in output, output[-3000:]
    assert "Add a login section" in output and " passed" not in output and "AttributeError" not in output
