"""One run at a time per reports folder. Two runs writing into one folder would mix their
results, and the second's --clean-alluredir would delete the first's: the folder of each output
(the record, the Allure results, JUnit XML) is locked for the whole run, before any plugin
writes or cleans anything, and a second run into a locked folder stops at once with one line
that names the run holding it. The lock is the operating system's (flock): it ends with its
process, however that ends, so no stale lock is ever left behind."""

import fcntl
import os
import time
from pathlib import Path

import pytest

LOCK_NAME = ".run.lock"


@pytest.hookimpl(tryfirst=True)  # before allure-pytest-bdd cleans its results folder
def pytest_configure(config):
    if hasattr(config, "workerinput") or config.option.collectonly:  # xdist workers: the controller holds it
        return
    outputs = [config.getoption("--compliance"), getattr(config.option, "allure_report_dir", None),
               getattr(config.option, "xmlpath", None)]
    folders = sorted({Path(path).resolve().parent for path in outputs if path})
    config.run_locks = [_lock(folder) for folder in folders]  # kept open: the lock lasts as long as the run


def _lock(folder: Path):
    try:
        folder.mkdir(parents=True, exist_ok=True)
        file = open(folder / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
    except OSError as error:
        raise pytest.UsageError(f"configuration problem\n{folder}: cannot write reports here "
                                f"({error.strerror or error}). Give a folder this user can write to") from None
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read(200).strip() or "another run"
        file.close()
        raise pytest.UsageError(
            f"configuration problem\n{folder}: {holder} is writing its reports here; two runs in one folder would "
            "mix and delete each other's results. Wait for it to end, or give this run its own folder: "
            "--compliance=DIR/compliance.json --alluredir=DIR/allure-results --junitxml=DIR/junit.xml") from None
    file.seek(0)
    file.truncate()
    file.write(f"the run of process {os.getpid()} (started {time.strftime('%H:%M:%S UTC', time.gmtime())})")
    file.flush()
    return file
