"""The challenges of a WWW-Authenticate header (RFC 9110 section 11.6.1), parsed as the RFC has them:
one header may carry several challenges ("Basic realm=x, Bearer error=invalid_token"), a server may
send several header fields (requests joins them with ", "), and a parameter's value is a token or a
quoted string that may hold commas and escaped quotes.

    challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-param = token BWS "=" BWS ( token / quoted-string )

Scheme and parameter names are case-insensitive (sections 11.1 and 11.2): both are given in lower case.
A header that does not parse yields the challenges before the fault, so a check can say what it found."""

import re
from dataclasses import dataclass, field

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SCHEME = re.compile(rf"[ \t,]*({_TOKEN})")
_PARAM = re.compile(rf"[ \t]*({_TOKEN})[ \t]*=[ \t]*(?:({_TOKEN})|\"((?:[^\"\\]|\\.)*)\")[ \t]*")
_TOKEN68 = re.compile(r"[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*(?=,|$)")
_SEPARATOR = re.compile(r"[ \t]*,[ \t]*")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case
    params: dict[str, str] = field(default_factory=dict)  # names in lower case, quoted values unescaped
    token68: str | None = None


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge of a WWW-Authenticate value, in order."""
    challenges: list[Challenge] = []
    position = 0
    while True:
        scheme = _SCHEME.match(header, position)
        if scheme is None:
            return challenges
        position = scheme.end()
        token68 = _TOKEN68.match(header, position)
        if token68 and not _PARAM.match(header, position):
            challenges.append(Challenge(scheme.group(1).lower(), token68=token68.group(1)))
            position = token68.end()
            continue
        params: dict[str, str] = {}
        while (param := _PARAM.match(header, position)) is not None:
            name, token, quoted = param.groups()
            params.setdefault(name.lower(), token if token is not None else re.sub(r"\\(.)", r"\1", quoted))
            position = param.end()
            separator = _SEPARATOR.match(header, position)
            if separator is None or not _PARAM.match(header, separator.end()):
                break  # what follows the comma is the next challenge's scheme, or nothing
            position = separator.end()
        challenges.append(Challenge(scheme.group(1).lower(), params))


def challenge_for(header: str, scheme: str) -> Challenge | None:
    """The first challenge of `scheme` (any case) in the header, or None."""
    return next((c for c in parse_challenges(header) if c.scheme == scheme.lower()), None)
