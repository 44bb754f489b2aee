"""The application detection matrix's runs are forked from a fork server that imported their libraries
once (appside.forked_runs): each is still the run `python -m appside` makes, a process and a session
of its own with exactly the environment it is given, in the project root, its output and exit code its own."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from run import ROOT

from appside.forked_runs import start_module

SECRET = "Probe-Secret-4c9e1f7b"


def _probe(tmp_path):
    """A service application whose command writes what it sees of the run (a variable given to the run, one
    of the process that started it, the folder it runs in) and exits 1: its rules cannot be checked."""
    seen = tmp_path / "seen"
    application = tmp_path / "probe.yaml"
    application.write_text(
        "name: probe\n"
        "application: {type: service, client_id: c, client_secret: '${PROBE_SECRET}', scope: visma.api}\n"
        f"drive: {{command: 'echo \"$PROBE_MARK|$FORKED_RUNS_LEAK|$(pwd)\" >> {seen}; exit 1', timeout: 60}}\n"
    )
    return application, seen


def _arguments(application, record) -> list[str]:
    return [f"--app={application}", f"--compliance={record}", "--rule=APPC-12", "-q", "-p", "no:cacheprovider"]


def test_a_forked_run_is_the_run_python_m_appside_makes(tmp_path, monkeypatch):
    """Its exit handlers too (the matrix's runs once ended without them): a plugin's, found on its PYTHONPATH."""
    application, seen = _probe(tmp_path)
    monkeypatch.setenv("FORKED_RUNS_LEAK", "leaked")  # the fork server's, if it starts now: never the run's
    (tmp_path / "exit_probe.py").write_text(
        "import atexit, os\natexit.register(lambda: open(os.environ['EXIT_PROBE'], 'a').write('exited\\n'))\n"
    )
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PROBE_SECRET": SECRET,
        "PROBE_MARK": "given",
        "PYTHONPATH": str(tmp_path),
        "EXIT_PROBE": str(tmp_path / "exits"),
    }
    (tmp_path / "forked").mkdir()
    probed = ["-p", "exit_probe"]
    run = start_module(
        "appside", [*_arguments(application, tmp_path / "forked" / "c.json"), *probed], environ, tmp_path / "forked"
    )
    deadline = time.monotonic() + 30
    while os.getsid(run.pid) != run.pid and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.getsid(run.pid) == run.pid, "the forked run is not a session of its own"
    forked_out, forked_err = run.communicate(timeout=120)
    spawned = subprocess.run(
        [sys.executable, "-m", "appside", *_arguments(application, tmp_path / "spawned" / "c.json"), *probed],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    # incomplete: the one rule asked for could not be checked on the service's failed run
    assert run.returncode == spawned.returncode == 5, (forked_out + forked_err)[-2000:]
    assert seen.read_text().splitlines() == [f"given||{ROOT}"] * 2  # the service's run in each
    assert (tmp_path / "exits").read_text() == "exited\n" * 2  # the exit handlers of each
    assert "Module already imported" not in forked_out + forked_err  # pytest rewrote its plugins as it loaded them
    verdict = [line for line in forked_out.splitlines() if line.startswith("VERDICT")]
    assert verdict and verdict == [line for line in spawned.stdout.splitlines() if line.startswith("VERDICT")]
    forked, spawned_record = (json.loads((tmp_path / run / "c.json").read_text()) for run in ("forked", "spawned"))
    assert [(r["rule_id"], r["status"]) for r in forked["rules"]] == [
        (r["rule_id"], r["status"]) for r in spawned_record["rules"]
    ]


def test_a_forked_certification_past_its_timeout_is_ended_with_what_it_started(tmp_path):
    """The tests' certify_forked ends a run at its timeout as subprocess.run ends its child, and the
    application's command too (its session): no run is left behind a test that gave up on it."""
    from run import certify_forked

    started = tmp_path / "started"
    application = tmp_path / "sleeper.yaml"
    application.write_text(
        "name: sleeper\n"
        "application: {type: service, client_id: c, client_secret: '${PROBE_SECRET}', scope: visma.api}\n"
        f"drive: {{command: 'echo $$ > {started}; exec sleep 300', timeout: 600}}\n"
    )
    environ = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "PROBE_SECRET": SECRET}
    began = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        certify_forked(*_arguments(application, tmp_path / "c.json"), environ=environ, timeout=45)
    assert time.monotonic() - began < 90  # its timeout, and the grace its stop is given
    command = int(started.read_text())  # it got as far as the application's command
    deadline = time.monotonic() + 10
    while _alive(command) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(command), "the application's command outlived the run ended at its timeout"


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_a_forked_suite_run_reads_its_pythonpath_and_runs_its_exit_handlers(tmp_path):
    """The tests' suite runs (tests/run.py run_suite, `python -m pytest`) are forked from the same fork server:
    a plugin found on the PYTHONPATH the run is given, as the interpreter finds it, and the exit handlers it
    registers (pytest's own remove the locks of its temporary folders) run as the interpreter's exit runs them."""
    from run import run_suite

    (tmp_path / "exit_probe.py").write_text(
        "import atexit, os\natexit.register(lambda: open(os.environ['EXIT_PROBE'], 'a').write('exited\\n'))\n"
    )
    marker = tmp_path / "exits"
    result = run_suite("-p", "exit_probe", "--help", environ={"PYTHONPATH": str(tmp_path), "EXIT_PROBE": str(marker)})
    assert result.returncode == 0 and "--defect-matrix" in result.stdout, result.stdout[-2000:] + result.stderr
    assert marker.read_text() == "exited\n"
