"""A reports folder nothing can be written into (read-only, a file) is a configuration problem found
before the run; a disk that fills during it ends the run with one line and exit code 6, and every
record file still holds the previous run's text, whole (docs/reference-exit-codes.md)."""

import errno
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from run import ROOT, run_ci

from suite.reports import atomic_write, folder_lock
from suite.reports.atomic_write import ReportsNotWritten, append_atomically, undone_on_failure, write_all_or_none
from suite.reports.folder_lock import FolderBusy, lock_folder
from suite.reports.results import write_no_verdict


def _fail_with(monkeypatch, number: int, module=atomic_write.os, name: str = "fsync") -> None:
    def fail(*arguments, **keywords):
        raise OSError(number, os.strerror(number))

    monkeypatch.setattr(module, name, fail)


def test_a_read_only_reports_folder_is_found_before_the_run(tmp_path, monkeypatch):
    _fail_with(monkeypatch, errno.EROFS, folder_lock.tempfile, "mkstemp")
    with pytest.raises(FolderBusy) as refused:
        lock_folder(tmp_path / "reports")
    assert str(refused.value) == (
        f"{tmp_path / 'reports'}: cannot write reports here (read-only file system). Give --reports=DIR a folder "
        "this user can write to (a read-write mount with free space)"
    )


def test_the_writability_probe_leaves_nothing_behind(tmp_path):
    lock_folder(tmp_path / "reports")
    assert list((tmp_path / "reports").iterdir()) == []


def test_a_full_disk_leaves_every_record_file_as_it_was(tmp_path, monkeypatch):
    previous = {tmp_path / "compliance.json": '{"verdict": "conformant"}', tmp_path / "compliance.md": "# before"}
    for path, text in previous.items():
        path.write_text(text)
    (tmp_path / "run-history.jsonl").write_text('{"run": 1}\n')
    _fail_with(monkeypatch, errno.ENOSPC)
    with pytest.raises(ReportsNotWritten) as full:
        write_no_verdict(tmp_path / "compliance.json", "configuration problem", "why", "sandbox")
    assert str(full.value) == (
        f"{tmp_path / 'compliance.json'}: could not be written: no space left on device (free some space on it)"
    )
    with pytest.raises(ReportsNotWritten):
        append_atomically(tmp_path / "run-history.jsonl", '{"run": 2}\n')
    assert {path: path.read_text() for path in previous} == previous
    assert (tmp_path / "run-history.jsonl").read_text() == '{"run": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["compliance.json", "compliance.md", "run-history.jsonl"]


def test_the_set_is_written_all_or_none_and_the_history_undone(tmp_path, monkeypatch):
    """The third file finds the disk full: the first two are not replaced, the history loses the run."""
    history = tmp_path / "run-history.jsonl"
    history.write_text('{"run": 1}\n')
    for name in ("a", "b", "c"):
        (tmp_path / name).write_text("before")
    real_fsync, calls = os.fsync, []

    def fsync(descriptor):
        calls.append(descriptor)
        if len(calls) == 4:  # the history's, a's, b's, then c's
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(descriptor)

    monkeypatch.setattr(atomic_write.os, "fsync", fsync)
    full = pytest.raises(ReportsNotWritten, match="c: could not be written: no space left on device")
    with full, undone_on_failure(history):
        append_atomically(history, '{"run": 2}\n')
        write_all_or_none({tmp_path / name: "after" for name in ("a", "b", "c")})
    assert [(tmp_path / name).read_text() for name in ("a", "b", "c")] == ["before"] * 3
    assert history.read_text() == '{"run": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c", "run-history.jsonl"]
    write_all_or_none({tmp_path / name: "after" for name in ("a", "b", "c")})
    assert [(tmp_path / name).read_text() for name in ("a", "b", "c")] == ["after"] * 3


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB tmpfs, filled by the test: only as root where mounting is allowed (the monkeypatched
    tests above run everywhere)."""
    yield from _mounted(tmp_path / "tiny", "1m")


@pytest.fixture
def report_disk(tmp_path):
    """A 6 MB tmpfs: room for a run's reports, HTML report (3.5 MB) included, before the test fills it."""
    yield from _mounted(tmp_path / "disk", "6m")


def _mounted(mount: Path, size: str):
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leaving: int = 0) -> None:
    """The disk full to its last byte, or to its last `leaving` bytes."""
    space = os.statvfs(disk)
    size = max(space.f_bavail * space.f_frsize - leaving, 0)
    descriptor = os.open(disk / f"fill-{uuid.uuid4().hex}", os.O_WRONLY | os.O_CREAT)
    try:
        while size > 0 and os.write(descriptor, b"\0" * min(size, 65536)):
            size -= 65536
        while not leaving and os.write(descriptor, b"\0" * 1024):
            pass
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(descriptor)


def test_a_full_disk_during_the_ci_command_is_one_line_and_exit_6(report_disk):
    reports = report_disk / "reports"
    first = run_ci(f"--reports={reports}", "--rule=SVC-01")
    assert first.returncode == 5, first.stdout[-2000:] + first.stderr[-2000:]
    shutil.rmtree(reports / "allure-report", ignore_errors=True)
    history = (reports / "run-history.jsonl").read_text()
    _fill(report_disk)
    second = run_ci(f"--reports={reports}", "--rule=SVC-01")
    assert second.returncode == 6, second.stdout[-2000:] + second.stderr[-2000:]
    assert "Traceback" not in second.stdout + second.stderr
    assert "ERROR: the reports could not be written" in second.stderr
    assert "no space left on device" in second.stderr
    last = second.stdout.splitlines()[-1]
    assert last.startswith("exit code 6: no verdict: the reports could not be written: "), last
    assert "could not be written: no space left on device (free some space on it)" in last, last
    assert (reports / "run-history.jsonl").read_text() == history, "a run with no record joined the history"
    if (reports / "compliance.json").exists():  # whole, never cut short
        json.loads((reports / "compliance.json").read_text())
    assert not list(reports.glob(".*.partial"))


def test_a_full_disk_during_the_application_certification_keeps_the_previous_record(report_disk, tmp_path):
    application = ROOT / "examples" / "service_app" / "application.yaml"
    reports = report_disk / "app"
    command = [sys.executable, "-m", "appside.certify", f"--reports={reports}", f"--app={application}"]
    environ = {**os.environ, "SERVICE_APP_CLIENT_SECRET": "Service-Secret-3e8b1d"}
    first = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    shutil.rmtree(reports / "allure-report", ignore_errors=True)
    before = {p.name: p.read_bytes() for p in reports.iterdir() if p.suffix in (".json", ".md", ".jsonl")}
    assert "compliance.json" in before, first.stdout[-2000:] + first.stderr[-2000:]
    _fill(report_disk)
    second = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    assert second.returncode == 6, second.stdout[-2000:] + second.stderr[-2000:]
    assert "Traceback" not in second.stdout + second.stderr and "no space left on device" in second.stderr
    after = {p.name: p.read_bytes() for p in reports.iterdir() if p.suffix in (".json", ".md", ".jsonl")}
    assert after == before, "a record file changed although the run's record could not be written"


def _assert_no_report_and_one_line(completed: subprocess.CompletedProcess, reports: Path, history: bytes) -> None:
    output = completed.stdout + completed.stderr
    assert completed.returncode == 6, output[-3000:]
    assert "    at " not in output and "ENOSPC" not in output and "Traceback" not in output, output[-3000:]
    assert completed.stdout.splitlines()[-1] == (
        f"exit code 6: no verdict: the reports could not be written: {reports / 'allure-report'}: could not be "
        "written: no space left on device (free some space on it)"
    )
    assert not (reports / "allure-report").exists(), "a cut-off report was left for CI to publish"
    assert not list(reports.glob(".*partial*")), list(reports.glob(".*partial*"))
    assert (reports / "history.jsonl").read_bytes() == history, "Allure's history was changed by a report not made"


def test_a_disk_that_fills_while_the_html_report_is_made_is_exit_6_and_no_report(report_disk):
    reports = report_disk / "reports"
    first = run_ci(f"--reports={reports}", "--rule=SVC-01")
    assert first.returncode == 5 and (reports / "allure-report" / "index.html").exists(), first.stdout[-2000:]
    shutil.rmtree(reports / "allure-report")
    history = (reports / "history.jsonl").read_bytes()
    _fill(report_disk, leaving=1024 * 1024)  # the record fits, the report does not
    _assert_no_report_and_one_line(run_ci(f"--reports={reports}", "--rule=SVC-01"), reports, history)
    assert json.loads((reports / "compliance.json").read_text())["verdict"].startswith("incomplete")


def test_a_disk_that_fills_while_the_application_report_is_made_is_exit_6_and_no_report(report_disk):
    application = ROOT / "examples" / "service_app" / "application.yaml"
    reports = report_disk / "app"
    command = [
        sys.executable,
        "-m",
        "appside.certify",
        f"--reports={reports}",
        f"--app={application}",
        "--rule=APPC-12",
    ]
    environ = {**os.environ, "SERVICE_APP_CLIENT_SECRET": "Service-Secret-3e8b1d"}
    first = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    assert (reports / "allure-report" / "index.html").exists(), first.stdout[-2000:] + first.stderr[-2000:]
    shutil.rmtree(reports / "allure-report")
    history = (reports / "history.jsonl").read_bytes()
    _fill(report_disk, leaving=1024 * 1024)
    second = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    _assert_no_report_and_one_line(second, reports, history)
