"""A secret written into another key than its own (a ${VAR} that fills client_secret too, or the same text)
is a configuration problem that names both keys and never the value, on both sides: an outside tester's
application named by its secret had it in 141 places of one run's reports, and a port or a URL taking
it echoed it in the configuration error (found 'p%41 +&=…')."""

import json
import os

import pytest
from outputs import encoded_forms, every_output, found_in
from run import run_appside, run_ci, write_environment

from appside.application import load_application
from suite.configuration.environment import load_environment
from suite.configuration.yaml_files import ConfigurationError

# every character an encoding changes: URL, form, JSON, Python's quotes, HTML, non-ASCII and an astral one
SECRET = "p%41 +&=:;?#/'\"\\é€😀-~x9Q"
WRITTEN = json.dumps(SECRET, ensure_ascii=False)  # the secret itself in a file: a YAML double-quoted scalar
EXIT_CONFIGURATION = 4

APPLICATION = """name: Hostile app
application:
  type: web
  client_id: hostile-web
  client_secret: ${HOSTILE_SECRET}
  redirect_uris: ["http://127.0.0.1:14401/callback"]
  scope: openid profile email
issuer:
  port: 14400
drive:
  sign_in_url: http://127.0.0.1:14401/login
  signed_in: {text: "Signed in."}
"""

# (what the file says instead, the key named) as the outside tester wrote them (/work/outsiders/hostile/files)
IN_ANOTHER_KEY = {
    "port": (("port: 14400", 'port: "${HOSTILE_SECRET}"'), "issuer.port"),
    "redirect URI": (('["http://127.0.0.1:14401/callback"]', '["${HOSTILE_SECRET}"]'), "application.redirect_uris[0]"),
    "URL's password": (
        (
            "sign_in_url: http://127.0.0.1:14401/login",
            'sign_in_url: "http://admin:${HOSTILE_SECRET}@127.0.0.1:14401/login"',
        ),
        "drive.sign_in_url",
    ),
    "name": (("name: Hostile app", 'name: "Hostile ${HOSTILE_SECRET}"'), "name"),
    "client_id": (("client_id: hostile-web", 'client_id: "${HOSTILE_SECRET}"'), "application.client_id"),
    "client_id copied": (("client_id: hostile-web", f"client_id: {WRITTEN}"), "application.client_id"),
}


def _not_shown(text: str) -> None:
    found = found_in({"message": text}, encoded_forms(SECRET, "hostile-web"))
    assert not found, f"the secret is shown as {sorted(found)}: {text}"


@pytest.mark.parametrize("where", IN_ANOTHER_KEY)
def test_an_application_files_secret_in_another_key_is_named_by_both_keys_never_shown(tmp_path, where):
    change, key = IN_ANOTHER_KEY[where]
    path = tmp_path / "app.yaml"
    path.write_text(APPLICATION.replace(*change), encoding="utf-8")
    with pytest.raises(ConfigurationError) as error:
        load_application(path, {"HOSTILE_SECRET": SECRET})
    assert [line for line in error.value.problems if line.startswith(f"{key}:")] == [
        line for line in error.value.problems if "application.client_secret" in line
    ], error.value.problems
    assert f"{key}: holds the value of application.client_secret" in str(error.value)
    _not_shown(str(error.value))


def test_the_command_that_hands_the_application_its_secret_may_hold_it(tmp_path):
    path = tmp_path / "app.yaml"
    launch = "drive:\n  launch: exec true --secret ${HOSTILE_SECRET}\n"
    path.write_text(APPLICATION.replace("drive:\n", launch), encoding="utf-8")
    application = load_application(path, {"HOSTILE_SECRET": "a-secret-a-shell-reads"})
    assert application.drive.launch == "exec true --secret a-secret-a-shell-reads"


def test_a_value_written_as_the_secret_is_quoted_as_whose_value_it_is(tmp_path):
    """Refused as the file is written, before any ${VAR} is filled in: the file's secrets are known first."""
    path = tmp_path / "app.yaml"
    path.write_text(APPLICATION.replace("port: 14400", f"port: {WRITTEN}"), encoding="utf-8")
    with pytest.raises(ConfigurationError) as error:
        load_application(path, {"HOSTILE_SECRET": SECRET})
    assert "issuer.port: is not allowed here (found the value of application.client_secret)" in str(error.value)
    _not_shown(str(error.value))


@pytest.mark.parametrize("where", ["client_id", "URL's password"])
def test_a_certification_of_such_a_file_stops_with_exit_4_and_shows_the_secret_nowhere(tmp_path, where):
    change, key = IN_ANOTHER_KEY[where]
    path, reports = tmp_path / "app.yaml", tmp_path / "reports"
    path.write_text(APPLICATION.replace(*change), encoding="utf-8")
    completed = run_appside(
        f"--app={path}",
        f"--compliance={reports / 'compliance.json'}",
        environ={"HOSTILE_SECRET": SECRET, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    outputs = every_output(completed.stdout + completed.stderr, reports, tmp_path)
    assert not found_in(outputs, encoded_forms(SECRET, "hostile-web"))
    assert completed.returncode == EXIT_CONFIGURATION, completed.stdout + completed.stderr
    assert f"{key}: holds the value of application.client_secret (${{HOSTILE_SECRET}} fills both)" in completed.stderr


ENVIRONMENT = """name: partner
issuer: https://login.example.com
clients:
  service:
    client_id: acme-service
    client_secret: ${ACME_SECRET}
    scope: visma_api:read
  web:
    client_id: acme-web
    client_secret: ${ACME_WEB_SECRET}
    redirect_uri: https://app.example.com/callback
    scope: openid
login:
  method: form
  username: test.user
  password: ${ACME_PASSWORD}
"""
VARIABLES = {"ACME_SECRET": SECRET, "ACME_WEB_SECRET": "web-secret-of-acme", "ACME_PASSWORD": "pass-word-of-acme"}

ENVIRONMENT_KEYS = {  # (what the file says instead, the key named, whose value it holds)
    "issuer": (
        ("issuer: https://login.example.com", 'issuer: "https://${ACME_SECRET}.example.com"'),
        "issuer",
        "clients.service.client_secret",
    ),
    "client_id": (
        ("client_id: acme-service", "client_id: ${ACME_SECRET}"),
        "clients.service.client_id",
        "clients.service.client_secret",
    ),
    "another client's client_id": (
        ("client_id: acme-web", f"client_id: {WRITTEN}"),
        "clients.web.client_id",
        "clients.service.client_secret",
    ),
    "username": (("username: test.user", "username: ${ACME_PASSWORD}"), "login.username", "login.password"),
}


@pytest.mark.parametrize("where", ENVIRONMENT_KEYS)
def test_an_environment_files_secret_in_another_key_is_named_by_both_keys_never_shown(tmp_path, where):
    change, key, secret_key = ENVIRONMENT_KEYS[where]
    path = write_environment(tmp_path, ENVIRONMENT.replace(*change))
    with pytest.raises(ConfigurationError) as error:
        load_environment(str(path), VARIABLES)
    assert error.value.problems[0].startswith(f"{key}: holds the value of {secret_key}"), error.value.problems
    assert [line for line in error.value.problems if line.startswith(f"{key}:")] == error.value.problems[:1]
    _not_shown(str(error.value))


def test_a_server_certification_of_such_a_file_stops_with_exit_4_and_records_no_secret(tmp_path):
    change, key, _ = ENVIRONMENT_KEYS["issuer"]
    path, reports = write_environment(tmp_path, ENVIRONMENT.replace(*change)), tmp_path / "reports"
    completed = run_ci(f"--env={path}", f"--reports={reports}", environ={**os.environ, **VARIABLES}, timeout=120)
    outputs = every_output(completed.stdout + completed.stderr, reports, tmp_path)
    assert not found_in(outputs, encoded_forms(SECRET, "acme-service"))
    assert completed.returncode == EXIT_CONFIGURATION, completed.stdout + completed.stderr
    assert any(f"{key}: holds the value of" in text for text in outputs.values()), outputs


SHORT = "ab1x"  # below the length from which the run masks a secret in everything it writes (MIN_SECRET_LENGTH)


def test_an_application_files_short_secret_is_refused_and_masked_in_every_line_that_quotes_it(tmp_path):
    """A secret the run could not mask is refused before the run starts (a command that carries it, drive.launch
    or drive.command, would have been echoed as it is, "`... --secret ab1x` exited 1"), and the refusal's own lines
    mask it, however short: drive.launch written as a list quoted it."""
    path = tmp_path / "app.yaml"
    path.write_text(APPLICATION.replace("drive:\n", f'drive:\n  launch: ["./app", "--secret", "{SHORT}"]\n'))
    with pytest.raises(ConfigurationError) as error:
        load_application(path, {"HOSTILE_SECRET": SHORT})
    quoted = (
        "drive.launch: must be of type string (found ['./app', '--secret', the value of application.client_secret])"
    )
    assert error.value.problems == [quoted], error.value.problems
    path.write_text(APPLICATION.replace("drive:\n", f"drive:\n  launch: exec true --secret {SHORT}\n"))
    with pytest.raises(ConfigurationError, match=r"application\.client_secret: shorter than 6 characters") as error:
        load_application(path, {"HOSTILE_SECRET": SHORT})
    assert SHORT not in str(error.value), error.value.problems


def test_an_environment_files_short_secret_is_taken_and_masked_in_every_line_that_quotes_it(tmp_path):
    """A real server's test user may have a short password: it is not refused (the application side refuses an
    application's short secret, which the partner chooses), but a configuration problem's line quoting it masks it."""
    path = write_environment(tmp_path, ENVIRONMENT.replace("scope: openid", f"scope: [{SHORT}]"))
    with pytest.raises(ConfigurationError) as error:
        load_environment(str(path), {**VARIABLES, "ACME_PASSWORD": SHORT})
    assert SHORT not in str(error.value), error.value.problems
    path = write_environment(tmp_path, ENVIRONMENT)
    assert load_environment(str(path), {**VARIABLES, "ACME_PASSWORD": SHORT})


def test_a_short_secret_that_is_a_key_name_is_masked_in_values_not_in_the_keys_a_line_names(tmp_path):
    """A test user's password `form` masked login.form wherever a line named it ("login.[login.password].x: unknown
    key", which also told the reader the password); the key a line begins with keeps the schema's names, while a
    key the file named by the secret, and every value after the colon, stay masked."""
    text = ENVIRONMENT.replace("scope: openid", "scope: [form]").replace(
        "username: test.user", "username: test.user\n  form: {consent_field: 3}\n  form.x: 2\n  blue: 1"
    )
    path = write_environment(tmp_path, text)
    with pytest.raises(ConfigurationError) as error:
        load_environment(str(path), {**VARIABLES, "ACME_PASSWORD": "form"})
    assert "login.form.consent_field: must be of type string" in str(error.value), error.value.problems
    assert "clients.web.scope: must be of type string (found [the value of login.password])" in str(error.value)
    with pytest.raises(ConfigurationError) as error:
        load_environment(str(path), {**VARIABLES, "ACME_PASSWORD": "blue"})
    assert "login.[login.password]: unknown key" in str(error.value), error.value.problems
