"""Access and ID tokens are JWTs signed with a key the issuer publishes in its JWKS (Visma
documentation; OpenID Connect Core section 3.1.3.7)."""

import base64
from collections.abc import Iterable
from typing import cast

from joserfc import jws
from joserfc.errors import JoseError

from suite.verdict.checks import NonConformance, check
from suite.wire.http import parse_json
from suite.wire.server import Discovery


def verified_claims(
    token: str, discovery: Discovery, what: str = "the access token", algorithms: Iterable[str] = ("RS256",)
) -> dict:
    check(
        isinstance(token, str) and token.count(".") == 2,
        f"{what} is not a JWT (three dot-separated parts, RFC 7515 section 7.1)",
    )
    check(
        discovery.keys is not None,
        "the issuer's JWKS could not be read, so no signature can be checked (RFC 8414 section 2: jwks_uri)",
    )
    check_key_id(token, discovery, what)
    try:
        verified = jws.deserialize_compact(token, discovery.keys, algorithms=list(algorithms))
    except (JoseError, ValueError) as error:
        raise NonConformance(
            f"{what}'s {'/'.join(algorithms)} signature does not verify with the issuer's JWKS "
            f"({type(error).__name__}); it is signed with a key the issuer publishes (RFC 9068 "
            "section 2.1, OpenID Connect Core section 3.1.3.7)"
        ) from None
    claims = parse_json(verified.payload)
    check(isinstance(claims, dict), f"{what}'s payload is not a JSON object (RFC 7519 section 7.2)")
    return cast(dict, claims)  # check() raised otherwise


def check_key_id(token: str, discovery: Discovery, what: str) -> None:
    """OpenID Connect Core section 10.1: the signing key is one the set publishes and, where the set has
    several keys, the header's kid says which (a kid naming no key of the set is a key nobody can check)."""
    kid = header_of(token).get("kid")
    published = [key.get("kid") for key in (discovery.jwks or {}).get("keys") or [] if isinstance(key, dict)]
    if kid is None:
        check(
            len(published) <= 1,
            f"{what}'s header has no kid, yet the issuer's JWKS has {len(published)} keys: if there are multiple "
            "keys in the referenced JWK Set document, a kid value MUST be provided in the JOSE Header (OpenID "
            "Connect Core section 10.1)",
        )
        return
    check(
        kid in published,
        f"{what}'s header names kid {kid!r}, which no key of the issuer's JWKS has (its kids: {published}); the "
        "signing key MUST be associated with a public key published in the JWK Set document (OpenID Connect "
        "Core section 10.1)",
    )


def unverified_claims(token: str, what: str) -> dict:
    """The payload as sent, for rules about the claims; the signature is a rule of its own."""
    check(
        isinstance(token, str) and token.count(".") == 2,
        f"{what} is not a JWT (three dot-separated parts, RFC 7515 section 7.1)",
    )
    payload = token.split(".")[1]
    try:
        claims = parse_json(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        claims = None
    check(isinstance(claims, dict), f"{what}'s payload is not a base64url-encoded JSON object (RFC 7519 section 7.2)")
    return cast(dict, claims)  # check() raised otherwise


def header_of(token: str) -> dict:
    header = token.split(".")[0]
    try:
        value = parse_json(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except ValueError:
        value = None
    check(isinstance(value, dict), "the JWT's header is not a base64url-encoded JSON object (RFC 7515 section 4)")
    return cast(dict, value)  # check() raised otherwise
