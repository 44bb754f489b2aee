"""The fields of a token response read with their types checked: a value of the wrong type (scope as
a JSON array, expires_in as a string) is a non-conformance that cites the sentence defining the
field, never a TypeError or AttributeError in a step."""

from typing import cast

from suite.verdict.checks import check

JSON_TYPES = {list: "array", dict: "object", int: "number", float: "number", bool: "boolean"}


def granted_scope(body: dict) -> set[str] | None:
    """The scopes a token response names, or None when it names none (RFC 6749 section 5.1: scope is
    OPTIONAL if identical to the scope requested)."""
    value = body.get("scope")
    if value is None:
        return None
    check(
        isinstance(value, str),
        lambda: (
            f"the token response's scope is {value!r}, a JSON {JSON_TYPES.get(type(value), type(value).__name__)}, "
            'not a string (RFC 6749 section 3.3: "The value of the scope parameter is expressed as a list of '
            'space-delimited, case-sensitive strings")'
        ),
    )
    return set(value.split())


def expires_in(body: dict) -> int | float | None:
    """The lifetime a token response gives, or None when it gives none (RFC 6749 section 5.1: RECOMMENDED)."""
    value = body.get("expires_in")
    if value is None:
        return None
    check(
        isinstance(value, (int, float)) and not isinstance(value, bool),
        lambda: (
            f"the token response's expires_in is {value!r}, not a number of seconds (RFC 6749 section 5.1: "
            '"expires_in: RECOMMENDED. The lifetime in seconds of the access token"; section 5.1\'s example '
            "gives a JSON number)"
        ),
    )
    return cast(int | float, value)  # check() raised otherwise
