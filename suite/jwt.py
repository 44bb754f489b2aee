"""Access tokens are JWTs signed RS256 with a key the issuer publishes (Visma documentation)."""

import json

from joserfc import jws
from joserfc.errors import JoseError

from .checks import check


def verified_claims(token: str, discovery) -> dict:
    check(isinstance(token, str) and token.count(".") == 2, "the access token is not a JWT (three dot-separated parts)")
    check(discovery.keys is not None, "the issuer's JWKS could not be read, so no signature can be checked")
    try:
        verified = jws.deserialize_compact(token, discovery.keys, algorithms=["RS256"])
    except (JoseError, ValueError) as error:
        raise AssertionError(f"the access token's RS256 signature does not verify with the issuer's JWKS "
                             f"({type(error).__name__})") from None
    claims = json.loads(verified.payload)
    check(isinstance(claims, dict), "the access token's payload is not a JSON object")
    return claims
