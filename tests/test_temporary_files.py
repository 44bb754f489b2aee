"""A run leaves nothing in the temporary folder: not the launched application's output (which may
hold its client secret or tokens), not the HTTPS stand-in's private key, no browser profile, no
record; whether it ends, stops on a usage error or is interrupted by SIGTERM. What is worth keeping
is in the run's reports folder, scrubbed (the application's output: application.log)."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from run import start

from appside.stand_in import free_port
from suite.wire.browser import chromium_path

SECRET = "Oauthlib-Secret-4c9e1f7b-DO-NOT-LEAK"
needs_chromium = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)


def _left_in(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.iterdir())


def _start(tmp_path, module: str, *args: str, **environ: str) -> tuple[subprocess.Popen, os.PathLike]:
    """`python -m module ARGS` with TMPDIR an empty folder of its own (and HOME, whose cache keeps
    the sandbox's key and the stand-in's certificate authority between runs, outside it)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "TMPDIR": str(temporary),
        "PYTHONDONTWRITEBYTECODE": "1",
        **environ,
    }
    return start([sys.executable, "-m", module, *args], env), temporary


def _certify_web_app(tmp_path, *args: str, port: int = 0) -> tuple[subprocess.Popen, os.PathLike]:
    """The requests-oauthlib reference app, launched by the suite, against the HTTPS stand-in."""
    reports = tmp_path / "reports"
    return _start(
        tmp_path,
        "appside",
        "--app=examples/oauthlib_web_app/application.yaml",
        f"--compliance={reports / 'compliance.json'}",
        f"--alluredir={reports / 'allure-results'}",
        f"--junitxml={reports / 'junit.xml'}",
        "-p",
        "no:cacheprovider",
        *args,
        OAUTHLIB_WEB_APP_CLIENT_SECRET=SECRET,
        OAUTHLIB_WEB_APP_PORT=str(port or free_port()),
        APP_SETTLE="1",
    )


def _interrupt_once(run: subprocess.Popen, reports, sign: str) -> str:
    """SIGTERM once `sign` is in the reports folder (the run is under way); the run's output."""
    deadline = time.monotonic() + 120
    while not any(reports.rglob(sign)) and run.poll() is None:
        assert time.monotonic() < deadline, "the run never got under way"
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    return run.communicate(timeout=120)[0]


@needs_chromium
def test_an_application_certification_over_https_leaves_the_temporary_folder_empty(tmp_path):
    run, temporary = _certify_web_app(tmp_path, "--rule=APPC-01", "--rule=APPC-28")
    output = run.communicate(timeout=240)[0]
    assert run.returncode == 5 and "2 passed" in output, output[-3000:]  # 5: the rules left out make it incomplete
    assert _left_in(temporary) == [], output[-2000:]
    log = (tmp_path / "reports" / "application.log").read_text()
    assert log and SECRET not in log, "the application's output is kept beside the record, scrubbed"


@needs_chromium
@pytest.mark.timeout(300)  # the ini's limit, declared so that this whole run is handed out early (tests/conftest.py)
def test_an_application_certification_stopped_by_sigterm_leaves_the_temporary_folder_empty(tmp_path):
    run, temporary = _certify_web_app(tmp_path)
    output = _interrupt_once(run, tmp_path / "reports", "*-result.json")
    assert _left_in(temporary) == [], output[-2000:]


def test_an_application_certification_refused_as_a_usage_error_leaves_the_temporary_folder_empty(tmp_path):
    """The application cannot start (its port is taken): a configuration problem, once the stand-in's
    key and the folder of the application's output were made."""
    earlier = tmp_path / "reports" / "application.log"
    earlier.parent.mkdir()
    earlier.write_text("an earlier run's output")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run, temporary = _certify_web_app(tmp_path, "--rule=APPC-01", port=taken.getsockname()[1])
        output = run.communicate(timeout=240)[0]
    assert run.returncode == 4 and "drive.launch" in output, output[-3000:]
    assert _left_in(temporary) == [], output[-2000:]
    # a configuration problem changes nothing in the reports folder: the earlier output stays beside
    # the earlier record it belongs to (docs/reference-exit-codes.md)
    assert earlier.read_text() == "an earlier run's output", "a run that never started replaced the earlier output"


def test_a_server_run_leaves_the_temporary_folder_empty(tmp_path):
    run, temporary = _start(tmp_path, "suite.run", f"--reports={tmp_path / 'reports'}", "--rule=SVC-01")
    output = run.communicate(timeout=240)[0]
    assert run.returncode == 5 and "1 passed" in output, output[-3000:]
    assert _left_in(temporary) == [], output[-2000:]


@needs_chromium
def test_a_server_run_with_a_browser_stopped_by_sigterm_leaves_the_temporary_folder_empty(tmp_path):
    run, temporary = _start(tmp_path, "suite.run", f"--reports={tmp_path / 'reports'}", "--env=sandbox-browser")
    output = _interrupt_once(run, tmp_path / "reports", "*-result.json")
    assert _left_in(temporary) == [], output[-2000:]
