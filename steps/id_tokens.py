"""OpenID Connect sign-in: the ID token of the token response (ID-*)."""

import base64
import hashlib
import secrets
import time

import pytest
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from pytest_bdd import then, when

from suite.verdict.checks import NonConformance, check, require, shown_or
from suite.wire.authorization import authorize, with_offline_access
from suite.wire.jwt import header_of, unverified_claims, verified_claims

HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def openid_scope(scope: str) -> str:
    return scope if "openid" in scope.split() else f"openid {scope}"


def id_token_of(state) -> str:
    token = state.tokens.get("id_token")
    require(
        isinstance(token, str) and token,
        "the token response carries no id_token, so there is no ID token to "
        "check (OpenID Connect Core section 3.1.3.3)",
    )
    return token


def id_token_claims(state) -> dict:
    return unverified_claims(compact_id_token(id_token_of(state)), "the ID token")


def compact_id_token(token: str, what: str = "the ID token") -> str:
    """An ID token whose claims a rule reads: one that is no JWS of three parts (LemonLDAP::NG's alg none
    token is `header.payload`) is ID-02's failure, its form and signature, so the rules that read its
    claims are blocked by it, not failed once more each."""
    require(
        token.count(".") == 2,
        f"{what} is no JWS in compact serialization (three dot-separated parts, RFC 7515 section 7.1), so its "
        "claims cannot be read; ID-02 judges its form and signature",
    )
    return token


@when("the user signs in with openid and a nonce")
def sign_in_with_openid(state, environment, discovery):
    authorize(
        state,
        environment,
        discovery,
        overrides={"scope": openid_scope(state.client.scope), "nonce": "n-" + secrets.token_urlsafe(16)},
    )


@then("the token response carries an ID token")
def id_token_returned(state):
    """An ID token is there when its JOSE header reads: whether it is signed, and how, is ID-02's."""
    token = state.tokens.get("id_token")
    try:
        readable = isinstance(token, str) and "." in token and bool(header_of(token))
    except NonConformance:
        readable = False
    check(
        readable,
        f"the token response {'has no id_token' if token is None else 'has an id_token that is not a JWT'}; "
        "a token response to a request with scope openid MUST carry one (OpenID Connect Core section 3.1.3.3)",
    )


@then("the ID token's signature verifies with a key of the issuer's JWKS")
def id_token_signed(state, discovery):
    token = id_token_of(state)
    alg = header_of(token).get("alg")
    advertised = discovery.metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    check(
        alg != "none" and alg in advertised,
        f"the ID token is signed with alg {alg!r}; discovery advertises {advertised} and an ID token from the "
        "token endpoint MUST be signed (OpenID Connect Core sections 2 and 3.1.3.7 step 6)",
    )
    if isinstance(alg, str) and alg.startswith("HS"):
        mac_verified(token, alg, state.client)
        return
    verified_claims(token, discovery, what="the ID token", algorithms=(alg,))


def mac_verified(token: str, alg: str, client) -> None:
    """OpenID Connect Core section 10.1: a MAC-signed ID token's key is the client's secret, never a key
    the issuer publishes (one anyone can read, so anyone can sign with it), and a public client has none."""
    check(
        bool(client.client_secret),
        f"the ID token is signed {alg}, a MAC, for the public client {client.client_id!r}: symmetric signatures "
        "MUST NOT be used by public (non-confidential) Clients (OpenID Connect Core section 10.1)",
    )
    try:
        jws.deserialize_compact(token, OctKey.import_key(client.client_secret.encode()), algorithms=[alg])
    except (JoseError, ValueError):
        raise NonConformance(
            f"the ID token is signed {alg}, but not with the client's secret: the MAC key used is the octets of "
            "the UTF-8 representation of the client_secret value (OpenID Connect Core section 10.1); a MAC key "
            "from the issuer's published JWKS is one anyone can sign with"
        ) from None


@then("the ID token's iss is exactly the issuer")
def id_token_issuer(state, environment):
    iss = id_token_claims(state).get("iss")
    check(
        iss == environment.issuer,
        f"the ID token's iss is {shown_or(iss)}; it MUST exactly match the issuer "
        f"{environment.issuer!r} (OpenID Connect Core section 3.1.3.7 step 2)",
    )


@then("the ID token's aud includes the client")
def id_token_audience(state):
    aud = id_token_claims(state).get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    check(
        state.client.client_id in audiences,
        f"the ID token's aud is {shown_or(aud)}; it MUST contain the client_id {state.client.client_id!r} "
        "(OpenID Connect Core section 3.1.3.7 step 3)",
    )


@then("the ID token's azp, if it has one, is the client")
def id_token_authorized_party(state):
    claims = id_token_claims(state)
    if "azp" in claims:
        check(
            claims["azp"] == state.client.client_id,
            f"the ID token's azp is {claims['azp']!r}; if present, it MUST contain the OAuth 2.0 Client ID of "
            f"this party, {state.client.client_id!r} (OpenID Connect Core section 2)",
        )


@then("the ID token has a sub, and exp and iat around now")
def id_token_subject_and_times(state, environment):
    claims, now, skew = id_token_claims(state), time.time(), environment.expectations.clock_skew
    sub, exp, iat = claims.get("sub"), claims.get("exp"), claims.get("iat")
    check(
        isinstance(sub, str) and 0 < len(sub) <= 255 and sub.isascii(),
        f"the ID token's sub is {shown_or(sub)}; it is REQUIRED, at most 255 ASCII characters (OpenID Connect Core "
        "section 2)",
    )
    check(
        isinstance(exp, (int, float)) and exp > now - skew,
        f"the ID token's exp is {'missing' if exp is None else f'{exp!r}, already past'}; the ID token MUST NOT "
        "be accepted after it (OpenID Connect Core sections 2 and 3.1.3.7 step 9)",
    )
    check(
        isinstance(iat, (int, float)) and abs(iat - now) <= skew,
        f"the ID token's iat is {shown_or(iat)}, not the time of issue (now is {int(now)}, clock skew tolerated "
        f"{skew} s, expectations.clock_skew; OpenID Connect Core sections 2 and 3.1.3.7 step 10)",
    )
    check(
        isinstance(exp, (int, float)) and isinstance(iat, (int, float)) and exp > iat,
        f"the ID token's exp {exp} is not after its iat {iat}: it had expired when it was issued, and it MUST NOT "
        "be accepted for processing on or after exp (OpenID Connect Core section 2)",
    )


@then("the ID token's nonce is exactly the nonce that was sent")
def id_token_nonce(state):
    sent = state.authorization.params["nonce"]
    nonce = id_token_claims(state).get("nonce")
    check(
        nonce == sent,
        f"the ID token's nonce is {shown_or(nonce)}, not the nonce sent {sent!r}; a nonce in the "
        "authentication request MUST come back unmodified (OpenID Connect Core section 3.1.2.1)",
    )


@then("the ID token's at_hash, if it has one, is the left half of the access token's hash")
def id_token_at_hash(state):
    token = compact_id_token(id_token_of(state))
    at_hash = unverified_claims(token, "the ID token").get("at_hash")
    if at_hash is None:
        pytest.skip(
            "the ID token has no at_hash; it is OPTIONAL in the code flow (OpenID Connect Core section 3.1.3.6)"
        )
    alg = str(header_of(token).get("alg", ""))
    hasher = HASHES.get(alg[-3:])
    check(
        hasher is not None,
        f"the ID token's alg {alg!r} names no SHA-2 hash to compute at_hash with; at_hash uses "
        "the hash of the alg header (OpenID Connect Core section 3.1.3.6)",
    )
    digest = hasher(state.tokens["access_token"].encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()
    check(
        at_hash == expected,
        f"the ID token's at_hash is {shown_or(at_hash)}, not the base64url left half of the access "
        f"token's {hasher().name} hash (OpenID Connect Core sections 3.1.3.6 and 3.2.2.9)",
    )


@when("the user signs in with openid, a nonce and offline_access")
def sign_in_with_openid_offline(state, environment, discovery):
    authorize(
        state,
        environment,
        discovery,
        overrides={
            **with_offline_access(environment, openid_scope(state.client.scope)),
            "nonce": "n-" + secrets.token_urlsafe(16),
        },
    )


@then("the refresh response's ID token, if it has one, renews the original one")
def refreshed_id_token(state, environment):
    original = next((r["id_token"] for r in state.token_responses if r.get("id_token")), None)
    require(
        isinstance(original, str),
        "the code's token response carries no id_token to compare a refreshed one with (OpenID Connect Core "
        "section 3.1.3.3)",
    )
    renewed = state.tokens.get("id_token") if len(state.token_responses) > 1 else None
    if renewed is None:
        pytest.skip(
            "the refresh response carries no ID token; it might not contain an id_token (OpenID Connect Core "
            "section 12.2)"
        )
    before = unverified_claims(compact_id_token(str(original), "the original ID token"), "the original ID token")
    after = unverified_claims(compact_id_token(renewed), "the ID token")
    problems = [
        f"its {name} is {shown_or(after.get(name))}, the original's {shown_or(before.get(name))}"
        for name in ("iss", "sub", "aud", "azp", "auth_time")
        if name in before or (name == "azp" and name in after)
        if after.get(name) != before.get(name)
    ]
    iat, skew = after.get("iat"), environment.expectations.clock_skew
    if not (isinstance(iat, (int, float)) and iat >= before.get("iat", 0) and abs(iat - time.time()) <= skew):
        problems.append(
            f"its iat {shown_or(iat)} is not the time it was issued (the original's is {shown_or(before.get('iat'))})"
        )
    check(
        not problems,
        lambda: (
            "the refresh response's ID token: "
            + "; ".join(problems)
            + ". Its iss, sub and aud MUST be the same as in the ID Token issued when the original authentication "
            "occurred, its iat MUST represent the time that the new ID Token is issued, an auth_time MUST represent "
            "the time of the original authentication, its azp MUST be the same (OpenID Connect Core section 12.2)"
        ),
    )
