"""What one certification run cost in work that does not depend on the machine's load: sign-ins
and service runs, seconds of fixed waiting (a refusal's watch after the callback, the waits for an
access token to expire; summed one by one, though the sessions made at once overlap them), browsers
launched and stand-ins started; and, which the load does change, the wall seconds of the sessions
made at once (appside.concurrent). Printed at the end of the run
(`application-side work: ...`) and read by scripts/benchmark.py's `app` part."""

import time
from dataclasses import dataclass

SUMMARY_PREFIX = "application-side work:"


@dataclass
class Effort:
    sign_ins: int = 0
    service_runs: int = 0
    fixed_wait_seconds: float = 0.0
    browser_launches: int = 0
    stand_in_starts: int = 0
    # the browser sessions made at once (appside.concurrent), each for a sign-in and what follows it: how many
    # started, of how many planned (a browser stopped in the middle leaves the rest unstarted), and the wall seconds
    # they took together (their waits above are summed one by one, though they overlapped)
    at_once: int = 0
    at_once_planned: int = 0
    at_once_seconds: float = 0.0
    most_at_once: int = 0  # of them, the most that went on at the same time (Application.sign_ins_at_once at most)
    by_person: int = 0  # of the sign-ins, those a person made at the terminal (manual mode)
    # of the browser's sign-ins, those that typed the test user's password into the stand-in's login page: a refused
    # one starts signed in at the stand-in (appside.concurrent), as a user who signed in earlier
    logins: int = 0

    def waited(self, seconds: float) -> None:
        self.fixed_wait_seconds += max(seconds, 0.0)

    def summary(self) -> str:
        return (
            f"{SUMMARY_PREFIX} {self.sign_ins} sign-ins"
            + (f" ({self.by_person} made by the person at the terminal)" if self.by_person else "")
            + (f" ({self.logins} through the stand-in's login page)" if self.logins else "")
            + f", {self.service_runs} service runs, "
            f"{self.fixed_wait_seconds:.1f} s of fixed waits, {self.browser_launches} browser launches, "
            f"{self.stand_in_starts} stand-in starts"
            + (
                f", {self.at_once} browser sessions made together"
                + (
                    f" of the {self.at_once_planned} planned (the browser was stopped before the others started)"
                    if self.at_once_planned > self.at_once
                    else ""
                )
                + f" (at most {self.most_at_once} at a time) in {self.at_once_seconds:.1f} s wall"
                if self.at_once
                else ""
            )
        )


EFFORT = Effort()


def sleep(seconds: float) -> None:
    """A wait the evidence needs (an access token expiring), counted."""
    EFFORT.waited(seconds)
    time.sleep(seconds)
