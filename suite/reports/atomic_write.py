"""Writing a report file so that a failed write leaves the previous one whole: the text goes into a
temporary file in the same folder, is flushed to the disk (fsync), and only then replaces the file
(os.replace, atomic within a folder). A full disk or a read-only folder raises ReportsNotWritten,
one line that says what could not be written and why, never a truncated record next to an old one."""

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

# a full disk, a quota, a folder made read-only: what stops a report being written, not a fault of the suite
OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


class ReportsNotWritten(Exception):
    """A report file could not be written: what, and why, in one line."""


def why(error: OSError) -> str:
    """The reason as people read it: "no space left on device", "read-only file system"."""
    return (error.strerror or (os.strerror(error.errno) if error.errno else str(error))).lower()


NOT_WRITTEN_FD = "CONFORMANCE_NOT_WRITTEN_FD"  # python -m suite.run's pipe: what its pytest could not write


def not_written(path: Path | str, error: OSError) -> ReportsNotWritten:
    """The one line for `path`, which `error` kept from being written; a full disk says to free space."""
    hint = " (free some space on it)" if error.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return ReportsNotWritten(f"{path}: could not be written: {why(error)}{hint}")


def write_atomically(path: Path, text: str) -> None:
    """`path` holds `text`, or, if it cannot be written, still holds what it held before."""
    _replace(Path(path), text, keep=False)


def write_all_or_none(files: dict[Path, str]) -> None:
    """Every file of `files` holds its text, or, if one cannot be written, every one still holds what
    it held before: all are written beside their place and flushed first, then each renamed into
    place, which needs no space. A record is never left beside another run's Markdown."""
    staged: dict[Path, str] = {}
    try:
        for path, text in files.items():
            staged[path] = _stage(path, text, keep=False)
    except ReportsNotWritten:
        for temporary in staged.values():
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        raise
    for path, temporary in staged.items():
        os.replace(temporary, path)


@contextlib.contextmanager
def undone_on_failure(path: Path):
    """`path` as it was before the block, if the block raises ReportsNotWritten: the run history
    does not keep a run whose record could not be written. A hard link keeps the old file (no space)."""
    path = Path(path)
    kept = path.with_name(f".{path.name}.before-{os.getpid()}")
    with contextlib.suppress(OSError):
        kept.unlink()
    had = path.exists()
    if had:
        try:
            os.link(path, kept)
        except OSError:  # a file system without hard links: the history keeps the run
            had = False
    existed = path.exists()
    try:
        yield
    except ReportsNotWritten:
        with contextlib.suppress(OSError):
            if had:
                os.replace(kept, path)
            elif not existed:
                path.unlink()
        raise
    finally:
        with contextlib.suppress(OSError):
            kept.unlink()


def append_atomically(path: Path, line: str) -> None:
    """`path` gains `line` at its end (on a line of its own), or, if it cannot, stays as it was. The
    file is copied a block at a time: a history of any size costs no more memory than a block."""
    _replace(Path(path), line, keep=True)


def _replace(path: Path, text: str, keep: bool) -> None:
    temporary = _stage(path, text, keep)
    try:
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ReportsNotWritten(f"{path}: could not be written: {why(error)}") from None


def _stage(path: Path, text: str, keep: bool) -> str:
    """A temporary file beside `path` with `text` (after `path`'s content when `keep`), on the disk."""
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        # mkstemp's file is the owner's alone; a report keeps the mode of the file it replaces
        os.fchmod(descriptor, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        with os.fdopen(descriptor, "wb") as file:
            if keep and path.exists():
                with path.open("rb") as previous:
                    shutil.copyfileobj(previous, file)
                    if file.tell():
                        previous.seek(-1, os.SEEK_END)
                        if previous.read(1) != b"\n":
                            file.write(b"\n")
            file.write(text.encode("utf-8"))
            file.flush()
            os.fsync(file.fileno())
        staged, temporary = temporary, None
        return staged
    except OSError as error:
        raise not_written(path, error) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
