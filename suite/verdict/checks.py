"""Conformance checks: a failed check says which rule broke and what the server did instead.

Steps check through these helpers instead of bare `assert`, so that pytest's assertion
rewriting never prints a token or secret held in a local variable.
"""

from collections.abc import Callable

from suite.secrets.redaction import REDACTOR

# A message that quotes a server's answer is given as a function, called only when the check fails:
# scrubbing a whole body for a message nobody reads, at every token response, was most of the
# scrubbing left in the detection matrix.
Message = str | Callable[[], str]


class NonConformance(AssertionError):
    """The server under test does not do what the documentation says."""


class NothingToCheck(NonConformance):
    """An earlier step did not give this one what it checks (no code redeemed, no ID token, no
    access token), so the scenario never reached its own rule. suite/verdict/blocking.py reports it as
    blocked when a rule the scenario needs failed in the same run; otherwise it is a failure."""


def check(condition: object, message: Message) -> None:
    if not condition:
        raise NonConformance(REDACTOR.scrub(message() if callable(message) else message))


def require(condition: object, message: Message) -> None:
    """What the step checks must exist first; `message` says which earlier step did not give it."""
    if not condition:
        raise NothingToCheck(REDACTOR.scrub(message() if callable(message) else message))
