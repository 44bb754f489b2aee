"""The lock of a reports folder (see suite.reports.run_lock), without pytest: `python -m suite.run`
takes it before it starts its pytest, and must not wait for pytest's import to do so."""

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

from suite.reports.atomic_write import why

HELD_BY_PARENT = "CONFORMANCE_REPORTS_LOCKED"  # set by `python -m suite.run` for its pytest: the folder it holds
PARENT_PID = "CONFORMANCE_RUNNER_PID"  # set by `python -m suite.run` for its pytest, which dies with it
WRITABLE = "Give --reports=DIR a folder this user can write to (a read-write mount with free space)"
_HELD: list[int] = []  # the open descriptors of the locked folders: a lock lasts as long as its descriptor


class FolderBusy(Exception):
    """Another run writes into the folder, or nothing can: one line that says which and what to do."""


SERVER_SIDE_HINT = (
    "python -m suite.run --reports DIR; with pytest: --compliance=DIR/compliance.json "
    "--alluredir=DIR/allure-results --junitxml=DIR/junit.xml"
)


def lock_folder(folder: Path, hint: str = SERVER_SIDE_HINT) -> None:
    """Locks the folder itself (no file is added to it) for as long as this process lives, once it
    is known to be a folder this process can write into: a read-only one is found before the run,
    not after it (docs/reference-exit-codes.md). `hint`: how the command that calls it is given
    another folder, said when the folder is busy."""
    if folder.exists() and not folder.is_dir():
        raise FolderBusy(f"{folder}: is a file, not a folder. Give the reports a folder (--reports=DIR)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise FolderBusy(f"{folder}: cannot write reports here ({why(error)}). {WRITABLE}") from None
    try:
        probe, name = tempfile.mkstemp(prefix=".writable-", dir=folder)
    except OSError as error:
        os.close(handle)
        raise FolderBusy(f"{folder}: cannot write reports here ({why(error)}). {WRITABLE}") from None
    os.close(probe)
    with contextlib.suppress(OSError):
        os.unlink(name)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(handle)
        os.close(handle)
        raise FolderBusy(
            f"{folder}: {f'the run of process {holder}' if holder else 'another run'} is writing its reports here; "
            "two runs in one folder would mix and delete each other's results. Wait for it to end, or give this run "
            f"its own folder ({hint})"
        ) from None
    _HELD.append(handle)


def _holder(handle: int) -> int | None:
    """The process holding the lock, from the kernel's table of locks (Linux: /proc/locks)."""
    status = os.fstat(handle)
    device = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    try:
        table = Path("/proc/locks").read_text()
    except OSError:
        return None
    for line in table.splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == device and fields[4].isdigit():
            return int(fields[4])
    return None
