"""python -m appside.certify [--reports=DIR] --app=PATH [pytest options]: `make certify-app`.

Certifies an application as `python -m appside` does, with the record, JUnit XML and the Allure
results in DIR (default reports/app), then makes the HTML report of it there, all under the lock of
DIR (suite.reports.folder_lock) taken first and held until the report is written: another
certification into DIR stops at once with one line (exit 4) instead of writing between this one's
results and its report. Exits with the certification's code, whether or not a report was made."""

import contextlib
import json
import os
import sys
from pathlib import Path

from appside.__main__ import certify, refuses_unknown_rules
from suite.configuration.command_line import repeated_options
from suite.reports.atomic_write import ReportsNotWritten
from suite.reports.folder_lock import HELD_BY_PARENT, FolderBusy, lock_folder
from suite.verdict.exit_codes import EXIT_REPORTS_NOT_WRITTEN, exit_code

REPORT_NAME = "Visma Connect application certification"
EXIT_CONFIGURATION = 4  # as pytest's usage error, and the suite's configuration problem
EXIT_INTERRUPTED = 2  # pytest's: Ctrl-C or SIGTERM
FOLDER_HINT = "python -m appside.certify --reports=DIR --app=FILE, or make certify-app APP_REPORTS=DIR"


def main(argv: list[str]) -> int:
    """The certification, and its code said last, as `python -m suite.run` says it (docs/reference-exit-codes.md)."""
    try:
        code, record = _main(argv)
        meaning = _meaning(code, record)
    except ReportsNotWritten as problem:  # the record is whole; its HTML report is not there at all
        sys.stdout.flush()
        print(f"ERROR: the reports could not be written\n{problem}", file=sys.stderr)
        code, meaning = EXIT_REPORTS_NOT_WRITTEN, f"no verdict: the reports could not be written: {problem}"
    sys.stderr.flush()  # after what the run wrote to either stream, when both go to one terminal or file
    print(f"exit code {code}: {meaning}", flush=True)
    return code


# what a code means where no record of this run says its verdict
NO_VERDICT = {
    EXIT_CONFIGURATION: "no verdict: configuration problem or usage error (the lines above say which)",
    EXIT_REPORTS_NOT_WRITTEN: "no verdict: the reports could not be written (the line above says why)",
    EXIT_INTERRUPTED: "no verdict: the run was interrupted",
}


def _meaning(code: int, record: Path | None) -> str:
    """The record's verdict where this run wrote one with this code, else what the code means."""
    if record is not None and code not in NO_VERDICT:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            verdict = str(json.loads(record.read_text(encoding="utf-8"))["verdict"])
            if exit_code(verdict) == code:
                return verdict
    return NO_VERDICT.get(code, f"pytest exited {code}; its output above says why")


def _main(argv: list[str]) -> tuple[int, Path | None]:
    """The certification's code, and the record it wrote (None where it wrote none)."""
    reports, record, arguments = None, None, []
    for argument in argv:
        if argument.startswith("--reports="):
            reports = Path(argument.removeprefix("--reports="))
        elif argument.startswith("--compliance="):
            record = Path(argument.removeprefix("--compliance="))
        else:
            arguments.append(argument)
    if refuses_unknown_rules(arguments):  # before the lock makes the folder
        return EXIT_CONFIGURATION, None
    repeated = repeated_options(argv, ("--reports", "--compliance"))  # its pytest sees only the one it is given
    if repeated:
        print("ERROR: usage error\n" + "\n".join(repeated), file=sys.stderr)
        return EXIT_CONFIGURATION, None
    # the whole set follows the record: JUnit, Allure results and the HTML report are made beside it,
    # never next to another run's record in a folder this run did not write (docs/certify-application.md)
    if record is not None and (not record.name or record.is_dir()):
        return _configuration_problem(
            f"--compliance={record}: name the record's file, e.g. --compliance=DIR/compliance.json"
        ), None
    if record is not None and reports is not None and record.parent.resolve() != reports.resolve():
        return _configuration_problem(
            f"--compliance={record} is outside --reports={reports}: the record, JUnit, Allure results and HTML "
            "report are one set in one folder. Give one of the two"
        ), None
    reports = reports or (record.parent if record is not None else Path("reports/app"))
    record = record or reports / "compliance.json"
    made = [folder for folder in (reports, reports / "allure-results") if not folder.exists()]
    try:
        lock_folder(reports.resolve(), FOLDER_HINT)  # held by this process: through pytest and the report
    except FolderBusy as busy:
        return _configuration_problem(str(busy)), None
    os.environ[HELD_BY_PARENT] = str(reports.resolve())  # its pytest, in this process, must not lock it again
    run = _UnderWay()
    code = certify(
        [
            f"--alluredir={reports / 'allure-results'}",
            "--clean-alluredir",
            f"--compliance={record}",
            f"--junitxml={reports / 'junit.xml'}",
            *arguments,
        ],
        plugins=(run,),
    )
    if code in (EXIT_CONFIGURATION, EXIT_REPORTS_NOT_WRITTEN) or not run.under_way:
        # nothing ran (a configuration problem, a usage error, Ctrl-C before the application answered):
        # the previous run's HTML report stays, as its record, JUnit XML and Allure results do; a record
        # that could not be written (a full disk) has no report made of it either; the folders this run made
        # (the lock's, the Allure plugin's) go too, where nothing was written into them: such a run changes nothing
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        return code, None
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C or SIGTERM now: the certification's code all the same
        problem = html_report(reports, record)
        if problem:  # the verdict is in the record; the report a reader opens is missing: said, exit 6
            sys.stdout.flush()
            print(f"ERROR: the HTML report could not be made: {problem}", file=sys.stderr)
            return EXIT_REPORTS_NOT_WRITTEN, record
    return code, record


def _configuration_problem(message: str) -> int:
    sys.stdout.flush()  # the run's own lines first, as they were written
    print(f"ERROR: configuration problem\n{message}", file=sys.stderr)
    return EXIT_CONFIGURATION


class _UnderWay:
    """Whether the certification got under way (appside/conftest.py: the application file read, the
    stand-in listening, the launched application answering), as its pytest ends."""

    under_way = False

    def pytest_unconfigure(self, config) -> None:
        self.under_way = bool(getattr(config, "under_way", False))


def html_report(reports: Path, record: Path) -> str:
    """The HTML report of the results in `reports`, with the record's verdict on it, made as the server
    side's is (suite.reports.html_report: written aside, moved into place once whole); none without
    Allure (Node.js) or results. Its history (history.jsonl) stays in `reports` too: the server
    side's reports/history.jsonl is another run's. What went wrong where one could not be made, in a
    line ("" where it was made, or Allure is not installed); a full disk raises ReportsNotWritten."""
    from suite.reports.html_report import ALLURE, generate

    if not ALLURE.exists() or not (reports / "allure-results").is_dir():
        return ""
    if generate(reports, record=record, name=REPORT_NAME):
        return ""
    return f"allure generate made no report in {reports / 'allure-report'} (the lines above say why)"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
