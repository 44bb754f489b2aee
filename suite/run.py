"""The command for CI: python -m suite.run [--reports DIR] [--env NAME|PATH] [pytest options ...]

Runs the features (pytest, with every option it takes: --env, --rule, -k, -n, ...), writes the
certification record, JUnit, the Allure results and the HTML report into DIR (default reports),
and exits with the suite's code for the record's verdict (docs/reference-exit-codes.md):
0 conformant, 1 not conformant, 2 no verdict (stopped before it wrote a record), 3 environment
problem, 4 configuration problem, 5 incomplete, 6 the reports could not be written.

Every file of DIR it leaves is this run's, or says that this run produced no verdict and why: the
previous run's record, JUnit, results and HTML report are moved aside by its pytest once pytest
has accepted the command line, and deleted while the run goes on (suite.reports.previous_run).
The histories (Allure's history.jsonl, the records' run-history.jsonl) are kept: they are what the
next run compares itself with. --help, a usage error and a typo in an option change nothing in DIR
(exit 0 for --help, 2 for the others: no verdict, and no record of one)."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from suite.reports.atomic_write import NOT_WRITTEN_FD, ReportsNotWritten
from suite.reports.folder_lock import HELD_BY_PARENT, PARENT_PID, FolderBusy, lock_folder
from suite.reports.main_thread_signals import wake_the_main_thread_on
from suite.reports.previous_run import ASIDE, MOVE_ASIDE, THIS_RUN, Deletion, aside_folder, delete_once_moved
from suite.verdict.exit_codes import EXIT_REPORTS_NOT_WRITTEN

JOINED = ("--env", "--rule", "--defect", "--compliance")  # the suite's own options that take a value
OUTPUTS = ("--compliance", "--alluredir", "--junitxml", "--junit-xml", "--clean-alluredir")
SHOW_ONLY = ("-h", "--help", "--version", "-V")  # pytest answers these without running anything
EXIT_USAGE = 2  # no verdict, and nothing written: the documented code of a run that wrote no record
USAGE = """usage: python -m suite.run [--reports=DIR] [--env=NAME|PATH] [pytest options: --rule ID, -k, -m, -n, ...]

Runs the conformance suite and writes the certification record, JUnit, the Allure results and the
HTML report into DIR (default: reports), then exits with the suite's code: 0 conformant, 1 not
conformant, 2 no verdict, 3 environment problem, 4 configuration problem, 5 incomplete, 6 the
reports could not be written (docs/reference-exit-codes.md). The pytest options it passes on follow.
"""
# pytest.ExitCode's INTERNAL_ERROR and USAGE_ERROR: this process never imports pytest (see suite.verdict.exit_codes)
PYTEST_INTERNAL_ERROR, PYTEST_USAGE_ERROR = 3, 4
LOAD_ALLURE_AFTER = 2.0  # seconds after pytest started at the latest (see _start_report_once_under_way)
__all__ = ["ASIDE", "THIS_RUN", "main"]
STOP_GRACE = 20.0  # seconds pytest has to write the record of what ran after a SIGTERM, before it is killed


def main(argv: list[str]) -> int:
    if any(argument in SHOW_ONLY for argument in argv):
        if "-h" in argv or "--help" in argv:
            print(USAGE)
        return subprocess.run([sys.executable, "-m", "pytest", *[a for a in argv if a in SHOW_ONLY]]).returncode
    from suite.configuration.command_line import repeated_options

    repeated = repeated_options(argv, ("--env", "--reports"))
    if repeated:  # pytest would keep the last one, silently
        return _usage_error(repeated[0])
    try:
        reports, pytest_args = _reports_option(argv)
    except ValueError as problem:
        return _usage_error(problem)
    from suite.configuration.rules import rule_option_values, unknown_rules

    unknown = unknown_rules(rule_option_values(pytest_args))
    if unknown:  # it would run nothing, and its "incomplete" record would replace the previous run's
        return _usage_error(unknown[0])
    chosen = [a for a in pytest_args if a.startswith(OUTPUTS)]
    if chosen:
        named = chosen[0] if "=" not in chosen[0] or chosen[0].split("=", 1)[1] else f"{chosen[0]} (empty)"
        return _configuration_problem(
            f"{named}: the CI command writes every output into one folder; choose it with --reports DIR"
        )
    existed = reports.is_dir()
    try:
        lock_folder(reports.resolve())  # before anything in it is moved; held until this process ends
    except FolderBusy as busy:
        return _configuration_problem(str(busy))
    aside = aside_folder(reports)
    record_path = reports / "compliance.json"
    told, telling = os.pipe()  # pytest says there what it could not write (suite.reports.results.tell_the_runner)
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            f"--compliance={record_path}",
            f"--alluredir={reports / 'allure-results'}",
            f"--junitxml={reports / 'junit.xml'}",
            *pytest_args,
        ],
        env={
            # a runner started by a pytest-xdist worker (the project's own tests) starts no worker: its pytest
            # tells it what it could not write (suite.reports.results.tell_the_runner), as every runner's does
            **{name: value for name, value in os.environ.items() if not name.startswith("PYTEST_XDIST_")},
            HELD_BY_PARENT: str(reports.resolve()),
            MOVE_ASIDE: str(aside.resolve()),
            PARENT_PID: str(os.getpid()),  # it dies with this process (suite.reports.interruption)
            NOT_WRITTEN_FD: str(telling),
        },
        pass_fds=(telling,),
    )
    os.close(telling)
    clearing = delete_once_moved(reports, aside, lambda: run.poll() is None)
    _stop_with(run)
    report = _start_report_once_under_way(run, reports)
    try:
        return _after_the_run(run, report, reports, pytest_args, clearing, existed, told)
    finally:
        clearing.join()


def _stop_with(run: subprocess.Popen) -> None:
    """SIGTERM (kill PID, a CI job cancelled) and SIGINT (Ctrl-C, kill -INT PID) stop the run in
    order: pytest gets SIGINT and writes the record of what ran, this process makes the report and
    exits with the record's code, and only then is the folder's lock released. Without this, SIGTERM
    ended this process at once and its pytest went on writing into a folder no lock held. Installed
    whatever the disposition was: a shell without job control (`cmd &` in a script) starts its
    background jobs with SIGINT ignored, and `kill -INT PID` went unseen. A signal to the whole process
    group (Ctrl-C at a terminal, `timeout -s TERM`) reaches pytest too: it takes a second one within 2 s
    as the same (suite.reports.interruption). A pytest that has not ended STOP_GRACE seconds later is
    killed."""

    def stop(signum: int, frame: object) -> None:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)
            killer = threading.Timer(STOP_GRACE, _kill_if_running, args=(run,))
            killer.daemon = True
            killer.start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    wake_the_main_thread_on((signal.SIGINT, signal.SIGTERM))  # waiting for pytest, it runs `stop` at once


def _kill_if_running(run: subprocess.Popen) -> None:
    if run.poll() is None:
        run.kill()


def _start_report_once_under_way(run: subprocess.Popen, reports: Path):
    """Node loads Allure's modules while the suite runs (html_report.start), but once the first
    result is written, not with pytest: its loading (most of a CPU-second, on several threads) took
    the CPU from pytest's own start, and on 2 cores at load 2 the early sign-in's code came back
    0.1-0.5 s later. At the latest LOAD_ALLURE_AFTER seconds after pytest started, for a run whose
    first result comes late (`--rule CODE-04` alone). None when pytest ended first (the report, if
    any, is then made at the end)."""
    from suite.reports import html_report  # imported once pytest has started: not to delay it

    results, latest = reports / "allure-results", time.monotonic() + LOAD_ALLURE_AFTER
    try:
        while run.poll() is None and not any(results.glob("*-result.json")) and time.monotonic() < latest:
            time.sleep(0.02)
    except KeyboardInterrupt:  # pytest got the same Ctrl-C: it writes the record of what ran
        pass
    return html_report.start(reports) if run.poll() is None else None


def _after_the_run(
    run: subprocess.Popen,
    report,
    reports: Path,
    pytest_args: list[str],
    clearing: Deletion,
    existed: bool,
    told: int,
) -> int:
    """The record (or one that says why there is none), the HTML report and the exit code. What
    they need is imported here, while pytest starts: imported before, it would delay the run."""
    from suite.reports.html_report import cancel

    code = None
    while code is None:
        with contextlib.suppress(KeyboardInterrupt):  # pytest got the same Ctrl-C: it writes the record of what ran
            code = run.wait()
    clearing.join()
    if code == PYTEST_USAGE_ERROR and not clearing.moved:
        # pytest refused its command line before it moved anything: the folder stays as it was (a
        # record there is the previous run's)
        cancel(report)
        if not existed:
            with contextlib.suppress(OSError):
                reports.rmdir()  # made by the lock, and empty
        print(f"exit code {EXIT_USAGE}: usage error (pytest's message above); nothing in {reports} was changed")
        return EXIT_USAGE
    if code == EXIT_REPORTS_NOT_WRITTEN:  # pytest said what could not be written, and why: here too
        cancel(report)
        with os.fdopen(told, "rb") as pipe:
            problem = pipe.read(4096).decode("utf-8", errors="replace").strip() or "the line above says why"
        print(f"exit code {code}: no verdict: the reports could not be written: {problem}")
        return code
    os.close(told)
    try:
        return _record_and_report(code, report, reports, pytest_args, clearing)
    except ReportsNotWritten as problem:
        cancel(report)
        print(f"ERROR: the reports could not be written\n{problem}\n", file=sys.stderr)
        print(f"exit code {EXIT_REPORTS_NOT_WRITTEN}: no verdict: the reports could not be written: {problem}")
        return EXIT_REPORTS_NOT_WRITTEN


def _record_and_report(code: int, report, reports: Path, pytest_args: list[str], clearing: Deletion) -> int:
    from suite.reports.html_report import cancel, generate
    from suite.verdict.exit_codes import EXIT_ENVIRONMENT_PROBLEM, exit_code

    record_path = reports / "compliance.json"
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.exists() else None
    environment_problem = record is not None and exit_code(record["verdict"]) == EXIT_ENVIRONMENT_PROBLEM
    if code == PYTEST_INTERNAL_ERROR and not environment_problem:
        # pytest's 3 is also its internal error: a crash of the suite must not read as "incomplete"
        # or as a server that could not be reached
        from suite.reports.results import write_no_verdict

        record = write_no_verdict(
            record_path,
            "a fault of the suite",
            "pytest stopped with an internal error (INTERNALERROR above); please report it with that output",
            _environment_option(pytest_args),
        )
    elif record is None:  # pytest stopped before the suite could say why: its own usage error, or Ctrl-C
        from suite.reports.results import write_no_verdict

        if code == PYTEST_USAGE_ERROR:
            kind, reason = "configuration problem", f"pytest exited {code}; its output above says why"
        else:
            kind, reason = "the run stopped before it wrote a record", _how_far(code, reports / "allure-results")
        record = write_no_verdict(record_path, kind, reason, _environment_option(pytest_args))
    if record.get("rules"):
        generate(reports, report)
    else:
        cancel(report)
    code = exit_code(record["verdict"])
    print(f"exit code {code}: {record['verdict']}")
    return code


def _how_far(code: int, results: Path) -> str:
    """How far a run that wrote no record had gone, from what its scenarios wrote: a result for each
    one that finished, an attachment as soon as one is under way (a run killed in its first scenario
    has only that)."""
    how = f"pytest exited {code}"
    if code < 0:
        with contextlib.suppress(ValueError):
            how = f"pytest was ended by {signal.Signals(-code).name} (exit {code})"
    finished = len(list(results.glob("*-result.json")))
    begun = results.is_dir() and any(results.iterdir())
    if finished:
        where = (
            f"after {finished} scenario{'s' if finished > 1 else ''} had finished (a next one may have been running)"
        )
    elif begun:
        where = "during its first scenario, which had begun and not finished"
    else:
        where = "before any scenario had written anything"
    return f"{how} {where}; its output above says why"


def _usage_error(message: object) -> int:
    """The form of pytest's own usage errors, and the last line of every run: exit code 2, nothing changed."""
    print(f"usage error: {message}\n{USAGE.splitlines()[0]}", file=sys.stderr)
    print(f"exit code {EXIT_USAGE}: usage error (the lines above say which); nothing was run or changed")
    return EXIT_USAGE


def _configuration_problem(message: str) -> int:
    from suite.verdict.exit_codes import EXIT_CONFIGURATION_PROBLEM

    # the form of every other configuration problem (pytest's usage error), and the last line of every run
    print(f"ERROR: configuration problem\n{message}\n", file=sys.stderr)
    print(f"exit code {EXIT_CONFIGURATION_PROBLEM}: no verdict: configuration problem")
    return EXIT_CONFIGURATION_PROBLEM


def _reports_option(argv: list[str]) -> tuple[Path, list[str]]:
    reports, rest, arguments = Path("reports"), [], iter(argv)
    for argument in arguments:
        if argument == "--reports" or argument.startswith("--reports="):
            folder = argument.split("=", 1)[1] if "=" in argument else next(arguments, "")
            if not folder or folder.startswith("-"):
                raise ValueError("--reports needs a folder: --reports=DIR")
            reports = Path(folder)
        elif argument in JOINED:
            # pytest reads a value after a space as a path to collect until the suite's plugin has
            # registered the option: `--env PATH` made PATH's folder the rootdir, the plugin was not
            # loaded, and pytest named `--compliance=...` (which the user never typed) unrecognised
            value = next(arguments, None)
            rest.append(argument if value is None else f"{argument}={value}")
        else:
            rest.append(argument)
    return reports, rest


def _environment_option(arguments: list[str]) -> str:
    chosen = "sandbox"
    for index, argument in enumerate(arguments):
        if argument == "--env" and index + 1 < len(arguments):
            chosen = arguments[index + 1]
        elif argument.startswith("--env="):
            chosen = argument.split("=", 1)[1]
    return chosen


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
