"""Application certification ends clean: SIGTERM ends the run and the application it launched with
everything that application put in the background; two certifications into one reports folder are
not run at once; a service command's output is read as it comes, only its tail kept."""

import http.server
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from run import ROOT, run_appside

from suite.wire.browser import chromium_path


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium")
def test_sigterm_ends_the_certification_and_the_launched_application_with_its_background(tmp_path):
    pid_file, reports = tmp_path / "background.pid", tmp_path / "reports"
    application = tmp_path / "application.yaml"
    application.write_text(
        (ROOT / "examples/web_app/application.yaml")
        .read_text()
        .replace(
            "launch: .venv/bin/python examples/web_app/app.py",
            f'launch: "sleep 300 & echo $! > {pid_file}; exec .venv/bin/python examples/web_app/app.py"',
        )
    )
    environ = {**os.environ, "WEB_APP_CLIENT_SECRET": "App-Secret-4c9e1f7b", "WEB_APP_PORT": _free_port()}
    command = [
        sys.executable,
        "-m",
        "appside",
        f"--app={application}",
        f"--compliance={reports / 'compliance.json'}",
        f"--alluredir={reports / 'allure-results'}",
        "-p",
        "no:cacheprovider",
    ]
    running = subprocess.Popen(
        command, cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 60, "the application was not launched")
        background = int(pid_file.read_text())
        second = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)
        assert second.returncode == 4 and "is writing its reports here" in second.stdout + second.stderr, (
            second.stdout + second.stderr
        )[-2000:]
        running.send_signal(signal.SIGTERM)
        running.wait(timeout=60)
        _wait_for(lambda: not _alive(background), 10, "the application's background process outlived the run")
    finally:
        running.kill()
        if pid_file.exists() and pid_file.read_text().strip() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _service_driver(command: str, timeout: float = 60):
    from appside.service_driver import ServiceDriver

    application = SimpleNamespace(drive=SimpleNamespace(mode="command", command=command, timeout=timeout))
    return ServiceDriver(application, "http://127.0.0.1:9")


def test_a_service_commands_background_ends_with_it(tmp_path):
    pid_file = tmp_path / "background.pid"
    run = _service_driver(f"sh -c 'sleep 300 & echo $! > {pid_file}; echo done'", timeout=20).run()
    assert run.detail.endswith("exited 0: done"), run.detail
    assert not _alive(int(pid_file.read_text())), "the command's background process outlived it"


def test_a_service_commands_output_is_not_kept_whole():
    """300 MB of output: the suite's memory grows by far less than that (it kept all of it, twice)."""
    probe = f"""
import resource, sys
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / "tests")!r})
from test_app_processes import _service_driver
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
run = _service_driver(sys.executable + " " + {str(ROOT / "tests" / "talkative.py")!r}).run()
print(run.detail)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""
    completed = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    detail, grown_mib = completed.stdout.strip().splitlines()[-2:]
    assert detail.endswith("exited 0: the last line"), completed.stdout[-500:] + completed.stderr[-2000:]
    assert int(grown_mib) < 50, f"{grown_mib} MiB more for 300 MB of output"


def _launching(tmp_path: Path, launch: str, sign_in_url: str) -> Path:
    application = tmp_path / "application.yaml"
    application.write_text(
        "name: launched\n"
        "application: {type: web, client_id: c, client_secret: '${LAUNCH_SECRET}', scope: openid,\n"
        "              redirect_uris: ['http://127.0.0.1:9/callback']}\n"
        f"drive: {{launch: {launch!r}, sign_in_url: {sign_in_url!r}, signed_in: {{text: Welcome}}}}\n"
    )
    return application


def _certify(application: Path, tmp_path) -> subprocess.CompletedProcess:
    return run_appside(
        f"--app={application}",
        f"--compliance={tmp_path / 'reports' / 'compliance.json'}",
        "-p",
        "no:cacheprovider",
        environ={**os.environ, "LAUNCH_SECRET": "a-secret-of-some-length"},
        timeout=120,
    )


def test_an_application_that_never_answers_is_ended_with_the_run(tmp_path):
    """It answered elsewhere (drive.sign_in_url on a wrong port): the run stopped with exit 4 and the
    application kept running, so the next run certified it rather than the one it launched."""
    pid_file = tmp_path / "launched.pid"
    application = _launching(tmp_path, f"echo $$ > {pid_file}; exec sleep 300", f"http://127.0.0.1:{_free_port()}/")
    try:
        completed = _certify(application, tmp_path)
        assert completed.returncode == 4, completed.stdout + completed.stderr
        assert "did not answer at" in completed.stderr and "Traceback" not in completed.stderr, completed.stderr
        _wait_for(lambda: not _alive(int(pid_file.read_text())), 10, "the launched application outlived the run")
    finally:
        if pid_file.exists() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_url_another_process_serves_stops_the_run_before_the_launch(tmp_path):
    """Another process (an earlier run's leftover) answers at the sign-in URL: the suite would have
    certified it, while the application it launched could not bind the port."""
    launched = tmp_path / "launched"
    with socketserver.TCPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler) as other:
        threading.Thread(target=other.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{other.server_address[1]}/login"
        try:
            completed = _certify(_launching(tmp_path, f"touch {launched}; exec sleep 300", url), tmp_path)
        finally:
            other.shutdown()
    assert completed.returncode == 4, completed.stdout + completed.stderr
    [line] = [line for line in completed.stderr.splitlines() if url in line]
    assert "another process is serving it; stop it or choose another port" in line, completed.stderr
    assert "Traceback" not in completed.stderr and not launched.exists(), completed.stderr


def test_a_service_command_runs_as_a_shell_command(tmp_path):
    """`NAME=value program` (docs/certify-application.md: drive.command runs as a shell command) was
    split and run as a program named NAME=value: FileNotFoundError failed APPC-12 and APPC-24, and
    APPC-27, a web application's rule, failed for a service."""
    tenant = "af1140c1-52e0-46c7-b684-df894d4b8a5a"
    application = tmp_path / "application.yaml"
    application.write_text(
        (ROOT / "examples/service_app/application.yaml")
        .read_text()
        .replace(
            "command: .venv/bin/python examples/service_app/app.py",
            f"command: SERVICE_APP_TENANT_ID={tenant} .venv/bin/python examples/service_app/app.py",
        )
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SERVICE_APP_", "REFERENCE_APP_"))}
    completed = run_appside(
        f"--app={application}",
        f"--compliance={tmp_path / 'reports' / 'compliance.json'}",
        "-p",
        "no:cacheprovider",
        environ={**environ, "SERVICE_APP_CLIENT_SECRET": "Service-Secret-7d2a9c"},
        timeout=180,
    )
    record = json.loads((tmp_path / "reports" / "compliance.json").read_text())
    [appc27] = [rule for rule in record["rules"] if rule["rule_id"] == "APPC-27"]
    assert appc27["status"] == "skipped", appc27
    assert appc27["scenarios"][0]["reason"].startswith("applies to web applications"), appc27
    assert (record["verdict"], completed.returncode) == ("conformant", 0), completed.stdout[-3000:]


def _certifying(application: Path, tmp_path: Path, secret_variable: str) -> subprocess.Popen:
    """A certification of `application` under way, its client secret in `secret_variable`."""
    return subprocess.Popen(
        [sys.executable, "-m", "appside", f"--app={application}", f"--compliance={tmp_path / 'r' / 'c.json'}"],
        cwd=ROOT,
        env={**os.environ, secret_variable: "a-secret-of-some-length"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_sigterm_while_the_application_starts_ends_it(tmp_path):
    pid_file = tmp_path / "launched.pid"
    application = _launching(tmp_path, f"echo $$ > {pid_file}; exec sleep 300", f"http://127.0.0.1:{_free_port()}/")
    running = _certifying(application, tmp_path, "LAUNCH_SECRET")
    try:
        _wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 60, "the application was not launched")
        running.send_signal(signal.SIGTERM)
        running.wait(timeout=30)
        _wait_for(lambda: not _alive(int(pid_file.read_text())), 10, "the application outlived the interrupted start")
    finally:
        running.kill()
        if pid_file.exists() and pid_file.read_text().strip() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _hanging_service(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A service application file whose launched application and service command hang, ignoring
    SIGTERM as a hung program may: (the file, the launched one's pid file, the command's pid file)."""
    launched, command = tmp_path / "launched.pid", tmp_path / "command.pid"
    application = tmp_path / "hanging.yaml"
    application.write_text(
        "name: hanging\n"
        "application: {type: service, client_id: c, client_secret: '${HANGING_SECRET}', scope: visma.api}\n"
        f"drive: {{launch: \"trap '' TERM; echo $$ > {launched}; exec sleep 600\",\n"
        f"        command: \"trap '' TERM; echo $$ > {command}; exec sleep 600\", timeout: 600}}\n"
    )
    return application, launched, command


def _kill_left(*pid_files: Path) -> None:
    for pid_file in pid_files:
        if pid_file.exists() and pid_file.read_text().strip() and _alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_a_service_command_runs_ends_it_and_the_launched_application(tmp_path, sent):
    """A CI job cancelled (SIGTERM) or Ctrl-C (SIGINT) while the service command ran: the launched
    application ended, the command ran on (nothing stopped it when the wait for it was interrupted).
    The signal comes twice, as an impatient user's Ctrl-C does: the second one, while the launched
    application is given its grace, cut its stop short."""
    application, launched, command = _hanging_service(tmp_path)
    running = _certifying(application, tmp_path, "HANGING_SECRET")
    try:
        _wait_for(lambda: command.exists() and command.read_text().strip(), 60, "the command did not run")
        running.send_signal(sent)
        time.sleep(1)
        running.send_signal(sent)
        running.wait(timeout=60)
        for pid in (int(launched.read_text()), int(command.read_text())):
            _wait_for(lambda pid=pid: not _alive(pid), 30, f"{pid} (the application or its command) outlived the run")
    finally:
        running.kill()
        _kill_left(launched, command)


def test_a_certification_that_times_out_ends_with_everything_it_launched(tmp_path):
    """The detection matrix's run of an application that hangs: only the suite process was killed at
    the timeout (subprocess.run), the application it launched (a session of its own) ran on, and the
    matrix raised TimeoutExpired. Both the launched application and the service command it runs
    ignore SIGTERM, as a hung program may."""
    from appside.matrix import ReferenceApp, certify

    application, launched, command = _hanging_service(tmp_path)
    hanging = ReferenceApp("hanging", str(application), {}, ("HANGING_SECRET",))
    try:
        # the suite reaches the service command within 2 s at load 7 on 2 cores: 15 s leaves it a wide margin
        row = certify(hanging, None, tmp_path / "runs", timeout=15)
        assert launched.exists() and command.exists(), "the suite did not reach the service command within 15 s"
        [reason] = row.failed
        assert reason.startswith("(timed out after 15 s"), reason
        assert not row.caught
        for pid in (int(launched.read_text()), int(command.read_text())):
            _wait_for(
                lambda pid=pid: not _alive(pid), 30, f"{pid} (the application or its command) outlived the timeout"
            )
    finally:
        _kill_left(launched, command)


@pytest.mark.timeout(300)
def test_the_matrix_keeps_the_service_apps_cached_token_in_the_runs_own_folder(tmp_path, monkeypatch):
    """The reference service's `cache-token` kept its token in the user's cache (~/.cache), where
    every run of the matrix left one file behind."""
    from appside.matrix import REFERENCE_APPS, certify

    user_cache = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))
    monkeypatch.delenv("SERVICE_APP_TOKEN_CACHE", raising=False)  # the test run's own (tests/conftest.py)
    row = certify(REFERENCE_APPS["service"], "cache-token", tmp_path / "runs")
    assert row.caught, (row.failed, row.reasons)
    assert not (user_cache / "visma-connect-reference-service").exists()
    assert [path.name for path in (tmp_path / "runs").rglob("*.json") if path.parent.name == "token-cache"]


def test_a_group_whose_processes_all_ended_is_not_waited_for_until_they_are_reaped():
    """An application's shell, once ended, leaves its child orphaned and ended but not yet reaped (a
    zombie) until init reaps it, which took 1-1.5 s in a container: each certification waited for it."""
    from appside.launcher import _group_alive, stop_group

    ended = subprocess.Popen(["true"], start_new_session=True)
    os.waitid(os.P_PID, ended.pid, os.WEXITED | os.WNOWAIT)  # ended, and left unreaped: a zombie
    os.killpg(ended.pid, 0)  # the group still exists for the kernel...
    assert not _group_alive(ended.pid)  # ...but nothing of it runs
    running = subprocess.Popen(["sleep", "30"], start_new_session=True)
    assert _group_alive(running.pid)
    started = time.monotonic()
    stop_group(running)
    assert time.monotonic() - started < 1 and not _group_alive(running.pid)
    ended.wait()


def test_a_service_command_that_crashed_is_quoted_by_its_error_line_and_its_tail(tmp_path):
    """@badgateway/oauth2-client's service threw; Node.js printed the error, its stack and its version
    last: the message quoted only "Node.js v20...". It quotes the error line too, as a failed launch."""
    script = tmp_path / "svc.mjs"
    script.write_text('const secret = "s\\u20ac"\nbtoa(secret)\n')
    run = _service_driver(f"node {script}", timeout=30).run()
    assert not run.succeeded and "exited 1: " in run.detail, run.detail
    assert "InvalidCharacterError" in run.detail.split(" | ...")[0], run.detail
    assert run.detail.split(" | ")[-1].startswith("Node.js v"), run.detail


@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium")
def test_a_browser_that_does_not_answer_its_close_is_killed_within_a_bound(monkeypatch):
    """MSAL.js's SPA on the wrong port: the run printed its exit-4 message, then waited in the browser's
    close until SIGTERM at 600 s. A browser that ignores its close (stopped here) is killed with its processes."""
    from appside import browser_driver
    from appside.browser_driver import BrowserDriver

    monkeypatch.setattr(browser_driver, "CLOSE_BOUND", 2.0, raising=False)
    application = SimpleNamespace(
        drive=SimpleNamespace(sign_in_url="http://127.0.0.1:9/", use_api_url=None, timeout=10, settle=0.5),
        redirect_uris=("http://127.0.0.1:9/callback",),
        app_type="spa",
    )
    driver = BrowserDriver(application, "http://127.0.0.1:9", SimpleNamespace(username="u", password="p"))
    flag = driver._fence.flags[0].encode()
    browser = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _has_argument(pid, flag)]
    assert browser
    for pid in browser:
        os.kill(pid, signal.SIGSTOP)
    # the test's own safety net: without the bound, the close waits until this kills the browser
    net = threading.Timer(30, lambda: [os.kill(pid, signal.SIGKILL) for pid in browser if _alive(pid)])
    net.start()
    started = time.monotonic()
    try:
        driver.close()
    finally:
        net.cancel()
    assert time.monotonic() - started < 15, "the close waited for a browser that does not answer"
    _wait_for(lambda: not any(map(_alive, browser)), 10, "the browser's processes were not ended")


def _has_argument(pid: str, argument: bytes) -> bool:
    try:
        return argument in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False


def test_what_a_run_started_is_ended_wherever_it_moved_even_a_double_forked_setsid_child_ignoring_sigterm(tmp_path):
    """An outsider's launch and service command left setsid daemons that ignore SIGTERM running after the
    suite exited: out of the process group the suite ends. Every process it starts carries the run's marker
    in its environment, and end_marked ends what carries it, SIGKILL after the grace, within its bound."""

    from appside.launcher import RUN_MARKER, RUN_MARKER_NAME, end_marked, issuer_variables, marked_processes

    assert issuer_variables("http://127.0.0.1:9")[RUN_MARKER_NAME] == RUN_MARKER
    pid_file, marker = tmp_path / "daemon.pid", "test-" + RUN_MARKER
    daemon = f"setsid sh -c 'trap \"\" TERM HUP INT; echo $$ > {pid_file}; while :; do sleep 1; done' &"
    subprocess.run(
        ["sh", "-c", f"({daemon}) </dev/null >/dev/null 2>&1 &"],  # a double fork: the daemon's parent is gone
        env={**os.environ, RUN_MARKER_NAME: marker},
        timeout=10,
        check=True,
    )
    _wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 10, "the daemon did not start")
    daemon_pid = int(pid_file.read_text())
    try:
        assert os.getsid(daemon_pid) == daemon_pid != os.getsid(0) and daemon_pid in marked_processes(marker)
        began = time.monotonic()
        assert daemon_pid in end_marked(marker, grace=0.5, limit=5)
        assert time.monotonic() - began < 5
        _wait_for(lambda: not _alive(daemon_pid), 5, "the daemon that ignores SIGTERM outlived end_marked")
        assert marked_processes(marker) == []
    finally:
        if _alive(daemon_pid):
            os.kill(daemon_pid, signal.SIGKILL)
