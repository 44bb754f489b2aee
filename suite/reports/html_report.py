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
the results are complete."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from suite.reports.report_page import main as add_banner

ROOT = Path(__file__).resolve().parents[2]
ALLURE = ROOT / "node_modules" / ".bin" / "allure"  # the command line: installed, Allure is there
GENERATE = ["node", str(ROOT / "suite" / "reports" / "allure_report.mjs")]
IN_HISTORY = ".in-history"  # marks results whose run history.jsonl already holds
WAIT_FOR_RESULTS = "CONFORMANCE_WAIT_FOR_RESULTS"  # allure_report.mjs: wait for "go" on standard input


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
        start_new_session=True,
        env={**os.environ, "CONFORMANCE_REPORTS": str(reports.resolve()), WAIT_FOR_RESULTS: "1"},
    )


def cancel(started: subprocess.Popen | None) -> None:
    """No report after all: the end of its input without "go" ends it."""
    if started is not None and started.stdin is not None:  # start() opens it as a pipe
        started.stdin.close()
        started.wait()


def generate(reports: Path, started: subprocess.Popen | None = None) -> bool:
    """Build the HTML report of the results in `reports` (with `started`, the Allure that `start`
    made waiting for them); False (and why, on stderr) when it cannot."""
    results, history = reports / "allure-results", reports / "history.jsonl"
    if not ALLURE.exists():
        reason = (
            "Node.js (with npm) is not installed. Install Node.js 20 or newer, then run: make report"
            if shutil.which("npm") is None
            else "the Allure command line is not installed: run npm ci"
        )
        print(
            f"HTML report skipped: {reason}. The results are in {results}, the certification record in "
            f"{reports / 'compliance.json'} and .md.",
            file=sys.stderr,
        )
        return False
    if not results.is_dir():
        cancel(started)
        print(f"HTML report skipped: no results in {results} (the run stopped before any scenario)", file=sys.stderr)
        return False
    kept = history.read_bytes() if (results / IN_HISTORY).exists() and history.exists() else None
    shutil.rmtree(reports / "allure-report", ignore_errors=True)
    returncode = _go(started) if started is not None else None
    if returncode is None:  # not started before, or it ended before the results were complete
        returncode = subprocess.run(
            [*GENERATE, str(results)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            env={**os.environ, "CONFORMANCE_REPORTS": str(reports.resolve())},
        ).returncode
    if kept is not None:
        history.write_bytes(kept)
    if returncode != 0:
        print(f"HTML report failed: allure generate exited {returncode}", file=sys.stderr)
        return False
    (results / IN_HISTORY).touch()
    add_banner([str(reports / "allure-report"), str(reports / "compliance.json")])
    serve = "make serve-report" + ("" if reports == Path("reports") else f" REPORTS={reports}")
    print(
        f"HTML report: {reports / 'allure-report' / 'index.html'} "
        f"(one file: open it in a browser, or serve it on this machine only: {serve})"
    )
    return True


def embedded_files(report: Path) -> dict[str, bytes]:
    """The files a single-file report carries inside its index.html, by name ("widgets/categories.json",
    "data/test-results/<id>.json", "data/attachments/<id>.txt"): Allure 3 writes each as a call
    d("name","base64") in the page."""
    page = (Path(report) / "index.html").read_text(encoding="utf-8")
    return {
        json.loads(name): base64.b64decode(json.loads(value))
        for name, value in re.findall(r'\bd\(("(?:[^"\\]|\\.)*"),("[A-Za-z0-9+/=]*")\)', page)
    }


def _go(started: subprocess.Popen) -> int | None:
    """Tell the waiting Allure that the results are complete; its exit code, or None when it had
    ended before (killed while the suite ran)."""
    if started.poll() is not None or started.stdin is None:
        return None
    try:
        started.stdin.write(b"go\n")
        started.stdin.close()
    except BrokenPipeError:
        started.wait()
        return None
    return started.wait()


if __name__ == "__main__":
    sys.exit(0 if generate(Path(sys.argv[1] if len(sys.argv) > 1 else "reports")) else 1)
