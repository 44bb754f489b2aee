"""Conformance checks: a failed check says which rule broke and what the server did instead.

Steps check through these helpers instead of bare `assert`, so that pytest's assertion
rewriting never prints a token or secret held in a local variable.
"""

from collections.abc import Callable

import pytest

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


class Refused(NonConformance):
    """The server refused a request the documentation says it grants (a token request, an
    authorization request): where this happens to a refusal rule's control, that rule's own
    refusals show nothing in the same run (suite/verdict/blocking.py)."""


def check_granted(condition: bool, message: Message) -> None:
    """A check that the documented request was granted at all, apart from the form of the answer."""
    if not condition:
        raise Refused(REDACTOR.scrub(message() if callable(message) else message))


def check(condition: bool, message: Message) -> None:
    if not condition:
        raise NonConformance(REDACTOR.scrub(message() if callable(message) else message))


def require(condition: bool, message: Message) -> None:
    """What the step checks must exist first; `message` says which earlier step did not give it."""
    if not condition:
        raise NothingToCheck(REDACTOR.scrub(message() if callable(message) else message))


# A skip for want of data the environment file could give: a blocker or critical rule skipped so
# makes the run incomplete (exit 5) and the record names the key to add (suite/reports/results.py).
# A skip for what the environment declares (capabilities, expectations) is no such gap.
MISSING_DATA = "missing environment data"


def skip_for_missing_data(key: str, message: str):
    """Skip the scenario: the environment file lacks `key` (e.g. clients.service.ungranted_scope)."""
    pytest.skip(f"{MISSING_DATA} ({key}): {message}")
