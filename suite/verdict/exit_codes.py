"""The table of exit codes in docs/reference-exit-codes.md; `python -m suite.run` exits with the code of its record's
verdict. Apart from the record (suite.reports.results) so that `python -m suite.run` can read a verdict's
code without importing pytest: that process only waits for its pytest, and importing pytest there
took CPU from the run's start and about 50 ms from its end, when Python tears the modules down."""

EXIT_CONFORMANT = 0
EXIT_NOT_CONFORMANT = 1
EXIT_NO_VERDICT = 2  # interrupted before any scenario, or the features could not be collected
EXIT_ENVIRONMENT_PROBLEM = 3
EXIT_CONFIGURATION_PROBLEM = 4
EXIT_INCOMPLETE = 5  # what ran passed, but a blocker or critical rule did not run
EXIT_REPORTS_NOT_WRITTEN = 6  # the run's record could not be written: a full disk, a folder made read-only


def exit_code(verdict: str) -> int:
    """The suite's exit code for a record's verdict."""
    for prefix, code in (
        ("conformant", EXIT_CONFORMANT),
        ("not conformant", EXIT_NOT_CONFORMANT),
        ("incomplete", EXIT_INCOMPLETE),
    ):
        if verdict.startswith(prefix):
            return code
    if verdict.endswith("environment problem"):
        return EXIT_ENVIRONMENT_PROBLEM
    return EXIT_CONFIGURATION_PROBLEM if verdict.endswith("configuration problem") else EXIT_NO_VERDICT
