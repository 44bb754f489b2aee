"""python -m appside.certify [--reports=DIR] --app=PATH [pytest options]: `make certify-app`.

Certifies an application as `python -m appside` does, with the record, JUnit XML and the Allure
results in DIR (default reports/app), then makes the HTML report of it there, all under the lock of
DIR (suite.reports.folder_lock) taken first and held until the report is written: another
certification into DIR stops at once with one line (exit 4) instead of writing between this one's
results and its report. Exits with the certification's code, whether or not a report was made."""

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from appside.__main__ import certify, refuses_unknown_rules
from suite.reports.folder_lock import HELD_BY_PARENT, FolderBusy, lock_folder

ROOT = Path(__file__).resolve().parent.parent
ALLURE = ROOT / "node_modules" / ".bin" / "allure"
REPORT_NAME = "Visma Connect application certification"
EXIT_CONFIGURATION = 4  # as pytest's usage error, and the suite's configuration problem
FOLDER_HINT = "python -m appside.certify --reports=DIR --app=FILE, or make certify-app APP_REPORTS=DIR"


def main(argv: list[str]) -> int:
    reports = Path("reports/app")
    arguments = []
    for argument in argv:
        if argument.startswith("--reports="):
            reports = Path(argument.removeprefix("--reports="))
        else:
            arguments.append(argument)
    if refuses_unknown_rules(arguments):  # before the lock makes the folder
        return EXIT_CONFIGURATION
    try:
        lock_folder(reports.resolve(), FOLDER_HINT)  # held by this process: through pytest and the report
    except FolderBusy as busy:
        print(f"ERROR: configuration problem\n{busy}", file=sys.stderr)
        return EXIT_CONFIGURATION
    os.environ[HELD_BY_PARENT] = str(reports.resolve())  # its pytest, in this process, must not lock it again
    run = _UnderWay()
    code = certify(
        [
            f"--alluredir={reports / 'allure-results'}",
            "--clean-alluredir",
            f"--compliance={reports / 'compliance.json'}",
            f"--junitxml={reports / 'junit.xml'}",
            *arguments,
        ],
        plugins=(run,),
    )
    if code == EXIT_CONFIGURATION or not run.under_way:
        # nothing ran (a configuration problem, a usage error, Ctrl-C before the application answered):
        # the previous run's HTML report stays, as its record, JUnit XML and Allure results do
        return code
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM now: the certification's code all the same
        html_report(reports)
    return code


class _UnderWay:
    """Whether the certification got under way (appside/conftest.py: the application file read, the
    stand-in listening, the launched application answering), as its pytest ends."""

    under_way = False

    def pytest_unconfigure(self, config) -> None:
        self.under_way = bool(getattr(config, "under_way", False))


def html_report(reports: Path) -> None:
    """The HTML report of the results in `reports`, with the record's verdict on it; none without
    Allure (Node.js) or results. Its history (history.jsonl) stays in `reports` too: the server
    side's reports/history.jsonl is another run's."""
    from suite.reports.report_page import main as add_banner

    results, report = reports / "allure-results", reports / "allure-report"
    if not ALLURE.exists() or not results.is_dir():
        return
    shutil.rmtree(report, ignore_errors=True)
    made = subprocess.run(
        [str(ALLURE), "generate", str(results), "-o", str(report), "--report-name", REPORT_NAME],
        cwd=ROOT,
        env={**os.environ, "CONFORMANCE_REPORTS": str(reports)},  # allurerc.mjs: its record and history are here
        stdout=subprocess.DEVNULL,
    )
    if made.returncode == 0 and add_banner([str(report), str(reports / "compliance.json")]) == 0:
        print(f"HTML report: {report / 'index.html'}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
