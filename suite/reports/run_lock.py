"""One run at a time per reports folder. Two runs writing into one folder would mix their
results, and the second's --clean-alluredir would delete the first's: the folder of each output
(the record, the Allure results, JUnit XML) is locked for the whole run, before any plugin
writes or cleans anything, and a second run into a locked folder stops at once with one line
that names the run holding it. `python -m suite.run` takes the lock and hands it to its pytest,
which moves the previous run's outputs aside here, once its command line was accepted (see
suite.reports.previous_run). The lock is the operating system's (flock): it ends with its
process, however that ends, so no stale lock is ever left behind."""

import contextlib
import os
from pathlib import Path

import pytest

from suite.reports.folder_lock import HELD_BY_PARENT, FolderBusy, lock_folder
from suite.reports.previous_run import MOVE_ASIDE, move_aside

_MADE = pytest.StashKey[list[Path]]()


def _missing(folder: Path) -> list[Path]:
    """The folder and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


@pytest.hookimpl(tryfirst=True)  # before allure-pytest-bdd cleans its results folder
def pytest_configure(config: pytest.Config) -> None:
    # xdist workers: the controller holds it; --help shows options and writes nothing
    if hasattr(config, "workerinput") or config.option.collectonly or config.option.help:
        return
    outputs = [
        config.getoption("--compliance"),
        getattr(config.option, "allure_report_dir", None),
        getattr(config.option, "xmlpath", None),
    ]
    held = {Path(os.environ[HELD_BY_PARENT]).resolve()} if HELD_BY_PARENT in os.environ else set()
    folders = sorted({Path(path).resolve().parent for path in outputs if path} - held)
    # the folders this run makes: taken away again if it ends with nothing in them (a configuration
    # problem changes nothing, not even by an empty folder)
    config.stash[_MADE] = [made for folder in folders for made in _missing(folder)]
    try:
        for folder in folders:
            lock_folder(folder)
    except FolderBusy as busy:
        raise pytest.UsageError(f"configuration problem\n{busy}") from None
    _refuse_missing_paths(config)
    if MOVE_ASIDE in os.environ and HELD_BY_PARENT in os.environ:
        move_aside(Path(os.environ[HELD_BY_PARENT]), Path(os.environ[MOVE_ASIDE]))


@pytest.hookimpl(trylast=True)  # after every plugin wrote what it writes
def pytest_unconfigure(config: pytest.Config) -> None:
    made: list[Path] = config.stash.get(_MADE, [])
    for folder in sorted(set(made), key=lambda path: len(path.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty: the run wrote something there, which stays
            folder.rmdir()


def _refuse_missing_paths(config: pytest.Config) -> None:
    """A path to collect that does not exist is a usage error before anything is moved: pytest
    found it only after the run, which went on without its scenarios (`suite.run --env=X clean`
    exited 5, INCOMPLETE, and named the stray word after the verdict)."""
    if config.args_source != pytest.Config.ArgsSource.ARGS or config.option.pyargs:
        return  # the ini file's testpaths, or module names
    for argument in config.args:
        path = argument.split("::", 1)[0]
        if not (config.invocation_params.dir / path).exists():
            raise pytest.UsageError(f"file or directory not found: {argument} (a stray word on the command line?)")
