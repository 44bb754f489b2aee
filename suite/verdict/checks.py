"""Conformance checks: a failed check says which rule broke and what the server did instead.

Steps check through these helpers instead of bare `assert`, so that pytest's assertion
rewriting never prints a token or secret held in a local variable.
"""

import re
from collections.abc import Callable
from typing import NoReturn

import pytest

from suite.secrets.redaction import said, visible

# A message that quotes a server's answer is given as a function, called only when the check fails:
# scrubbing a whole body for a message nobody reads, at every token response, was most of the
# scrubbing left in the detection matrix.
Message = str | Callable[[], str]


class NonConformance(AssertionError):
    """The server under test does not do what the documentation says; with the value the rule
    expected and the value the server gave, when the check compares two (the report sets them side
    by side)."""

    def __init__(self, message: str, expected: str | None = None, received: str | None = None):
        super().__init__(message)
        self.expected, self.received = expected, received


class ConfigurationProblem(Exception):
    """The environment's settings, not the server, are the likely cause (a wrong password, a wrong client
    secret): the rule could not be checked, a configuration problem (exit code 4), not a non-conformance."""


def report_configuration_problem(report: pytest.TestReport, excinfo: pytest.ExceptionInfo | None) -> None:
    """A test's report whose exception is a ConfigurationProblem becomes one (the record's `error`, exit code 4
    where no rule failed), its cause in one line, not a traceback: on both sides (conftest.py, appside/conftest.py)."""
    if excinfo is not None and excinfo.errisinstance(ConfigurationProblem):
        report.user_properties.append(("configuration_problem", True))
        report.longrepr = f"configuration problem: {excinfo.value}"


class NothingToCheck(NonConformance):
    """An earlier step did not give this one what it checks (no code redeemed, no ID token, no
    access token), so the scenario never reached its own rule. suite/verdict/blocking.py reports it as
    blocked when a rule the scenario needs failed in the same run; otherwise it is a failure."""


class MetTheCause(NothingToCheck):
    """Nothing to check, and the message says how this scenario's own request met the cause (a revocation
    that refused the HTTP Basic authentication SVC-02 checks): where the scenario is blocked, its reason
    quotes this account, not the cause's failure at a request of its own (suite/verdict/blocking.py)."""


class EnvironmentUnlessBlocked(MetTheCause):
    """Met the cause, as MetTheCause; where no rule the scenario needs failed in the same run, nothing in the run
    shows the server at fault and what the scenario met is the environment's (a client it names that the server
    does not authenticate the way the file declares): the scenario could not be checked, an environment problem,
    not a failure of its rule (suite/verdict/blocking.py)."""


class Delivered(NonConformance):
    """A violation in an answer that still gave what the rules needing this one rely on (a code issued
    without a sign-in: the code came, on the registered redirect_uri): a failure of this rule, which
    keeps none of them from its own check, so blocks none (suite/verdict/blocking.py)."""


class Refused(NonConformance):
    """The server refused a request the documentation says it grants (a token request, an
    authorization request): where this happens to a refusal rule's control, that rule's own
    refusals show nothing in the same run (suite/verdict/blocking.py)."""


def check_granted(condition: object, message: Message) -> None:
    """A check that the documented request was granted at all, apart from the form of the answer."""
    if not condition:
        raise Refused(said(message() if callable(message) else message))


def check(condition: object, message: Message, expected: object = None, received: object = None) -> None:
    """`expected` and `received`: the two values the check compared, when it compares two."""
    if not condition:
        compared = expected is not None or received is not None
        raise NonConformance(
            said(message() if callable(message) else message),
            said(_shown(expected)) if compared else None,
            said(_shown(received)) if compared else None,
        )


def shown_or(value: object, absent: str = "missing") -> str:
    """A value as a failure message shows it (its repr), or where there is none, what that means
    ("missing", "no error code"): a message says what happened, never Python's None."""
    return absent if value is None else repr(value)


def callback_error(params: dict) -> str:
    """What an authorization response's callback carried in the place of `error`, in words."""
    if "error" in params:
        return f"error {params['error']!r}" if params["error"] else "an error response with an empty error code"
    return "no error: a code was issued" if params.get("code") else "no error and no code"


_LINE_BREAKS = re.compile("[\t\n\r]")


def one_line(text: str) -> str:
    """A server's own words (an error_description) in a message, kept on one line: its newlines and tabs
    written as escapes (a newline as \\x0a), as `visible` writes every other control character, so that
    no line a server wrote (`# VERDICT: CONFORMANT`) stands in the terminal as one of the suite's."""
    return visible(_LINE_BREAKS.sub(lambda match: f"\\x{ord(match.group()):02x}", text))


def _shown(value: object) -> str:
    return "(none)" if value is None else value if isinstance(value, str) else repr(value)


def require(condition: object, message: Message) -> None:
    """What the step checks must exist first; `message` says which earlier step did not give it."""
    if not condition:
        raise NothingToCheck(said(message() if callable(message) else message))


def check_delivered(condition: object, message: Message) -> None:
    """A check of an answer that gave what the rules needing this one rely on, whatever it finds."""
    if not condition:
        raise Delivered(said(message() if callable(message) else message))


def require_not_met(condition: object, message: Message, environment_unless_blocked: bool = False) -> None:
    """As `require`, where `message` says what this scenario's own request met of the cause it relies on;
    `environment_unless_blocked`: an environment problem where no rule it needs failed (EnvironmentUnlessBlocked)."""
    if not condition:
        met = EnvironmentUnlessBlocked if environment_unless_blocked else MetTheCause
        raise met(said(message() if callable(message) else message))


# A skip for want of data the environment file (or on the application side, the application file)
# could give: a blocker or critical rule skipped so makes the run incomplete (exit 5) and the record
# names the key to add (suite/reports/results.py). A skip for what the environment declares
# (capabilities, expectations) is no such gap.
MISSING_DATA = "missing environment data"
MISSING_APPLICATION_DATA = "missing application file data"
MISSING_KEY = re.compile(f"(?:{re.escape(MISSING_DATA)}|{re.escape(MISSING_APPLICATION_DATA)})" + r" \(([^)]+)\)")


def skip_for_missing_data(key: str, message: str) -> NoReturn:
    """Skip the scenario: the environment file lacks `key` (e.g. clients.service.ungranted_scope)."""
    pytest.skip(f"{MISSING_DATA} ({key}): {message}")


def skip_for_missing_application_data(key: str, message: str) -> NoReturn:
    """Skip the scenario: the application file lacks `key` (e.g. drive.use_api_url)."""
    pytest.skip(f"{MISSING_APPLICATION_DATA} ({key}): {message}")
