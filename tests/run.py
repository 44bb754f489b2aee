"""Run the conformance suite the way a user does: `python -m pytest ...` in the project root."""

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_suite(*args, environ=None, timeout=240) -> subprocess.CompletedProcess:
    return _run("pytest", *_record_elsewhere(args), environ=environ, timeout=timeout)


def run_ci(*args, environ=None, timeout=240) -> subprocess.CompletedProcess:
    """The command for CI, `python -m suite.run`; give it `--reports=` a temporary folder."""
    return _run("suite.run", *args, environ=environ, timeout=timeout)


def run_appside(*args, environ: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """`python -m appside ARGS` in the project root with exactly `environ` (None: this process's), so
    that a test shows which variables reach the application; no controlling terminal, as in CI. A run
    given no --compliance writes into a folder of its own, not the project's reports/app, whose lock
    would make tests running side by side stop each other."""
    args = tuple(map(str, args))
    if not any(arg.startswith("--compliance") for arg in args):
        args += (f"--compliance={tempfile.mkdtemp(prefix='appside-test-')}/compliance.json",)
    return subprocess.run(
        [sys.executable, "-m", "appside", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def certify_forked(*args, environ: dict, timeout: float = 240) -> subprocess.CompletedProcess:
    """The run `python -m appside ARGS` makes, with its record in the --compliance given, forked from the
    fork server the application matrix forks its runs from (appside.forked_runs), which imported their
    libraries once per test worker: a process and a session of its own with exactly `environ`, in the
    project root, without a terminal, but without a second's CPU of imports each. For a test of a
    certification's verdicts; how a process is started and ended, its terminal and its variables are
    run_appside's."""
    return _forked("appside", args, environ, timeout)


def _forked(module: str, args, environ: dict, timeout: float) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS` forked from the fork server (certify_forked), ended at `timeout` as
    subprocess.run ends its child, with what it started as well."""
    from appside import forked_runs
    from appside.launcher import end_process_tree

    arguments = list(map(str, args))
    run = forked_runs.start_module(
        module, arguments, environ, Path(tempfile.mkdtemp(prefix="forked-", dir=_RECORDS.name))
    )
    try:
        stdout, stderr = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        end_process_tree(run)
        raise
    return subprocess.CompletedProcess(["python", "-m", module, *arguments], run.returncode, stdout, stderr)


def certify_application(application, tmp_path, variables: dict, *options, timeout: float = 300):
    """`python -m appside` quietly on an application file (certify_forked), its record in tmp_path/record.json,
    with the matrix's settle time (APP_SETTLE=1) and `variables` on top of this process's environment."""
    return certify_forked(
        f"--app={application}",
        f"--compliance={tmp_path / 'record.json'}",
        "-q",
        "-p",
        "no:cacheprovider",
        *options,
        environ={**os.environ, "APP_SETTLE": "1", **variables},
        timeout=timeout,
    )


def certify_web_app_verbosely(tmp_path: Path, secret: str, defects: str, *rules: str):
    """The reference web app certified on `rules` with its client secret `secret` and the reference
    app's `defects` switched on, every output written into tmp_path/reports and every value shown
    that could be (locals, long tracebacks, every outcome), the sandbox's witness of the secrets it
    received or issued in tmp_path/witness.txt: (the completed run, the reports folder, the witness)."""
    from appside.stand_in import free_port

    reports, witness = tmp_path / "reports", tmp_path / "witness.txt"
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "WEB_APP_CLIENT_SECRET": secret,
        "WEB_APP_PORT": str(free_port()),
        "APP_SETTLE": "1",
        "REFERENCE_APP_DEFECTS": defects,
        "SANDBOX_WITNESS_FILE": str(witness),
    }
    completed = certify_forked(
        "--app=examples/web_app/application.yaml",
        *(f"--rule={rule}" for rule in rules),
        f"--compliance={reports / 'compliance.json'}",
        f"--alluredir={reports / 'allure-results'}",
        f"--junitxml={reports / 'junit.xml'}",
        "--showlocals",
        "--tb=long",
        "-rA",
        "-p",
        "no:cacheprovider",
        environ=environ,
    )
    return completed, reports, witness


def start(command: list, env: dict) -> subprocess.Popen:
    """A command in the project root, running while the test watches it: its output (stdout and
    stderr) in one text pipe, in a new session (no controlling terminal, as in CI)."""
    return subprocess.Popen(
        [str(part) for part in command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _run(module, *args, environ=None, timeout=240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VISMA_", "ACME_"))}
    env.update(environ or {})
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if module == "pytest":
        return _forked(module, args, env, timeout)
    # A new session has no controlling terminal, as in CI, whoever runs the tests.
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def _record_elsewhere(args) -> list:
    """The project's tests never write the user's reports/: a run that names no record path writes
    its record into a temporary folder (tests/reports_guard.py fails `make test` otherwise)."""
    if any(str(a).startswith("--compliance") for a in args):
        return list(args)
    return [*args, f"--compliance={tempfile.mkdtemp(prefix='record-', dir=_RECORDS.name)}/compliance.json"]


# The records of the runs above, in one folder removed when the tests' process ends (each run's record in
# a folder of its own left 900 folders in /tmp on this machine).
_RECORDS = tempfile.TemporaryDirectory(prefix="records-")


# The suite's run, reporting at its end the peak of its own memory (VmHWM: the process's address space since
# its exec) and of its children's. Not the kernel's account of the child (wait4's ru_maxrss): a child started
# with vfork, as subprocess starts one, is charged the high-water mark of the parent it was made from, and a
# test worker that had grown to 300 MiB made every suite run it started look 300 MiB big.
_MEASURED_RUN = """
import atexit, os, resource, runpy, sys
def _peak():
    with open("/proc/self/status") as status:
        own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(os.environ["SUITE_PEAK_FILE"], "w") as peak:
        peak.write(str(max(own, children)))
atexit.register(_peak)
sys.argv = ["pytest", *sys.argv[1:]]
runpy.run_module("pytest", run_name="__main__")
"""


def run_measured(*args, environ=None, timeout=120) -> tuple[int, str, float, float]:
    """Like run_suite, and also how long it took (s) and its peak memory (MiB, its own and its
    children's, as the run reports them at its end): exit code, output (stdout and stderr), seconds, MiB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VISMA_", "ACME_"))}
    env.update(environ or {}, PYTHONDONTWRITEBYTECODE="1")
    peak_file = Path(tempfile.mkdtemp(prefix="peak-", dir=_RECORDS.name)) / "peak"
    env["SUITE_PEAK_FILE"] = str(peak_file)
    began = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", _MEASURED_RUN, *map(str, _record_elsewhere(args))],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        killer = threading.Timer(timeout, child.kill)
        killer.start()
        child.wait()
        killer.cancel()
        out.seek(0)
        # a run killed at the timeout reports nothing: the kernel's account, an upper bound, stands for it
        peak = (
            int(peak_file.read_text()) if peak_file.exists() else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        )
        return child.returncode, out.read(), time.monotonic() - began, peak / 1024


def write_environment(directory: Path, text: str, name="env.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


SANDBOX_YAML = (ROOT / "environments" / "sandbox.yaml").read_text(encoding="utf-8")

# The sandbox's default registrations with their secrets in variables, as a partner's file has them:
# tests that put a proxy or a hostile server in front of a sandbox write this environment.
SANDBOX_SECRETS = {"T_SERVICE_SECRET": "sandbox-service-secret", "T_PASSWORD": "sandbox-password"}


def write_sandbox_environment(directory: Path, issuer: str, name: str, more: str = "") -> Path:
    """An environment file for the default sandbox registrations at `issuer`; `more` adds top-level
    YAML (an http: block, for example)."""
    return write_environment(
        directory,
        f"""name: {name}
issuer: {issuer}
{more}
clients:
  service:
    client_id: sandbox-service
    client_secret: ${{T_SERVICE_SECRET}}
    scope: visma_api:read
    tenant_id: af1140c1-52e0-46c7-b684-df894d4b8a5a
  spa:
    client_id: sandbox-spa
    redirect_uri: https://spa.app.local/callback
    scope: openid profile email
login:
  method: form
  username: test.user
  password: ${{T_PASSWORD}}
""",
    )
