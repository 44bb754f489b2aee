"""Ctrl-C, `kill -INT`, SIGTERM (a CI job cancelled, `timeout -s TERM` sent to the whole process
group) end a run the same orderly way on both sides: the scenario under way stops, pytest writes the
record of what ran (incomplete: exit 5), and the reports folder's lock is released last.

Python raises KeyboardInterrupt wherever the interpreter happens to be when a signal comes. Raised
inside a weakref finalizer it was swallowed ("Exception ignored in: <finalize object>") and the run
went on; raised while pytest parsed a failure's source for its report it broke the parser
("SystemError: AST constructor recursion depth mismatch") and the run ended in INTERNALERROR with a
record that contradicted it. So it is raised only while a scenario's own code runs (its setup, call
and teardown, where pytest expects it); anywhere else the signal asks pytest to stop after the
scenario under way (session.shouldstop), which it does at a point of its own choosing, and the next
scenario does not begin. A KeyboardInterrupt that a finalizer swallowed is raised again (AGAIN_AFTER)
while the same scenario phase is still running: CODE-04's 21 s wait went on, and the runner killed
pytest before it wrote a record.

The handlers are installed whatever the signal's disposition was: a shell without job control
(`cmd &` in a script, a CI runner's step) starts its background jobs with SIGINT ignored, and
Python then installs no Ctrl-C handler, so `kill -INT` went unseen. Under `python -m suite.run`
(HELD_BY_PARENT), which passes its SIGINT or SIGTERM on to this pytest, a second signal within
SAME_INTERRUPT seconds is the same one (Ctrl-C at a terminal, or a signal to the whole group, reaches
both processes). A pytest started by `python -m suite.run` also dies with it (die_with_parent): a
`kill -9` of the runner left its pytest writing into a folder no lock held."""

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

import pytest

from suite.reports.folder_lock import PARENT_PID
from suite.reports.main_thread_signals import wake_the_main_thread_on

SAME_INTERRUPT = 2.0  # seconds: a second signal this soon after the first is the same interruption
AGAIN_AFTER = 1.0  # seconds: a scenario phase still running this long after its KeyboardInterrupt had it swallowed
STOPPED = "interrupted (SIGINT or SIGTERM): the record of what ran is written"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Interruption:
    """A pytest plugin: the signal handlers, and where in the run a KeyboardInterrupt may be raised."""

    def __init__(self) -> None:
        self.session: pytest.Session | None = None
        self.in_scenario = False  # a scenario's setup, call or teardown is running
        self.phase = 0  # which one: counts the phases begun
        self.again = False  # the KeyboardInterrupt is raised again: no second signal, whatever the time
        self.last = -SAME_INTERRUPT
        self.requested = False
        self.anywhere = False  # pytest-xdist's controller: its scenarios run in the workers, its loop waits

    def install(self) -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self.interrupt)

    def interrupt(self, signum: int, frame: object) -> None:
        now = time.monotonic()
        again, self.again = self.again, False
        if now - self.last < SAME_INTERRUPT and not again:
            return
        self.last, self.requested = now, True
        if self.session is not None:
            self.session.shouldstop = STOPPED
        if self.in_scenario or self.anywhere or self.session is None:
            if self.in_scenario:
                watch = threading.Timer(AGAIN_AFTER, self._raise_again, args=(self.phase,))
                watch.daemon = True
                watch.start()
            raise KeyboardInterrupt

    def _raise_again(self, phase: int) -> None:
        """From a timer's thread: the scenario phase that got the KeyboardInterrupt still runs."""
        if self.in_scenario and self.phase == phase:
            self.again = True
            # a signal, not _thread.interrupt_main: that one waits for the main thread's next bytecode, after its sleep
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    def pytest_configure(self, config: pytest.Config) -> None:
        """After pytest's own unraisable-exception hook (a builtin plugin, configured before this one): this
        plugin's KeyboardInterrupt, swallowed where Python cannot raise it (a weakref finalizer closing a
        connection), is not passed on. _raise_again interrupts the scenario phase again; passed on, pytest
        printed its traceback in the run's output, which read as a crash of an orderly interruption."""
        passed_on = sys.unraisablehook
        sys.unraisablehook = lambda unraisable: self._unraisable(unraisable, passed_on)

    def _unraisable(self, unraisable, passed_on) -> None:
        if not (self.requested and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            passed_on(unraisable)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if self.requested:  # during collection: nothing ran, nothing is lost by stopping here
            raise KeyboardInterrupt
        self.anywhere = session.config.pluginmanager.has_plugin("dsession")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        return (yield from self._scenario())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        return (yield from self._scenario())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item):
        return (yield from self._scenario())

    def _scenario(self):
        """The scenario's own phase, interruptible; the generator of a hook wrapper. A signal that came
        between two scenarios stops the run before the next one begins (pytest would run it first)."""
        if self.requested:
            raise KeyboardInterrupt
        self.in_scenario, self.phase = True, self.phase + 1
        try:
            return (yield)
        finally:
            self.in_scenario = False


def interruptible(config: pytest.Config) -> None:
    """Install the orderly interruption for this run (once; not in an xdist worker, which its
    controller stops)."""
    if hasattr(config, "workerinput") or config.pluginmanager.has_plugin("conformance-interruption"):
        return
    plugin = Interruption()
    config.pluginmanager.register(plugin, "conformance-interruption")
    plugin.install()
    wake_the_main_thread_on((signal.SIGINT, signal.SIGTERM))  # a signal the kernel gave another thread too


def die_with_parent() -> None:
    """Under python -m suite.run: the kernel sends SIGKILL to this process when the runner dies, as
    it does to nothing else; if the runner is already gone, end now."""
    expected = os.environ.pop(PARENT_PID, None)  # not for its xdist workers, whose parent is this pytest
    if not expected:
        return
    library = ctypes.util.find_library("c")
    if library is None:
        return
    libc = ctypes.CDLL(library, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0 and str(os.getppid()) != expected:
        os._exit(128 + signal.SIGKILL)  # the runner died before the request took effect
