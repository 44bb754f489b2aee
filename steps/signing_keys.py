"""The issuer's signing keys (KEY-*): the JWK Set that discovery's jwks_uri names, as served."""

import json
from collections import Counter

from pytest_bdd import then, when

from suite.verdict.checks import check

# RFC 7518 section 6: the members that hold a private or secret key, by key type.
PRIVATE_MEMBERS = {
    "RSA": ("d", "p", "q", "dp", "dq", "qi", "oth"),
    "EC": ("d",),
    "OKP": ("d",),  # RFC 8037 section 2
    "oct": ("k",),
}
# RFC 7518 section 3.1 (and RFC 8037 section 3.1): the key type, and curve, each signing algorithm uses.
KEY_TYPE_OF_ALGORITHM = {
    **{f"{family}{bits}": ("RSA", None) for family in ("RS", "PS") for bits in (256, 384, 512)},
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "ES256K": ("EC", "secp256k1"),
    "EdDSA": ("OKP", None),
    "Ed25519": ("OKP", "Ed25519"),
}


def published_keys(discovery) -> list:
    document = discovery.jwks
    check(
        isinstance(document, dict) and isinstance(document.get("keys"), list),
        f"the issuer's jwks_uri {discovery.metadata.get('jwks_uri')!r} does not serve a JWK Set, a JSON object "
        'whose "keys" member is an array of JWKs (RFC 7517 section 5; OpenID Connect Discovery section 3: jwks_uri)',
    )
    return [key for key in document["keys"] if isinstance(key, dict)]


def signing_keys(keys: list) -> list:
    """The keys for signatures: RFC 7517 section 4.2, use "sig" or none given."""
    return [key for key in keys if key.get("use", "sig") == "sig"]


@when("the issuer's JWKS is read")
def read_jwks(discovery):
    published_keys(discovery)


@then("it holds only public keys, none of them symmetric")
def only_public_keys(discovery):
    problems = []
    for index, key in enumerate(published_keys(discovery)):
        name = f"key {index} (kid {key.get('kid')!r}, kty {key.get('kty')!r})"
        if key.get("kty") == "oct":
            problems.append(f"{name} is a symmetric key: anyone who reads the set can sign tokens with it")
        members = sorted(set(PRIVATE_MEMBERS.get(key.get("kty"), ())) & set(key) - {"k"})
        if members:
            problems.append(f"{name} carries the private member(s) {', '.join(members)}")
    check(
        not problems,
        "the issuer's JWKS publishes secrets: "
        + "; ".join(problems)
        + ". The set holds the signing key(s) the RP uses to validate signatures from the OP (OpenID Connect "
        "Discovery section 3: jwks_uri), and the issues to address include protecting the user's asymmetric "
        "private and symmetric secret keys (RFC 7519 section 11)",
    )


@then("each advertised signing algorithm has a key, and several keys have distinct kids")
def keys_usable(discovery):
    keys = signing_keys(published_keys(discovery))
    problems = []
    advertised = discovery.metadata.get("id_token_signing_alg_values_supported")
    for alg in advertised if isinstance(advertised, list) else []:
        if alg not in KEY_TYPE_OF_ALGORITHM:
            continue  # none and the MACs (HS*) verify with no published key (OpenID Connect Core section 10.1)
        kty, curve = KEY_TYPE_OF_ALGORITHM[alg]
        # A key's own "alg" member is not held against it: RFC 7517 section 4.4 makes it informative
        # ("identifies the algorithm intended for use with the key"), and nothing binds an OP to it.
        if not any(key.get("kty") == kty and (curve is None or key.get("crv") == curve) for key in keys):
            problems.append(
                f"id_token_signing_alg_values_supported lists {alg}, but no signing key of the set is a {kty} key"
                + (f" on {curve}" if curve else "")
                + f" for it: an RP cannot validate an ID token signed {alg}"
            )
    if len(keys) > 1:
        kids = [key.get("kid") for key in keys]
        if None in kids:
            problems.append(
                f"the set has {len(keys)} signing keys and {kids.count(None)} without a kid: if there are multiple "
                "keys in the referenced JWK Set document, a kid value MUST be provided in the JOSE Header (OpenID "
                "Connect Core section 10.1), and it can only name a key that has one"
            )
        # counted in one pass: a count per key was quadratic (KEY-02 took 299 s on 50,000 keys); as JSON,
        # since a server may send a kid or kty of any JSON type, a list as well
        by_type = Counter(
            (json.dumps(key.get("kid"), sort_keys=True), json.dumps(key.get("kty"), sort_keys=True))
            for key in keys
            if key.get("kid") is not None
        )
        shared = sorted({json.loads(kid) if kid.startswith('"') else kid for (kid, _), n in by_type.items() if n > 1})
        if shared:
            problems.append(
                f"signing keys of one key type share the kid(s) {shared}: the JOSE Header's kid (OpenID Connect "
                "Core section 10.1) cannot say which of them signed; different keys within the JWK Set SHOULD use "
                "distinct kid values (RFC 7517 section 4.5)"
            )
    check(not problems, "; ".join(problems) or "")
