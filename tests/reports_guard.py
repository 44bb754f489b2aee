"""`make test` never touches the user's reports/, nor leaves a file in the user's cache: the
project's tests write into temporary folders. A pytest plugin (loaded by tests/conftest.py): it notes
what reports/ and the reference service's token cache in the user's cache ($XDG_CACHE_HOME or
~/.cache, visma-connect-reference-service: its `cache-token` switch kept a file there each run)
hold when the test run starts, and fails the run, naming each file, when anything in reports/ was
written, added or removed, or anything was written or added to the cache.
REPORTS_GUARD_DIR watches another reports folder (the guard's own test)."""

import os
from pathlib import Path

import pytest

WATCHED = Path(os.environ.get("REPORTS_GUARD_DIR") or Path(__file__).resolve().parent.parent / "reports")
# where examples/service_app/app.py keeps its token unless SERVICE_APP_TOKEN_CACHE (a temporary folder) says
TOKEN_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "visma-connect-reference-service"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return (
        {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()}
        if folder.is_dir()
        else {}
    )


def pytest_sessionstart(session):
    session.config.reports_before = _snapshot(WATCHED)
    session.config.cache_before = _snapshot(TOKEN_CACHE)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):  # the controller sees the whole run
        return
    before, after = session.config.reports_before, _snapshot(WATCHED)
    touched = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    cached_before, cached = session.config.cache_before, _snapshot(TOKEN_CACHE)
    left = sorted(name for name in cached if cached_before.get(name) != cached[name])
    writer = session.config.get_terminal_writer()
    if touched:
        writer.line()
        writer.line(
            f"REPORTS TOUCHED: the project's tests changed {WATCHED}: {', '.join(touched)}. "
            "Tests write into temporary folders only (tests/run.py gives the suite one).",
            red=True,
        )
    if left:
        writer.line()
        writer.line(
            f"LEFT IN THE USER'S CACHE: the project's tests wrote into {TOKEN_CACHE}: {', '.join(left)}. "
            "Tests give the reference service a temporary folder for its token (SERVICE_APP_TOKEN_CACHE, "
            "set by tests/conftest.py; appside/matrix.py gives each run its own).",
            red=True,
        )
    if touched or left:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
