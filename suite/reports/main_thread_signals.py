"""A signal sent to a process (`kill PID`, `timeout -s TERM` to its process group) is delivered by the
kernel to any one of its threads that does not block it, and Python runs the signal's handler only in
the main thread, once that thread next runs Python code. A main thread blocked in a system call (CODE-04's
wait in `time.sleep`, the runner's wait for its pytest) is not woken when the signal lands on another
thread (the sandbox's, a timer's): the handler ran only when the wait ended. A whole-group SIGTERM during
CODE-04's 21 s wait so left pytest asleep until `python -m suite.run` killed it STOP_GRACE (20) seconds
later, with no record written: exit 2, not 5 (1 run in 6 with the signal at random points of the wait).

So every signal Python handles is also written to a pipe (signal.set_wakeup_fd, from whichever thread
the kernel chose), which a thread of our own reads; for the signals asked for, it sends WAKE to the main
thread itself (pthread_kill), which interrupts its system call, and Python then runs the handler of
every signal that came (WAKE's does nothing). Where the signal reached the main thread, the extra WAKE
is harmless."""

import contextlib
import os
import signal
import threading
from collections.abc import Iterable

WAKE = signal.SIGUSR2  # sent only to this process's own main thread, only by the thread below
_installed = False


def wake_the_main_thread_on(numbers: Iterable[int]) -> None:
    """Once per process, from its main thread, after the handlers of `numbers` are installed. Where
    something else already reads the wakeup pipe (an asyncio loop's signal handlers), it is left as it was."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    read, write = os.pipe()
    os.set_blocking(write, False)  # the signal handler's write never waits
    signal.signal(WAKE, _woken)
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    if previous != -1:
        signal.set_wakeup_fd(previous)  # not ours to replace
        os.close(read)
        os.close(write)
        return
    _installed = True
    wanted = frozenset(int(number) for number in numbers)
    main = threading.main_thread().ident or 0
    threading.Thread(target=_forward, args=(read, wanted, main), name="signals to the main thread", daemon=True).start()


def _forward(read: int, wanted: frozenset[int], main: int) -> None:
    while True:
        arrived = os.read(read, 512)  # one byte per signal, its number
        if not arrived:
            return
        if wanted.intersection(arrived):
            with contextlib.suppress(OSError):  # the main thread has ended: nothing to wake
                signal.pthread_kill(main, WAKE)


def _woken(signum: int, frame: object) -> None:
    """Nothing: WAKE only interrupts the main thread's system call, so that Python runs the handlers of
    the signals another thread received."""
