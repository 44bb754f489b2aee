"""Application files are checked like environment files: one line per problem, naming the key
and the fix; secrets only as ${VAR}; the run stops with the configuration exit code."""

import os
import socket

import pytest
from run import ROOT, run_appside

from appside.application import load_application
from suite.configuration.environment import ConfigurationError

WEB = """name: my app
application:
  type: web
  client_id: my-web
  client_secret: ${MY_SECRET}
  redirect_uris: ["http://127.0.0.1:${MY_PORT:-5090}/callback"]
  scope: openid profile email
drive:
  sign_in_url: http://127.0.0.1:5090/login
  signed_in: {text: Welcome}
"""


def load(tmp_path, text, environ=None):
    path = tmp_path / "app.yaml"
    path.write_text(text)
    return load_application(path, environ if environ is not None else {"MY_SECRET": "s3cret-value"})


def test_a_good_file_loads_with_defaults_and_secrets_from_the_environment(tmp_path):
    application = load(tmp_path, WEB)
    assert application.redirect_uris == ("http://127.0.0.1:5090/callback",)
    assert application.client_secret == "s3cret-value" and application.drive.mode == "browser"
    assert load(tmp_path, WEB, {"MY_SECRET": "x" * 8, "MY_PORT": "6001"}).redirect_uris[0].endswith(":6001/callback")


@pytest.mark.parametrize(
    "change, message",
    [
        (("type: web", "type: desktop"), "application.type: must be one of web, spa, native, service"),
        (("client_secret: ${MY_SECRET}", "client_secret: inline-secret"), "a secret is written inline"),
        (("  signed_in: {text: Welcome}\n", ""), "drive.signed_in: missing"),
        (("  scope: openid profile email\n", ""), "application.scope: missing. Add it: the scopes the application"),
        (("  client_id: my-web\n", "  client_id: my-web\n  client_id: other\n"), "the key 'client_id' is given twice"),
        (("type: web", "type: spa"), "a spa application is public and has no secret"),
    ],
)
def test_problems_name_the_key_and_the_fix(tmp_path, change, message):
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, WEB.replace(*change))
    assert message in str(error.value)


def test_a_missing_variable_is_named(tmp_path):
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, WEB, {})
    assert "environment variable MY_SECRET is not set" in str(error.value)


def test_the_run_stops_with_the_configuration_exit_code(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(WEB.replace("type: web", "type: desktop"))
    completed = run_appside(f"--app={path}", environ={"MY_SECRET": "s3cret-value", "PATH": "/usr/bin:/bin"}, timeout=60)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "application.type: must be one of" in completed.stderr


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*/application.yaml"))
)
def test_every_example_application_file_loads(path):
    environ = {
        f"{name}_CLIENT_SECRET": "x" * 16
        for name in ("WEB_APP", "SERVICE_APP", "NODE_WEB_APP", "OAUTHLIB_WEB_APP", "HTTPX_SERVICE_APP")
    }
    application = load_application(ROOT / path, environ)
    assert application.drive.launch or application.drive.command


ALIAS_BOMB = 'name: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [{','.join(['*' + chr(97 + n)] * 9)}]\n" for n in range(8)
)
HOSTILE_FILES = {  # what the file does: (the file, what the one line says)
    "impossible-date": (WEB.replace("name: my app", "name: 2027-02-30"), "2027-02-30 is not a date"),
    "alias-bomb": (ALIAS_BOMB, "once its aliases (*name) are expanded"),
    "too-big": (WEB + "#" + "x" * (4 * 2**20) + "\n", "larger than 256 KB"),
    "inf": (WEB + "  timeout: .inf\n", ".inf is not a finite number"),
    "nan": (WEB + "  settle: .nan\n", ".nan is not a finite number"),
    "port-99999": (WEB + "issuer:\n  port: 99999\n", "issuer.port: "),
    "port-99999-variable": (WEB + "issuer:\n  port: ${MY_ISSUER_PORT:-99999}\n", "issuer.port: must be a port number"),
    "issuer-on-the-apps-port": (WEB + "issuer:\n  port: 5090\n", "issuer.port: 5090 is the application's own port"),
    "sign-in-elsewhere": (
        WEB.replace("sign_in_url: http://127.0.0.1:5090/login", "sign_in_url: https://app.example.com/login"),
        "drive.sign_in_url: app.example.com is not this machine",
    ),
    "secret-as-default": (
        WEB.replace("client_secret: ${MY_SECRET}", "client_secret: ${MY_UNSET:-Inline-Secret-1234}"),
        "application.client_secret: a secret is written inline",
    ),
}


@pytest.mark.parametrize("name", HOSTILE_FILES)
def test_a_hostile_application_file_gets_one_line_in_bounded_time_and_memory(tmp_path, name):
    import time
    import tracemalloc

    text, said = HOSTILE_FILES[name]
    tracemalloc.start()
    started = time.monotonic()
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, text)
    seconds, peak = time.monotonic() - started, tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert said in str(error.value), str(error.value)
    assert "Inline-Secret-1234" not in str(error.value)
    assert seconds < 2 and peak < 64 << 20, (seconds, peak >> 20)


@pytest.mark.parametrize("name", ["impossible-date", "port-99999-variable", "sign-in-elsewhere"])
def test_a_hostile_application_file_stops_the_run_with_the_configuration_exit_code(tmp_path, name):
    path = tmp_path / "app.yaml"
    path.write_text(HOSTILE_FILES[name][0])
    completed = run_appside(f"--app={path}", environ={"MY_SECRET": "s3cret-value", "PATH": "/usr/bin:/bin"}, timeout=60)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert HOSTILE_FILES[name][1] in completed.stderr and "Traceback" not in completed.stderr, completed.stderr


SERVICE = """name: my service
application: {type: service, client_id: my-service, client_secret: "${MY_SECRET}", scope: visma_api:read}
drive: {mode: command, command: "true"}
"""


@pytest.mark.parametrize(
    "problem",
    ["an unknown application type", "an issuer.port another process listens on"],
)
def test_a_configuration_problem_is_one_line_and_loses_nothing_of_the_previous_run(tmp_path, problem):
    """The issuer's port in use stopped the run with werkzeug's exit, an INTERNALERROR traceback and
    exit 3; and --clean-alluredir (make certify-app) deleted the previous run's Allure results before
    the application file was read."""
    reports, path = tmp_path / "reports", tmp_path / "app.yaml"
    (reports / "allure-results").mkdir(parents=True)
    previous = {reports / "compliance.json": '{"verdict": "conformant"}', reports / "allure-results" / "r.json": "{}"}
    for file, text in previous.items():
        file.write_text(text)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        if problem.startswith("an unknown"):
            path.write_text(SERVICE.replace("type: service", "type: daemon"))
        else:
            path.write_text(SERVICE + f"issuer: {{port: {port}}}\n")
        completed = run_appside(
            f"--app={path}",
            f"--compliance={reports / 'compliance.json'}",
            f"--alluredir={reports / 'allure-results'}",
            "--clean-alluredir",
            environ={"MY_SECRET": "s3cret-value", "PATH": "/usr/bin:/bin"},
            timeout=60,
        )
    assert completed.returncode == 4, completed.stdout + completed.stderr
    if not problem.startswith("an unknown"):
        assert completed.stderr.strip().splitlines()[1:] == [
            f"issuer.port: cannot listen on {port}: another process is listening on it; stop it or choose "
            "another port (0: any free one)"
        ], completed.stderr
    assert {file: file.read_text() for file in previous} == previous, "the previous run's reports were changed"


def test_a_program_that_does_not_exist_is_named_past_the_variables_set_for_it(tmp_path):
    """drive.launch and drive.command run as shell commands: `NAME=value program`'s program is the
    second word, and one that does not exist is a configuration problem, not every rule failing."""
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, WEB + "  launch: APP_PORT=5090 /nonexistent/run-app.sh --port 5090\n")
    assert "drive.launch: /nonexistent/run-app.sh does not exist" in str(error.value)


def test_every_unknown_key_is_named_at_once_with_the_key_it_is_closest_to(tmp_path):
    """Two typos: both named (`tpye` was named only when alone), each with its likely key."""
    text = WEB.replace("  type: web", "  tpye: web").replace("client_secret:", "client_secert:")
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, text)
    problems = str(error.value)
    assert "application.tpye: unknown key. Did you mean type?" in problems, problems
    assert "application.client_secert: unknown key. Did you mean client_secret?" in problems, problems
    assert "application.type: missing" in problems
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, WEB.replace("drive:\n", "drive:\n  colour: blue\n"))
    assert "drive.colour: unknown key. Allowed here:" in str(error.value)  # nothing close: no guess


@pytest.mark.parametrize(
    "text, misspelt, required",
    [
        (WEB.replace("  signed_in:", "  signed-in:"), "drive.signed-in", "drive.signed_in"),  # Nimbus's outsider
        (WEB.replace("  sign_in_url:", "  signin_url:"), "drive.signin_url", "drive.sign_in_url"),
        (WEB.replace("  client_secret:", "  client_secert:"), "application.client_secert", "application.client_secret"),
        (SERVICE.replace("command: ", "comand: "), "drive.comand", "drive.command"),
        (
            SERVICE.replace("client_secret: ", "client-secret: "),
            "application.client-secret",
            "application.client_secret",
        ),
    ],
)
def test_a_misspelt_required_key_is_named_unknown_and_its_right_spelling_missing_at_once(
    tmp_path, text, misspelt, required
):
    """The docs promise every problem of the file at once: `signed-in:` got "Did you mean signed_in?" but never
    that the required drive.signed_in is missing, which the next run then said alone. The keys an application's
    type and drive.mode require are named with the schema's problems, each once."""
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, text)
    problems = str(error.value)
    assert f"{misspelt}: unknown key." in problems, problems
    assert problems.count(f"{required}: missing.") == 1, problems


def test_a_required_key_missing_is_named_with_a_variable_unset(tmp_path):
    """Every problem at once: an unset ${VAR} was named alone, and the missing drive.signed_in only in the
    next run."""
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, WEB.replace("  signed_in: {text: Welcome}\n", ""), environ={})
    problems = str(error.value)
    assert "MY_SECRET" in problems and "drive.signed_in: missing." in problems, problems


def test_a_program_named_without_a_folder_that_is_no_command_gets_the_hint_a_relative_path_gets(tmp_path):
    """`launch: run.sh`: a shell looks for it on PATH only ("run.sh: not found", exit 127, once launched)."""
    (tmp_path / "run-app.sh").write_text("#!/bin/sh\n")
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, WEB + "  launch: APP_PORT=5090 run-app.sh\n")
    assert "drive.launch: run-app.sh is no command on PATH" in str(error.value)
    assert f"it is at {tmp_path / 'run-app.sh'}: write that path" in str(error.value)
    for command in ("sh -c true", "exec env true", "cd /tmp && ./x", "(cd /tmp && true)"):
        load(tmp_path, WEB + f"  launch: '{command}'\n")  # on PATH, a builtin, a subshell: no problem


def test_an_application_that_answers_elsewhere_shows_its_output_and_the_hint(tmp_path):
    from appside.launcher import LaunchedApplication, LaunchFailed
    from appside.stand_in import free_port

    url = f"http://127.0.0.1:{free_port()}/login"
    launched = LaunchedApplication("echo listening on http://127.0.0.1:7999; sleep 30", {}, url, tmp_path / "log")
    with pytest.raises(LaunchFailed) as error:
        launched.wait_until_ready(timeout=1.5)
    message = str(error.value)
    assert f"did not answer at {url} within 1.5 s; its output so far: listening on http://127.0.0.1:7999" in message
    assert "If it listens on another port or path, make the URL name it" in message


NATIVE = """name: visma-whoami
application:
  type: native
  client_id: visma-whoami
  redirect_uris: ["http://127.0.0.1/callback"]
  scope: openid profile email
drive:
  mode: manual
  sign_in_url: http://127.0.0.1:7401/login
"""


@pytest.mark.parametrize("secret", ["${WHOAMI_SECRET}", '"p@ss w+rd%41"', "${WHOAMI_SECRET:-fallback}"])
def test_a_public_application_with_a_secret_is_told_to_remove_it_not_to_export_or_write_it(tmp_path, secret):
    """The public-app rule comes first: a native app's `client_secret: ${UNSET}` said "export
    WHOAMI_SECRET", an inline one "Write client_secret: ${APP_CLIENT_SECRET}"; neither is the fix."""
    text = NATIVE.replace("  scope:", f"  client_secret: {secret}\n  scope:")
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, text, {})
    assert "application.client_secret: a native application is public and has no secret" in str(error.value)
    assert "remove the key" in str(error.value)
    assert "export" not in str(error.value).lower() and "APP_CLIENT_SECRET" not in str(error.value)


def test_a_port_out_of_range_names_the_range(tmp_path):
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, NATIVE + "issuer:\n  port: 74000\n")
    assert "issuer.port:" in str(error.value) and "0 to 65535" in str(error.value)


def test_drive_output_file_is_read_from_the_suites_folder_and_its_folder_must_exist(tmp_path):
    application = load(tmp_path, NATIVE.replace("  mode: manual", f"  mode: manual\n  output_file: {tmp_path}/o.log"))
    assert application.drive.output_file == f"{tmp_path}/o.log"
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, NATIVE.replace("  mode: manual", f"  mode: manual\n  output_file: {tmp_path}/none/o.log"))
    assert f"drive.output_file: the folder {tmp_path}/none does not exist" in str(error.value)


@pytest.mark.parametrize(
    "output, kind",
    [
        ("/proc/self/environ", "a file of the kernel's proc filesystem"),
        ("/dev/zero", "a character device"),
        ("FIFO", "a named pipe"),
        ("FOLDER", "a folder"),
    ],
)
def test_drive_output_file_that_is_no_regular_file_is_refused_in_one_line(tmp_path, output, kind):
    """/proc/self/environ made the suite print its own environment (the operator's keys) into every report,
    /dev/zero grew it to 21.7 GB, a named pipe held it for ever: each is refused before anything starts."""
    if output == "FIFO":
        output = str(tmp_path / "fifo")
        os.mkfifo(output)
    elif output == "FOLDER":
        output = str(tmp_path)
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, NATIVE.replace("  mode: manual", f"  mode: manual\n  output_file: {output}"))
    assert f"drive.output_file: {output} is {kind}" in str(error.value)
    assert "not a regular file" in str(error.value)


def test_drive_output_file_in_proc_stops_the_run_with_exit_4_and_nothing_of_the_environment(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(NATIVE.replace("  mode: manual", "  mode: manual\n  output_file: /proc/self/environ"))
    completed = run_appside(f"--app={path}", f"--compliance={tmp_path / 'reports' / 'compliance.json'}", timeout=60)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    said = completed.stdout + completed.stderr
    assert "drive.output_file: /proc/self/environ is a file of the kernel's proc filesystem" in said
    assert "PATH=" not in said and not (tmp_path / "reports").exists()


def test_a_configuration_problem_makes_no_reports_folder(tmp_path):
    """docs/reference-exit-codes.md: a configuration problem changes nothing; the reports folder's lock
    made --compliance's folder before the application file was read, and left it behind, empty."""
    path, reports = tmp_path / "app.yaml", tmp_path / "new" / "reports"
    path.write_text(NATIVE + "issuer:\n  port: 74000\n")
    completed = run_appside(f"--app={path}", f"--compliance={reports / 'compliance.json'}", timeout=60)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert not (tmp_path / "new").exists()


LAUNCH_FAILS = """name: a SPA whose launch fails
application: {type: spa, client_id: my-spa, redirect_uris: ["http://127.0.0.1:PORT/callback"], scope: openid}
drive:
  launch: LAUNCH
  sign_in_url: http://127.0.0.1:PORT/login
  signed_in: {selector: "#user"}
"""


def _files(folder):
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_launch_that_fails_after_a_good_run_leaves_every_report_of_that_run(tmp_path):
    """`make certify-app` (python -m appside.certify) after a good run, with an application that exits
    before it answers or never answers at its address: exit 4, and JUnit XML, the record, the Allure
    results and the HTML report are the good run's. JUnit's plugin wrote an empty "tests=0 failures=0"
    file over it at the session's end, which a CI job read as a green run."""
    import subprocess
    import sys

    from appside.stand_in import free_port

    reports = tmp_path / "reports"
    good = subprocess.run(
        [
            sys.executable,
            "-m",
            "appside.certify",
            f"--reports={reports}",
            "--app=examples/service_app/application.yaml",
        ],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SERVICE_APP_CLIENT_SECRET": "s3cret-value"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr
    assert 'tests="0"' not in (reports / "junit.xml").read_text()
    kept = _files(reports)
    assert any(path.parent.name == "allure-results" for path in kept) and (reports / "allure-report").is_dir()
    port = free_port()
    for launch in ("sh -c 'echo bye; exit 1'", "sleep 60"):  # exits at once; answers nowhere (20 s)
        path = tmp_path / "app.yaml"
        path.write_text(LAUNCH_FAILS.replace("PORT", str(port)).replace("LAUNCH", launch))
        failed = subprocess.run(
            [sys.executable, "-m", "appside.certify", f"--reports={reports}", f"--app={path}"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        terminal = failed.stdout + failed.stderr
        assert failed.returncode == 4, terminal[-2000:]
        assert terminal.count("ERROR: configuration problem") == 1, terminal
        assert "drive.launch: the application " in failed.stderr
        changed = sorted(str(p.relative_to(reports)) for p in set(kept) ^ set(_files(reports)))
        changed += sorted(str(p.relative_to(reports)) for p, text in _files(reports).items() if kept.get(p) != text)
        assert not changed, f"{launch}: the good run's reports changed: {changed}"


@pytest.mark.parametrize(
    "kind, said",
    [("fifo", "not a regular file (a named pipe)"), ("loop", "cannot be read (Too many levels of symbolic links)")],
)
def test_an_application_file_that_is_no_regular_file_stops_the_run_with_one_line(tmp_path, kind, said):
    """A FIFO as --app blocked the certification forever; a symlink loop was a RuntimeError traceback (exit 3)."""
    path = tmp_path / "app.yaml"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(tmp_path / "other.yaml")
        (tmp_path / "other.yaml").symlink_to(path)
    completed = run_appside(f"--app={path}", environ={"PATH": "/usr/bin:/bin"}, timeout=60)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert said in completed.stderr and "Traceback" not in completed.stderr, completed.stderr


@pytest.mark.parametrize(
    "drive, said",
    [
        ('url: "http://[::1:9802/x"', "drive.url: not a usable URL (Invalid IPv6 URL)"),  # was a ValueError traceback
        ('url: "http://127.0.0.1:99999/x"', "drive.url: not a usable URL (Port out of range 0-65535)"),  # accepted
        ('url: "http://127.0.0.1:0/x"', "drive.url: port 0 cannot be connected to"),
        ('url: "http://me:Pa55-w0rd-1@127.0.0.1:9802/x"', "drive.url: has a user:password@ part; remove the user"),
        ('url: "http://me:Pa55-w0rd-1@[::1:9802/x"', "drive.url: has a user:password@ part; remove the user"),
    ],
)
def test_an_unusable_url_of_a_service_is_one_line_naming_the_key(tmp_path, drive, said):
    text = SERVICE.replace(
        'drive: {mode: command, command: "true"}', f'drive: {{mode: command, command: "true", {drive}}}'
    )
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, text)
    assert said in str(error.value) and len(error.value.problems) == 1, str(error.value)
    assert "Pa55-w0rd-1" not in str(error.value)


def test_a_redirect_uri_with_a_password_is_refused_without_echoing_it(tmp_path):
    text = WEB.replace("http://127.0.0.1:${MY_PORT:-5090}/callback", "http://u:Pa55-w0rd-1@127.0.0.1:5090/callback")
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, text)
    assert "application.redirect_uris[0]: has a user:password@ part" in str(error.value)
    assert "Pa55-w0rd-1" not in str(error.value)


def test_a_url_that_breaks_the_parser_stops_the_run_with_exit_4(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(SERVICE.replace('command: "true"}', 'command: "true", url: "http://[::1:9802/x"}'))
    completed = run_appside(f"--app={path}", environ={"MY_SECRET": "s3cret-value", "PATH": "/usr/bin:/bin"}, timeout=60)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "drive.url: not a usable URL" in completed.stderr and "Traceback" not in completed.stderr, completed.stderr


@pytest.mark.parametrize(
    "wait, said",
    [
        ("timeout: 1000000000000000000000000000000", "drive.timeout: at most 3600 seconds"),  # accepted: never ends
        ("timeout: 1.0e+30", "drive.timeout: at most 3600 seconds"),
        ('timeout: "99999"', "drive.timeout: at most 3600 seconds"),
        ("settle: 601", "drive.settle: at most 600 seconds"),
    ],
)
def test_a_wait_longer_than_the_server_sides_longest_is_refused(tmp_path, wait, said):
    text = SERVICE.replace('command: "true"}', f'command: "true", {wait}}}')
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, text)
    assert said in str(error.value) and len(error.value.problems) == 1, str(error.value)


def test_the_longest_waits_are_accepted(tmp_path):
    application = load(tmp_path, SERVICE.replace('command: "true"}', 'command: "true", timeout: 3600, settle: 600}'))
    assert (application.drive.timeout, application.drive.settle) == (3600, 600)


def test_a_variable_holding_a_newline_is_refused_in_an_identifier_not_in_the_secret(tmp_path):
    for text, environ, key in [
        (WEB.replace("client_id: my-web", "client_id: ${MY_ID}"), {"MY_ID": "my\nweb"}, "application.client_id"),
        (WEB, {"MY_PORT": "5090\n"}, "application.redirect_uris"),  # ${MY_PORT:-5090}
    ]:
        with pytest.raises(ConfigurationError) as error:
            load(tmp_path, text, {"MY_SECRET": "s3cret-value", **environ})
        assert f"{key}: environment variable {next(iter(environ))} holds a control character" in str(error.value)
        assert len(error.value.problems) == 1, str(error.value)
    assert load(tmp_path, WEB, {"MY_SECRET": "s3cret\nvalue"}).client_secret == "s3cret\nvalue"


def test_a_relative_application_path_that_does_not_exist_names_the_folder_it_was_read_from(tmp_path, monkeypatch):
    """`--app=app.yaml` run from another folder than the file's: the message named only the path, not
    where the suite had looked for it."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as missing:
        load_application("apps/app.yaml")
    assert f"no such application file in {tmp_path} (a relative path" in str(missing.value), missing.value
    with pytest.raises(ConfigurationError) as absolute:
        load_application(tmp_path / "app.yaml")
    assert str(tmp_path) + " (a relative" not in str(absolute.value)


@pytest.mark.parametrize("written, meant", [("SPA", "spa"), ("webapp", "web"), ("Service", "service")])
def test_a_misspelt_type_is_named_with_the_type_meant_and_no_other_types_keys(tmp_path, written, meant):
    """`type: SPA` also printed "drive.command: missing ... service" and "client_secret: missing. A service
    application has a secret": the keys of a type the file does not have."""
    path = tmp_path / "application.yaml"
    path.write_text(
        f"name: x\napplication:\n  type: {written}\n  client_id: acme\n"
        '  redirect_uris: ["http://127.0.0.1:12602/cb"]\n  scope: openid email profile\n'
        'drive:\n  sign_in_url: http://127.0.0.1:12602/login\n  signed_in: {selector: "#user"}\n'
    )
    with pytest.raises(ConfigurationError) as refused:
        load_application(path, {})
    said = str(refused.value)
    assert f"application.type: must be one of web, spa, native, service (found '{written}')" in said
    assert f"Did you mean {meant}?" in said, said
    assert "drive.command" not in said and "client_secret" not in said, said
