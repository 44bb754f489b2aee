"""The access token itself (AT-*, and SVC-06's tenant): Visma Connect's access tokens are JWTs signed
RS256 with a key the issuer publishes, carrying iss, client_id, scope, aud and exp (RFC 9068
section 2.2; visma-connect-facts.md). An environment with opaque tokens declares so."""

import time

import pytest
from pytest_bdd import given, parsers, then, when

from steps.authorization import redeem
from steps.service_tokens import client_credentials_form
from suite.verdict.checks import check, shown_or
from suite.wire.authorization import authorize
from suite.wire.jwt import header_of, verified_claims
from suite.wire.token_requests import post_token

EXP_TOLERANCE = 120  # seconds between the token's exp and issue time plus expires_in: clock skew and the run


@given("the environment issues JWT access tokens")
def jwt_access_tokens(environment):
    if environment.expectations.access_token_format == "opaque":
        pytest.skip(
            f"not applicable: {environment.name} declares opaque access tokens "
            "(expectations.access_token_format: opaque), so the JWT checks of RFC 9068 and of Visma's "
            "signed RS256 tokens do not apply"
        )


@when(parsers.parse("the client gets an access token by {flow}"))
def get_access_token(state, environment, discovery, flow):
    if flow == "client_credentials":
        post_token(state, discovery, client_credentials_form(state.client))
    else:  # the authorization code flow, as the documentation's example runs it
        authorize(state, environment, discovery)
        redeem(state, discovery, code_verifier=state.authorization.verifier)


@then("the access token is a JWT signed with a key from the issuer's JWKS")
def access_token_signed(state, discovery):
    verified_claims(state.tokens["access_token"], discovery)


RFC9068_REQUIRED_CLAIMS = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")
RFC9068_TYPES = ("at+jwt", "application/at+jwt")
NO_TYP = "none"  # expectations.access_token_typ of a server whose JWT access tokens have no typ header


def follows_rfc9068(environment) -> bool:
    """The environment declares RFC 9068's profile (the default): its typ, and with it the claims its
    section 2.2 makes REQUIRED. A server that declares another typ (JWT, or none at all, as Spring
    Authorization Server's JwtGenerator writes them) does not claim that profile, and no Visma
    sentence lists the claims: the claims its tokens do carry are still checked."""
    return environment.expectations.access_token_typ.lower() in RFC9068_TYPES


def _typ_shown(typ: object) -> str:
    return "missing" if typ is None else repr(typ)


@then("the access token has the typ, the claims and the times of RFC 9068 section 2")
def access_token_profile(state, discovery, environment):
    token = state.tokens["access_token"]
    claims, typ = verified_claims(token, discovery), header_of(token).get("typ")
    declared, skew, now = environment.expectations.access_token_typ, environment.expectations.clock_skew, time.time()
    problems = []
    no_typ_declared = typ is None and declared.lower() == NO_TYP
    if not no_typ_declared and (not isinstance(typ, str) or typ.lower() not in {*RFC9068_TYPES, declared.lower()}):
        problems.append(
            f"its typ header is {_typ_shown(typ)}: JWT access tokens MUST include this media type [application/at+jwt] "
            "in the typ header parameter (RFC 9068 section 2.1)"
            + (
                f"; the environment declares {declared!r} (expectations.access_token_typ)"
                if declared.lower() not in RFC9068_TYPES
                else "; a server whose tokens have another typ, or none, declares it in expectations.access_token_typ"
            )
        )
    missing = [name for name in RFC9068_REQUIRED_CLAIMS if name not in claims]
    if missing and follows_rfc9068(environment):
        problems.append(f"it lacks {', '.join(missing)}, REQUIRED (RFC 9068 section 2.2)")
    exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
    if isinstance(exp, (int, float)) and exp <= now - skew:
        problems.append(
            f"its exp {exp} is {int(now - exp)} s past at receipt: it identifies the expiration time on or after "
            "which the JWT MUST NOT be accepted for processing (RFC 7519 section 4.1.4; RFC 9068 section 2.2)"
        )
    if isinstance(nbf, (int, float)) and nbf > now + skew:
        problems.append(
            f"its nbf {nbf} is {int(nbf - now)} s ahead: the JWT MUST NOT be accepted for processing before it "
            "(RFC 7519 section 4.1.5)"
        )
    if isinstance(iat, (int, float)) and iat > now + skew:
        problems.append(f"its iat {iat} is {int(iat - now)} s in the future (RFC 7519 section 4.1.6)")
    check(
        not problems,
        lambda: (
            f"the access token (clock skew tolerated {skew} s, expectations.clock_skew): "
            + "; ".join(problems)
            + " (RFC 9068 section 2: the JWT access token's header and data structure)"
        ),
    )


@then("the access token's claims agree with the client and its token response")
def access_token_claims_agree(state, discovery, environment):
    claims, response = verified_claims(state.tokens["access_token"], discovery), state.tokens
    # RFC 9068's profile makes these claims REQUIRED; a server that declares another profile is held to
    # the ones its tokens carry (follows_rfc9068)
    required = follows_rfc9068(environment)
    problems = []
    if (required or "iss" in claims) and claims.get("iss") != environment.issuer:
        problems.append(f"iss is {_claim_shown(claims, 'iss')}, not the issuer {environment.issuer!r}")
    audience = claims.get("aud")
    if (required or "aud" in claims) and (not audience or not isinstance(audience, (str, list))):
        problems.append(f"aud is {_claim_shown(claims, 'aud')}; it must name the token's audience")
    if (required or "client_id" in claims) and claims.get("client_id") != state.client.client_id:
        problems.append(f"client_id is {_claim_shown(claims, 'client_id')}, not {state.client.client_id!r}")
    exp, issued = claims.get("exp"), claims.get("iat", time.time())
    if (required or "exp" in claims) and not isinstance(exp, (int, float)):
        problems.append(f"exp is {_claim_shown(claims, 'exp')}, not a time")
    elif isinstance(response.get("expires_in"), int) and abs(exp - issued - response["expires_in"]) > EXP_TOLERANCE:
        problems.append(
            f"exp is {int(exp - issued)} s after issue, but the token response says expires_in {response['expires_in']}"
        )
    # RFC 9068 section 2.2.3: the token SHOULD include a scope claim; where it does, as RFC 8693's string or,
    # as Visma Connect's and Spring Authorization Server's tokens have it, a JSON array, it names what was granted
    scope = claims.get("scope")
    requested = state.authorization.params["scope"] if state.authorization else state.client.scope
    # the response's own scope, or the one requested when it names none (RFC 6749 section 5.1); a response
    # scope of the wrong type is the token response's fault, which SVC-05 and CODE-06 report
    granted = set((response.get("scope") if isinstance(response.get("scope"), str) else requested).split())
    scopes = set(scope.split() if isinstance(scope, str) else scope if isinstance(scope, list) else [])
    if "scope" in claims and scopes != granted:
        problems.append(f"scope is {scope!r}; the token grants {' '.join(sorted(granted))}")
    check(
        not problems,
        "the access token's claims: "
        + "; ".join(problems)
        + " (RFC 9068 section 2.2: iss, exp, aud, client_id REQUIRED; scope, section 2.2.3; "
        "RFC 6749 section 5.1: expires_in is the token's lifetime; Visma Connect's access tokens carry them)",
    )


def _claim_shown(claims: dict, name: str) -> str:
    return repr(claims[name]) if name in claims else "missing"


@then("the access token names the requested tenant")
def access_token_tenant(state, discovery):
    claims = verified_claims(state.tokens["access_token"], discovery)
    check(
        claims.get("tenant_id") == state.client.tenant_id,
        f"the access token's tenant_id is {shown_or(claims.get('tenant_id'))}, not the requested tenant "
        f'{state.client.tenant_id!r} (Service Integrations: tenant_id "specif[ies] the tenant for API data access")',
    )
