"""A run stopped by a signal, as a nightly job stops one (suite/reports/interruption.py): `kill -INT`
of a runner a script started with `&` (SIGINT ignored), `timeout -s TERM` (SIGTERM to the whole
process group), `kill -9` of the runner; and a signal that comes while pytest is not in a scenario."""

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from run import ROOT, SANDBOX_YAML, write_environment

from suite.reports.interruption import STOPPED, Interruption

RULES = ("--rule=SVC-01", "--rule=CODE-04")  # CODE-04 runs last and waits 21 s for its code to expire


def _started(tmp_path: Path, ignore_sigint: bool = False) -> tuple[subprocess.Popen, Path, list[int]]:
    """`python -m suite.run` in a session of its own, once its first scenario has finished: the
    process, its reports folder and its children (its pytest)."""
    reports = tmp_path / "reports"
    slow = SANDBOX_YAML.replace("authorization_code_lifetime: 4 ", "authorization_code_lifetime: 20 ")
    assert slow != SANDBOX_YAML
    environment = write_environment(tmp_path, slow)
    running = subprocess.Popen(
        [sys.executable, "-m", "suite.run", f"--reports={reports}", f"--env={environment}", *RULES],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        stdout=(tmp_path / "output.txt").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # what a shell without job control does to `cmd &`
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if ignore_sigint else None,
    )
    deadline = time.monotonic() + 90
    while not list((reports / "allure-results").glob("*-result.json")):
        assert time.monotonic() < deadline and running.poll() is None, (tmp_path / "output.txt").read_text()[-2000:]
        time.sleep(0.05)
    with open(f"/proc/{running.pid}/task/{running.pid}/children") as listing:
        children = [int(pid) for pid in listing.read().split()]
    assert children, "no pytest under the CI command"
    return running, reports, children


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _ended_in_order(running: subprocess.Popen, reports: Path, tmp_path: Path) -> None:
    try:
        code = running.wait(timeout=60)
    finally:
        running.kill()
    output = (tmp_path / "output.txt").read_text()
    assert code == 5, output[-3000:]
    assert "INTERNALERROR" not in output and "Traceback" not in output, output[-3000:]
    assert output.rstrip().splitlines()[-1].startswith("exit code 5: incomplete"), output[-1000:]
    record = json.loads((reports / "compliance.json").read_text())
    assert {rule["rule_id"]: rule["status"] for rule in record["rules"]}.get("SVC-01") == "passed", record["verdict"]
    assert "CODE-04" in record["not_run_rules"], "the run was not stopped: CODE-04 ran to its end"


def test_kill_int_stops_a_runner_that_a_script_started_in_the_background(tmp_path):
    running, reports, _ = _started(tmp_path, ignore_sigint=True)
    running.send_signal(signal.SIGINT)
    _ended_in_order(running, reports, tmp_path)


def test_sigterm_to_the_whole_process_group_writes_the_record_of_what_ran(tmp_path):
    """coreutils `timeout -s TERM` signals the group: pytest gets SIGTERM itself, and the runner's SIGINT."""
    running, reports, _ = _started(tmp_path)
    os.killpg(running.pid, signal.SIGTERM)
    _ended_in_order(running, reports, tmp_path)


def _tgkill(pid: int, thread: int, number: int) -> None:
    """A signal to one thread of another process: what the kernel does with a signal sent to the process where
    it picks that thread (glibc's tgkill, 2.30 and later)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.tgkill(pid, thread, number) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill {pid} {thread}")


def _asleep(pid: int) -> bool:
    with open(f"/proc/{pid}/task/{pid}/wchan") as wchan:
        return wchan.read() == "hrtimer_nanosleep"


def test_a_signal_the_kernel_gives_a_thread_of_pytest_other_than_the_main_one_stops_codes_wait(tmp_path):
    """Python runs a handler in the main thread only, and a signal that landed on another thread (the
    sandbox's) did not wake it from CODE-04's sleep: a whole-group SIGTERM was handled only once the wait
    ended, after the runner had killed pytest (STOP_GRACE) with no record written (exit 2, 1 run in 6)."""
    if not hasattr(ctypes.CDLL(None), "tgkill"):
        pytest.skip("glibc without tgkill")
    running, reports, children = _started(tmp_path)
    (pytest_pid,) = [pid for pid in children if b"\x00-m\x00pytest\x00" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    deadline = time.monotonic() + 30
    while not _asleep(pytest_pid):  # CODE-04's wait: its main thread sleeps
        assert time.monotonic() < deadline and running.poll() is None, (tmp_path / "output.txt").read_text()[-2000:]
        time.sleep(0.05)
    others = [int(task) for task in os.listdir(f"/proc/{pytest_pid}/task") if int(task) != pytest_pid]
    assert others, "pytest has no thread besides its main one"
    _tgkill(pytest_pid, others[0], signal.SIGTERM)  # the runner is not signalled: pytest alone must stop
    began = time.monotonic()
    try:
        code = running.wait(timeout=60)
    finally:
        running.kill()
    output = (tmp_path / "output.txt").read_text()
    # CODE-04's wait had 10 s or more left: the run stopped before it ended, not once it had
    assert (code, time.monotonic() - began < 8) == (5, True), output[-3000:]
    assert "CODE-04" in json.loads((reports / "compliance.json").read_text())["not_run_rules"]


ANOTHER_THREAD_SIGNALLED = """
import signal, sys, threading, time
from suite.reports.main_thread_signals import wake_the_main_thread_on

def interrupt(signum, frame):
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, interrupt)
if sys.argv[1] == "woken":
    wake_the_main_thread_on([signal.SIGTERM])
threading.Timer(0.3, lambda: signal.pthread_kill(threading.get_ident(), signal.SIGTERM)).start()
began = time.monotonic()
try:
    time.sleep(20)  # as CODE-04's wait, or the runner's for its pytest
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - began:.1f} s")
"""


def test_a_signal_another_thread_received_interrupts_the_main_threads_wait_at_once():
    """The runner too waits for its pytest in its main thread while a timer's thread may take a signal."""
    woken = subprocess.run(
        [sys.executable, "-c", ANOTHER_THREAD_SIGNALLED, "woken"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert woken.stdout.startswith("interrupted after ") and not woken.stderr, woken
    assert float(woken.stdout.split()[2]) < 8, woken.stdout


def test_kill_9_of_the_runner_ends_its_pytest(tmp_path):
    running, _, children = _started(tmp_path)
    try:
        running.kill()
        running.wait(timeout=10)
        deadline = time.monotonic() + 3  # CODE-04 would go on 20 s more
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        orphans = [pid for pid in children if _alive(pid)]
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert not orphans, "pytest went on without the runner, in a folder no lock held"


class _Session:
    shouldstop: bool | str = False


def test_a_signal_outside_a_scenario_stops_the_run_after_it_and_raises_nothing_there():
    """A KeyboardInterrupt raised in a weakref finalizer was swallowed, one raised while pytest parsed
    a failure's source broke its parser (INTERNALERROR): outside a scenario's own code the signal asks
    pytest to stop before the next scenario, and a second one within 2 s (the runner's, passed on) is the same."""
    interruption, session = Interruption(), _Session()
    interruption.pytest_sessionstart(session)  # type: ignore[arg-type]
    interruption.interrupt(signal.SIGTERM, None)
    assert session.shouldstop == STOPPED
    interruption.interrupt(signal.SIGINT, None)  # the same interruption: nothing more
    stopped = interruption._scenario()  # the next scenario's setup
    with pytest.raises(KeyboardInterrupt):
        next(stopped)
    fresh = Interruption()
    fresh.pytest_sessionstart(_Session())  # type: ignore[arg-type]
    scenario = fresh._scenario()
    next(scenario)  # in the scenario's call
    with pytest.raises(KeyboardInterrupt):
        fresh.interrupt(signal.SIGINT, None)


def test_a_keyboard_interrupt_that_was_swallowed_is_raised_again():
    """Raised in a weakref finalizer, Python prints it and goes on; the scenario phase that got it is
    interrupted again a second later, where a wait (CODE-04's 21 s) would have gone on."""
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    interruption = Interruption()
    interruption.pytest_sessionstart(_Session())  # type: ignore[arg-type]
    try:
        interruption.install()
        scenario = interruption._scenario()
        next(scenario)
        with contextlib.suppress(KeyboardInterrupt):  # swallowed, as a finalizer's is
            interruption.interrupt(signal.SIGTERM, None)
        began = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            time.sleep(5)
        assert time.monotonic() - began < 2
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)


def test_its_keyboard_interrupt_swallowed_in_a_finalizer_prints_no_traceback():
    """A SIGTERM's KeyboardInterrupt raised while a weakref finalizer closed urllib3's connection: Python
    handed it to the unraisable hook, and pytest printed "Traceback ... KeyboardInterrupt" in the run's output.
    Another exception, or one before any interruption, is still passed on."""
    passed_on: list = []
    previous = sys.unraisablehook
    sys.unraisablehook = passed_on.append
    try:
        interruption = Interruption()
        interruption.pytest_configure(None)  # type: ignore[arg-type]
        swallowed = SimpleNamespace(exc_value=KeyboardInterrupt())
        sys.unraisablehook(swallowed)  # before any interruption: not this plugin's
        interruption.pytest_sessionstart(_Session())  # type: ignore[arg-type]
        interruption.interrupt(signal.SIGTERM, None)
        sys.unraisablehook(swallowed)
        other = SimpleNamespace(exc_value=ValueError())
        sys.unraisablehook(other)
    finally:
        sys.unraisablehook = previous
    assert passed_on == [swallowed, other]
