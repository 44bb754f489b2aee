"""`make test` never touches the user's reports/: the project's tests write into temporary folders.
A pytest plugin (loaded by tests/conftest.py): it notes what reports/ holds when the test run
starts and fails the run, naming each file, when anything there was written, added or removed.
REPORTS_GUARD_DIR watches another folder (the guard's own test)."""

import os
from pathlib import Path

import pytest

WATCHED = Path(os.environ.get("REPORTS_GUARD_DIR") or Path(__file__).resolve().parent.parent / "reports")


def _snapshot() -> dict[str, tuple[int, int]]:
    return (
        {
            str(p.relative_to(WATCHED)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in WATCHED.rglob("*")
            if p.is_file()
        }
        if WATCHED.is_dir()
        else {}
    )


def pytest_sessionstart(session):
    session.config.reports_before = _snapshot()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):  # the controller sees the whole run
        return
    before, after = session.config.reports_before, _snapshot()
    touched = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    if touched:
        writer = session.config.get_terminal_writer()
        writer.line()
        writer.line(
            f"REPORTS TOUCHED: the project's tests changed {WATCHED}: {', '.join(touched)}. "
            "Tests write into temporary folders only (tests/run.py gives the suite one).",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
