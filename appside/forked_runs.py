"""Certifications started as `python -m appside ARGUMENTS` would start them, but forked from a fork
server (multiprocessing's forkserver) that has imported, once, the libraries every certification
imports, which each of the detection matrix's hundred-odd runs imported again (measured in alternation
at a load of 10-16 on 2 cores: three web applications' certifications 24.3 -> 21.5 CPU-seconds, six
service applications' 6.2 -> 5.0, the fork server's own start included). The project's tests start
their runs of the suite, `python -m pytest`, the same way: 1.1 -> 0.55 CPU-seconds a short run. Every run is
started by start_module, which runs `python -m MODULE` as the interpreter does, its exit handlers included.

Each run is still a process of its own, forked from one that has run nothing of the project: its own
session (as start_new_session), exactly the environment it is given, the project root as its folder,
no terminal, its output in files, and its exit code. Only third-party libraries are imported ahead: the
project's modules are imported by the run itself, and so are pytest's plugins, whose asserts pytest
rewrites as it imports them (one already imported is left as it was, with a warning).

As with any multiprocessing start method but fork, each run imports the main module of the process that
started it (unless that is a package's __main__, as `python -m pytest`'s): a script that certifies through
appside.matrix keeps its work under `if __name__ == "__main__":`."""

import atexit
import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import runpy
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What a certification imports before it runs anything of its own (python -X importtime): pytest, the
# libraries of its Allure and Gherkin plugins, Playwright, the stand-in's (Flask, Authlib, joserfc) and the
# HTTP client's. Not the pytest plugins themselves (pytest_bdd, allure_pytest_bdd, xdist, pytest_timeout, anyio).
PRELOADED = (
    "pytest",
    "_pytest.python",
    "_pytest.junitxml",
    "_pytest.assertion.rewrite",
    *(
        f"_pytest.{plugin}"  # pytest's own plugins (pytest rewrites none of them)
        for plugin in (
            "debugging",
            "faulthandler",
            "helpconfig",
            "pastebin",
            "setuponly",
            "setupplan",
            "skipping",
            "threadexception",
            "tracemalloc",
            "unittest",
            "unraisableexception",
            "warnings",
        )
    ),
    "execnet",
    "packaging.version",
    "allure",
    "allure_commons.lifecycle",
    "allure_commons.logger",
    "gherkin.parser",
    "mako.lookup",
    "parse_type.cfparse",
    "playwright.sync_api",
    "playwright._impl.json_pipe",
    "playwright._impl.local_utils",
    "flask",
    "werkzeug.serving",
    "requests",
    "jsonschema",
    "yaml",
    "ahocorasick",
    "joserfc.jwt",
    "joserfc.jwk",
    "authlib.integrations.flask_oauth2",
    "authlib.oidc.core",
    "authlib.oauth2.rfc7662",
    "authlib.oauth2.rfc9068",
    "authlib.oauth2.rfc9207",
    "cryptography.x509",
)

_context: multiprocessing.context.ForkServerContext | None = None
_context_lock = threading.Lock()
# multiprocessing reads a forked process's exit code from a pipe once, and Process.start() reads those of the
# processes it started before that ended: two threads reading one at once would leave one of them 255 (its code
# for a pipe found empty)
_reading_codes = threading.Lock()


def _fork_server() -> multiprocessing.context.ForkServerContext:
    global _context
    with _context_lock:
        if _context is None:
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(list(PRELOADED))
        return _context


def _become_the_run(environ: dict[str, str], stdout: str, stderr: str) -> None:
    """In the forked process: what subprocess.Popen(start_new_session=True, cwd=ROOT, env=environ) with its
    output in the files `stdout` and `stderr` would have made of it before `python -m` ran anything."""
    os.setsid()
    os.environ.clear()
    os.environ.update(environ)
    sys.dont_write_bytecode = bool(environ.get("PYTHONDONTWRITEBYTECODE"))
    os.chdir(ROOT)
    if environ.get("PYTHONUNBUFFERED"):  # as the interpreter it would have started reads it
        for stream in (sys.stdout, sys.stderr):
            stream.reconfigure(write_through=True)  # type: ignore[union-attr]
    # the path `python -m` in the project root starts with, not the one of the tests that started the fork
    # server (pytest put tests/ in it, where a module of the same name as one of the run's could be found first)
    tests = os.path.realpath(ROOT / "tests")
    given = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p]  # next, as the interpreter puts it
    others = (p for p in sys.path if p and os.path.realpath(p) not in (str(ROOT), tests) and p not in given)
    sys.path[:] = [str(ROOT), *given, *others]
    for path, descriptor in ((stdout, 1), (stderr, 2)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, descriptor)
        os.close(opened)


def _run_module(module: str, arguments: list[str], environ: dict[str, str], stdout: str, stderr: str) -> None:
    """In the forked process: `python -m MODULE ARGUMENTS`, its exit handlers run as the interpreter's exit
    runs them (multiprocessing ends a forked process without them: pytest's remove its folders' locks)."""
    _become_the_run(environ, stdout, stderr)
    sys.argv = [module, *arguments]  # runpy puts the module's file first, as `python -m` does
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        atexit._run_exitfuncs()


class ForkedRun:
    """A run started by `start_module`, with what appside.launcher.end_process_tree and the matrix use of a
    subprocess.Popen: pid, wait, poll, returncode and communicate (its output, once it ended)."""

    def __init__(self, module: str, arguments: list[str], environ: dict[str, str], folder: Path):
        self.stdout, self.stderr = folder / "stdout", folder / "stderr"
        self._process = _fork_server().Process(
            target=_run_module,
            args=(module, arguments, environ, str(self.stdout), str(self.stderr)),
            name=module,
            daemon=False,
        )
        with _reading_codes:
            self._process.start()
        self.pid: int = self._process.pid or 0  # set once started

    @property
    def returncode(self) -> int:
        """Its exit code once it ended (negative: the signal that ended it); read once it ended or was ended
        (end_process_tree): one that outlived its SIGKILL reads as killed by it."""
        code = self.poll()
        return -signal.SIGKILL if code is None else code

    def poll(self) -> int | None:
        with _reading_codes:
            return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        multiprocessing.connection.wait([self._process.sentinel], timeout)  # ready once it ended; reads nothing
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(f"python -m {self._process.name}", timeout or 0)
        return code

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Its output, once it ended within `timeout` (subprocess.TimeoutExpired if not)."""
        self.wait(timeout)
        return self._read(self.stdout), self._read(self.stderr)

    @staticmethod
    def _read(path: Path) -> str:
        with contextlib.suppress(OSError):
            return path.read_text(errors="replace")
        return ""


def start_module(module: str, arguments: list[str], environ: dict[str, str], folder: Path) -> ForkedRun:
    """`python -m MODULE ARGUMENTS` (`appside`: a certification; the suite's `pytest`) with exactly `environ`, in a
    session of its own, its output in `folder`."""
    return ForkedRun(module, arguments, environ, folder)
