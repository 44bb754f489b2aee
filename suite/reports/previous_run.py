"""The previous run's outputs in a reports folder, taken out of the way of the next run.

`python -m suite.run` makes every file of its reports folder this run's: the previous run's
record, JUnit, results and HTML report are moved into a folder aside, one rename each, and
deleted while the run goes on (deleting about 1,100 files first held up pytest's start by
0.1-0.5 s). They are moved by the run's pytest once it has accepted its command line
(`move_aside`, from suite.reports.run_lock), never before: `--help`, a usage error or a typo in
an option leave the folder as it was. The histories (Allure's history.jsonl, the records'
run-history.jsonl) stay: the next run compares itself with them."""

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

THIS_RUN = ("compliance.json", "compliance.md", "junit.xml", "changes.md", "allure-results", "allure-report")
ASIDE = ".previous-run-"  # the folder in the reports folder the previous run's outputs are moved into
MOVE_ASIDE = "CONFORMANCE_MOVE_PREVIOUS_RUN_TO"  # set by `python -m suite.run` for its pytest: the folder aside
ASIDE_MARK = ".made-by-suite-run"  # in each folder aside: one without it is a user's, never deleted


def aside_folder(reports: Path) -> Path:
    """Where this run's pytest will move the previous run's outputs (not made yet)."""
    return reports / f"{ASIDE}{os.getpid()}-{time.monotonic_ns()}"


def move_aside(reports: Path, aside: Path) -> None:
    """Moves them into a folder that gets its final name, the one the deleting thread waits for,
    once it holds them all."""
    moving = aside.with_name(aside.name + ".moving")
    moving.mkdir()
    (moving / ASIDE_MARK).touch()
    for name in THIS_RUN:
        path = reports / name
        if path.exists() or path.is_symlink():
            path.rename(moving / name)
    moving.rename(aside)


class Deletion(threading.Thread):
    """Deletes the folder aside once pytest has made it, with what killed runs left aside before;
    a run whose pytest ended without making it (a usage error) deletes nothing. `moved` says,
    once the thread has ended, whether pytest moved the previous run's outputs."""

    def __init__(self, reports: Path, aside: Path, running: Callable[[], bool]):
        super().__init__(name="previous run's outputs", daemon=True)
        self.reports, self.aside, self.running, self.moved = reports, aside, running, False

    def run(self) -> None:
        while not self.aside.exists() and self.running():
            time.sleep(0.02)
        self.moved = self.aside.exists()
        if self.moved:
            # what killed runs left aside goes too: a folder with ASIDE_MARK (a user's of the same name has none)
            left = [f for f in self.reports.glob(f"{ASIDE}*") if f != self.aside and _made_by_a_run(f)]
            for folder in [self.aside, *left]:
                shutil.rmtree(folder, ignore_errors=True)


def _made_by_a_run(folder: Path) -> bool:
    return not folder.is_symlink() and (folder / ASIDE_MARK).is_file()


def delete_once_moved(reports: Path, aside: Path, running: Callable[[], bool]) -> Deletion:
    deletion = Deletion(reports, aside, running)
    deletion.start()
    return deletion
