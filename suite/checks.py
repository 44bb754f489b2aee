"""Conformance checks: a failed check says which rule broke and what the server did instead.

Steps check through these helpers instead of bare `assert`, so that pytest's assertion
rewriting never prints a token or secret held in a local variable.
"""

from .redaction import REDACTOR


class NonConformance(AssertionError):
    """The server under test does not do what the documentation says."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise NonConformance(REDACTOR.scrub(message))
