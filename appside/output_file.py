"""drive.output_file, the file an application's output goes to: read only where it is a regular file of a
real filesystem, never blocking, and bounded as a launched application's output is (appside.launcher's
OUTPUT_KEPT: its first and last 8 MB of what the run wrote).

Read as it was once, whatever it was: /proc/self/environ made the suite read its own environment (the
operator's keys) into every report, /dev/zero grew it to 21.7 GB, and a named pipe held it for ever."""

import contextlib
import os
import stat
from pathlib import Path

from appside.launcher import OUTPUT_KEPT
from suite.secrets.redaction import learn_verifiers_in

# Filesystems the kernel makes up as they are read: a "regular file" there (/proc/self/environ, /sys/...) is
# no log, and may be the suite's own memory or environment
PSEUDO_FILESYSTEMS = frozenset(
    [
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "debugfs",
        "tracefs",
        "securityfs",
        "cgroup",
        "cgroup2",
        "configfs",
        "efivarfs",
        "bpf",
        "fusectl",
        "pstore",
        "mqueue",
        "hugetlbfs",
        "binfmt_misc",
        "autofs",
        "rpc_pipefs",
        "nsfs",
    ]
)
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def not_regular(path: str | os.PathLike, mode: int | None = None) -> str | None:
    """What `path` is where it is no regular file the suite may read (None where it is one, or where it does
    not exist: the application may make it)."""
    if mode is None:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return None
    for test, kind in _KINDS:
        if test(mode):
            return kind
    filesystem = _filesystem(Path(path).resolve())
    if filesystem in PSEUDO_FILESYSTEMS:
        return f"a file of the kernel's {filesystem} filesystem, made up as it is read"
    return None


def _filesystem(path: Path) -> str:
    """The type of the filesystem `path` is on: that of the longest mount point above it (/proc/self/mounts)."""
    best, kind = "", ""
    with contextlib.suppress(OSError), open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) < 3:
                continue
            point = fields[1].replace("\\040", " ")
            if (str(path) == point or str(path).startswith(point.rstrip("/") + "/")) and len(point) > len(best):
                best, kind = point, fields[2]
    return kind


def read_from(path: str | os.PathLike, start: int = 0, kept: int = OUTPUT_KEPT) -> tuple[str, str | None]:
    """The file's text from byte `start` on, and None; or "" and what the file is, where it is no regular
    file (made one since the run started). Never blocks (a named pipe is opened without waiting for a
    writer and not read); of more than twice `kept` bytes, the first and last `kept` with a line between them
    that says how many were left out."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return "", None
    with open(descriptor, "rb") as file:
        kind = not_regular(path, os.fstat(descriptor).st_mode)
        if kind:
            return "", kind
        end = os.fstat(descriptor).st_size
        start = min(start, end)
        file.seek(start)
        if end - start <= 2 * kept:
            data = file.read(end - start)
        else:
            head = file.read(kept)
            file.seek(end - kept)
            left_out = end - start - 2 * kept
            gap = (
                f"\n[the suite left out {left_out} bytes of drive.output_file here: it reads the first and the last "
                f"{kept // (1024 * 1024)} MB of what the run wrote]\n"
            )
            data = head + gap.encode() + file.read(kept)
    return learn_verifiers_in(data.decode("utf-8", errors="replace")), None
