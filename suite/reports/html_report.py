"""The HTML report of one run: python -m suite.reports.html_report [REPORTS_DIR] (default reports)

Allure 3 (npm package `allure`, pinned in package.json) turns REPORTS_DIR/allure-results into
REPORTS_DIR/allure-report with the project's allurerc.mjs, which reads the folder from
CONFORMANCE_REPORTS; then the verdict banner goes on top. suite/reports/allure_report.mjs does what
`allure generate` does, with faster reads and writes (see there). Allure appends the run to
REPORTS_DIR/history.jsonl (the trend across runs): results already in the history are never
appended twice, however often the report is generated again.

Node takes about a second to load Allure's modules, more than the report itself takes.
`python -m suite.run` therefore starts it (`start`) while the suite runs, on the other core: told by
CONFORMANCE_WAIT_FOR_RESULTS, it waits for "go" on its standard input, which `generate` sends once
the results are complete.

The report and the history are written aside (.allure-report.partial, .history.jsonl.partial) and
moved into place only once whole: a disk that fills while the report is made (exit 6, one line:
ReportsNotWritten) leaves no cut-off allure-report/ for CI to publish, and history.jsonl as it was.
`python -m appside.certify` makes its report with the same `generate`."""

import base64
import contextlib
import errno
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from suite.reports.atomic_write import OUTPUT_ERRORS, ReportsNotWritten, not_written
from suite.reports.report_page import main as add_banner

ROOT = Path(__file__).resolve().parents[2]
ALLURE = ROOT / "node_modules" / ".bin" / "allure"  # the command line: installed, Allure is there
GENERATE = ["node", str(ROOT / "suite" / "reports" / "allure_report.mjs")]
IN_HISTORY = ".in-history"  # marks results whose run history.jsonl already holds
WAIT_FOR_RESULTS = "CONFORMANCE_WAIT_FOR_RESULTS"  # allure_report.mjs: wait for "go" on standard input
NOT_WRITTEN = 6  # allure_report.mjs: a report file or the history could not be written (its errno on stderr)
STAGED_REPORT, STAGED_HISTORY = ".allure-report.partial", ".history.jsonl.partial"
ALLURE_OUTPUT_KEPT = 4000  # characters of Allure's own error output shown when it fails for another reason


def start(reports: Path) -> subprocess.Popen | None:
    """The report of `reports`, started before its results exist; None without Allure.
    Its own session: a Ctrl-C of the run is for pytest, whose record of what ran gets a report."""
    if not ALLURE.exists():
        return None
    return subprocess.Popen(
        [*GENERATE, str(reports / "allure-results")],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**_environment(reports), WAIT_FOR_RESULTS: "1"},
    )


def cancel(started: subprocess.Popen | None) -> None:
    """No report after all: the end of its input without "go" ends it."""
    if started is not None and started.poll() is None:
        started.communicate(b"")


def generate(
    reports: Path, started: subprocess.Popen | None = None, record: Path | None = None, name: str | None = None
) -> bool:
    """Build the HTML report of the results in `reports` (with `started`, the Allure that `start`
    made waiting for them) with the verdict of `record` (default reports/compliance.json) on top;
    False (and why, on stderr) when it cannot be made. A report or history that cannot be written
    raises ReportsNotWritten, and leaves no report and the history as it was."""
    results, history = reports / "allure-results", reports / "history.jsonl"
    record = record or reports / "compliance.json"
    if not ALLURE.exists():
        reason = (
            "Node.js (with npm) is not installed. Install Node.js 20 or newer, then run: make report"
            if shutil.which("npm") is None
            else "the Allure command line is not installed: run npm ci"
        )
        print(
            f"HTML report skipped: {reason}. The results are in {results}, the certification record in "
            f"{record} and .md.",
            file=sys.stderr,
        )
        return False
    if not results.is_dir():
        cancel(started)
        print(f"HTML report skipped: no results in {results} (the run stopped before any scenario)", file=sys.stderr)
        return False
    report, staged_report, staged_history = reports / "allure-report", reports / STAGED_REPORT, reports / STAGED_HISTORY
    in_history = (results / IN_HISTORY).exists()  # generated before: the history keeps the run once
    try:
        _discard(staged_report, staged_history)
        shutil.rmtree(report, ignore_errors=True)  # never left beside this run's record: it is another run's
        if history.exists():
            _copy(history, staged_history)
        returncode, errors = _go(started) if started is not None else (None, b"")
        if returncode is None:  # not started before, or it ended before the results were complete
            made = subprocess.run(
                [*GENERATE, str(results)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env={**_environment(reports), **({"CONFORMANCE_REPORT_NAME": name} if name else {})},
            )
            returncode, errors = made.returncode, made.stderr
        if returncode == NOT_WRITTEN:
            raise ReportsNotWritten(_not_written(report, errors))
        if returncode != 0:
            sys.stderr.write(errors.decode("utf-8", errors="replace")[-ALLURE_OUTPUT_KEPT:])
            print(f"HTML report failed: allure generate exited {returncode}", file=sys.stderr)
            _discard(staged_report, staged_history)
            return False
        try:
            add_banner([str(staged_report), str(record)])
        except ReportsNotWritten as problem:  # said of the report's place, not of where it was written aside
            raise ReportsNotWritten(str(problem).replace(str(staged_report), str(report))) from None
        (results / IN_HISTORY).touch()
    except BaseException:
        _discard(staged_report, staged_history)
        raise
    try:
        os.replace(staged_report, report)  # renames need no space: the report and history are whole, or not there
    except OSError as error:  # something else at the report's place (a file named allure-report)
        _discard(staged_report, staged_history)
        print(f"HTML report failed: it cannot be put at {report}: {error.strerror or error}", file=sys.stderr)
        return False
    if staged_history.exists() and not in_history:
        os.replace(staged_history, history)
    _discard(staged_report, staged_history)
    serve = "make serve-report" + ("" if reports == Path("reports") else f" REPORTS={shlex.quote(str(reports))}")
    print(
        f"HTML report: {report / 'index.html'} "
        f"(one file: open it in a browser, or serve it on this machine only: {serve})"
    )
    return True


def _environment(reports: Path) -> dict[str, str]:
    """allurerc.mjs: the run's folder (its record), and where the report and history are written aside."""
    return {
        **os.environ,
        "CONFORMANCE_REPORTS": str(reports.resolve()),
        "CONFORMANCE_REPORT_OUTPUT": str((reports / STAGED_REPORT).resolve()),
        "CONFORMANCE_HISTORY": str((reports / STAGED_HISTORY).resolve()),
    }


def _copy(history: Path, staged: Path) -> None:
    """The history, copied for Allure to append this run to: the file in place stays whole if it cannot."""
    try:
        shutil.copyfile(history, staged)
    except OSError as error:
        if error.errno not in OUTPUT_ERRORS:
            raise
        raise not_written(history, error) from None


def _not_written(report: Path, errors: bytes) -> str:
    """allure_report.mjs's last line is the errno of the write that failed."""
    lines = errors.decode("utf-8", errors="replace").split()
    number = int(lines[-1]) if lines and lines[-1].isdigit() else errno.ENOSPC
    return str(not_written(report, OSError(number, os.strerror(number))))


def _discard(*paths: Path) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()


def embedded_files(report: Path) -> dict[str, bytes]:
    """The files a single-file report carries inside its index.html, by name ("widgets/categories.json",
    "data/test-results/<id>.json", "data/attachments/<id>.txt"): Allure 3 writes each as a call
    d("name","base64") in the page."""
    page = (Path(report) / "index.html").read_text(encoding="utf-8")
    return {
        json.loads(name): base64.b64decode(json.loads(value))
        for name, value in re.findall(r'\bd\(("(?:[^"\\]|\\.)*"),("[A-Za-z0-9+/=]*")\)', page)
    }


def _go(started: subprocess.Popen) -> tuple[int | None, bytes]:
    """Tell the waiting Allure that the results are complete; its exit code (None when it had
    ended before: killed while the suite ran) and what it wrote on stderr."""
    if started.poll() is not None:
        return None, b""
    try:
        _, errors = started.communicate(b"go\n")
    except BrokenPipeError:
        started.wait()
        return None, b""
    return started.returncode, errors or b""


if __name__ == "__main__":
    sys.exit(0 if generate(Path(sys.argv[1] if len(sys.argv) > 1 else "reports")) else 1)
