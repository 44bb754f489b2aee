"""OpenID Connect sign-in: the userinfo endpoint (UINFO-*)."""

import secrets

import pytest
from pytest_bdd import given, parsers, then, when

from steps.clients import client_of
from steps.id_tokens import id_token_claims
from steps.service_tokens import client_credentials_form
from suite.secrets.redaction import excerpt
from suite.verdict.checks import check, require, shown_or
from suite.wire.challenges import challenge_for
from suite.wire.http import RepeatedServerError, header_shown
from suite.wire.token_requests import default_authentication, post_token


def call_userinfo(state, discovery, access_token: str | None, method: str = "GET"):
    endpoint = discovery.metadata.get("userinfo_endpoint")
    if not endpoint:
        pytest.skip("discovery lists no userinfo_endpoint (OpenID Connect Discovery section 3)")
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    try:  # a userinfo request reads, whatever its method: repeating it changes nothing
        state.userinfo = state.http.send(method, endpoint, headers=headers, idempotent=True)
    except RepeatedServerError as error:
        error.sentence = USERINFO_SERVED
        raise


# What a server error to a userinfo request falls short of (suite/reports/results.py judges it).
USERINFO_SERVED = (
    'OpenID Connect Core section 5.3.2: "The UserInfo Claims MUST be returned as the members of a JSON object '
    'unless a signed or encrypted response was requested during Client Registration"'
)


def bearer_challenge(header: str) -> dict | None:
    """The auth-params of the Bearer challenge among a WWW-Authenticate header's challenges (names in lower
    case), or None when no challenge is Bearer (suite.wire.challenges parses the header)."""
    challenge = challenge_for(header, "Bearer")
    return None if challenge is None else challenge.params


TOKEN_VARIANTS = {
    # a string the server never issued, of an access token's length and characters
    "made-up": lambda token: "vc-" + secrets.token_urlsafe(max(len(token or ""), 32)),
    # the issued token with one character of its signature (or, opaque, of its middle) changed
    "tampered": lambda token: _changed_at(token, len(token) - 12 if token.count(".") == 2 else len(token) // 2),
}


def _changed_at(token: str, index: int) -> str:
    return token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]


@given("the environment expects revoked access tokens to stop working")
def access_token_revocation_expected(environment):
    declared = environment.expectations.access_token_revocation
    if declared != "supported":
        pytest.skip(
            f"{environment.name} declares access tokens not revocable (expectations.access_token_revocation: "
            f"{declared}); RFC 7009 section 2 makes revoking them a SHOULD, RFC 6749 section 4.1.2 (CODE-07) asks "
            'it "when possible"'
        )


@when("the client calls userinfo with its access token")
def userinfo_with_token(state, discovery):
    require(
        bool(state.tokens.get("access_token")),
        "the code was not redeemed for an access token, so userinfo cannot be asked with one (RFC 6749 section 5.1)",
    )
    call_userinfo(state, discovery, state.tokens.get("access_token"))


@when("the client calls userinfo with its access token by POST")
def userinfo_by_post(state, discovery):
    require(
        bool(state.tokens.get("access_token")),
        "the code was not redeemed for an access token, so userinfo cannot be asked with one (RFC 6749 section 5.1)",
    )
    call_userinfo(state, discovery, state.tokens["access_token"], method="POST")


@when(parsers.parse("the client calls userinfo with a {variant} access token"))
def userinfo_with_other_token(state, environment, discovery, variant):
    if variant == "client_credentials":  # a token issued for no End-User: the service client's
        service = client_of(environment, "service")
        response = post_token(
            state,
            discovery,
            client_credentials_form(service),
            client=service,
            authentication=default_authentication(service),
        )
        require(
            response.status_code == 200 and bool(state.tokens.get("access_token")),
            lambda: f"the service client got no access token (HTTP {response.status_code}; RFC 6749 section 4.4.3)",
        )
        call_userinfo(state, discovery, state.tokens["access_token"])
        return
    call_userinfo(state, discovery, TOKEN_VARIANTS[variant](state.tokens.get("access_token") or ""))


@when("the client calls userinfo with the access token of the code's first redemption")
def userinfo_with_first_token(state, discovery):
    first = state.token_responses[0].get("access_token") if state.token_responses else None
    require(bool(first), "the code's first redemption returned no access token (RFC 6749 section 5.1)")
    call_userinfo(state, discovery, first)


@when("the client calls userinfo without an access token")
def userinfo_without_token(state, discovery):
    call_userinfo(state, discovery, None)


# UINFO-06's sentence: a userinfo request by POST is one the server must serve as it serves GET
POST_SERVED = (
    'OpenID Connect Core section 5.3: "The UserInfo Endpoint MUST support the use of the HTTP GET and HTTP POST '
    'methods defined in RFC 7231"'
)


def _to(response) -> str:
    """What the answer was to, in words: "to the POST" where the request was a POST (UINFO-06's)."""
    method = getattr(getattr(response, "request", None), "method", "GET")
    return (
        " sent by POST (the userinfo request's method; the token in its Authorization header)"
        if method == "POST"
        else ""
    )


def _cited(response, sentence: str) -> str:
    """The sentence a userinfo answer breaks, and for a POST also the one that binds the server to serve it."""
    return f"{sentence}; {POST_SERVED}" if _to(response) else sentence


@then("userinfo accepts the access token")
def userinfo_accepts(state):
    response = state.userinfo
    check(
        response.status_code == 200,
        lambda: (
            f"userinfo answered HTTP {response.status_code} "
            f"{excerpt(response.text)} to a valid access token{_to(response)} "
            f"({_cited(response, 'OpenID Connect Core section 5.3.2')})"
        ),
    )


@then("userinfo answers with the ID token's sub")
def userinfo_claims(state):
    userinfo_accepts(state)
    response = state.userinfo
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    check(
        content_type == "application/json",
        f"userinfo answered with Content-Type {content_type!r}{_to(response)}; an unsigned "
        f"response is application/json ({_cited(response, 'OpenID Connect Core section 5.3.2')})",
    )
    try:
        claims = response.json()
    except ValueError:
        claims = None
    check(isinstance(claims, dict), "userinfo's body is not a JSON object (OpenID Connect Core section 5.3.2)")
    expected_sub = id_token_claims(state).get("sub")
    check(
        claims.get("sub") == expected_sub,
        f"userinfo's sub is {shown_or(claims.get('sub'))}, not the ID token's {shown_or(expected_sub)}; they MUST "
        "match exactly "
        "(OpenID Connect Core section 5.3.2)",
    )


@then("userinfo refuses with HTTP 401 and a Bearer challenge")
def userinfo_refused(state):
    response = state.userinfo
    check(
        response.status_code == 401,
        f"userinfo answered HTTP {response.status_code}; a request without a valid "
        "access token gets 401 (RFC 6750 section 3.1)",
    )
    header = response.headers.get("WWW-Authenticate", "")
    # Any of the header's challenges (RFC 9110 section 11.6.1: a server may offer several schemes).
    check(
        challenge_for(header, "Bearer") is not None,
        f"the 401 carries {header_shown(response, 'WWW-Authenticate')}; it MUST carry a Bearer challenge "
        "(RFC 6750 section 3)",
    )


@then("userinfo refuses the token with a Bearer challenge")
def userinfo_refuses_token(state):
    response = state.userinfo
    check(
        response.status_code >= 400,
        lambda: (
            f"userinfo answered HTTP {response.status_code} {excerpt(response.text)} to an access token that is not "
            "a valid one for an End-User: the resource server MUST validate the access token and ensure that it has "
            "not expired (RFC 6749 section 7; OpenID Connect Core section 5.3: userinfo returns Claims about the "
            "authenticated End-User)"
        ),
    )
    header = response.headers.get("WWW-Authenticate", "")
    check(
        bearer_challenge(header) is not None,
        f"userinfo refused the token (HTTP {response.status_code}) with {header_shown(response, 'WWW-Authenticate')}, "
        "no Bearer challenge: a request that does not contain an access token that enables access MUST get one "
        "(RFC 6750 section 3)",
    )


def _accepted_answer(response) -> str:
    """What userinfo answered to a token it should have refused, without the End-User's personal values (a
    name, an email address) in the terminal and the record: the claim names of a JSON object, else an excerpt."""
    try:
        claims = response.json()
    except ValueError:
        claims = None
    if isinstance(claims, dict):
        return f"with the claims {', '.join(sorted(map(str, claims))) or '(none)'} (their values not shown)"
    return excerpt(response.text)


@then("userinfo no longer accepts the access token")
def userinfo_no_longer_accepts(state):
    """Only that the token stopped working: how the refusal is shaped is UINFO-02's and UINFO-04's to judge."""
    response = state.userinfo
    check(
        response.status_code >= 400,
        lambda: (
            f"userinfo answered HTTP {response.status_code} {_accepted_answer(response)} to the access token of a code "
            "presented a second time: the server SHOULD revoke (when possible) all tokens previously issued based "
            "on that authorization code (RFC 6749 section 4.1.2)"
        ),
    )


@then('userinfo refuses the token with HTTP 401 and error="invalid_token"')
def userinfo_invalid_token(state):
    """The form of a refusal. A token accepted was not refused at all: that is the rule this one needs (UINFO-08
    for an expired token), so this one found nothing to judge and is blocked by it where it failed."""
    response = state.userinfo
    require(
        response.status_code >= 400,
        lambda: (
            f"userinfo accepted the access token (HTTP {response.status_code} {excerpt(response.text)}), so there is "
            'no refusal whose HTTP 401 and error="invalid_token" to check: an access token that is expired, '
            "revoked, malformed, or invalid for other reasons gets invalid_token, and the resource SHOULD respond "
            "with HTTP 401 (RFC 6750 section 3.1)"
        ),
    )
    params = bearer_challenge(response.headers.get("WWW-Authenticate", ""))
    missing = [] if response.status_code == 401 else [f"it answered HTTP {response.status_code}, not 401"]
    if params is None:
        missing.append(
            f"its {header_shown(response, 'WWW-Authenticate')} holds no Bearer challenge, and the error attribute "
            "is one of the Bearer challenge's (RFC 6750 section 3)"
        )
    elif params.get("error") != "invalid_token":
        missing.append(
            f"its Bearer challenge's error is {params['error']!r}, not invalid_token"
            if params.get("error")
            else "its Bearer challenge carries no error attribute"
        )
    check(
        not missing,
        lambda: (
            "userinfo refused the access token, but "
            + "; ".join(missing)
            + ': "The access token provided is expired, revoked, malformed, or invalid for other reasons. The resource '
            'SHOULD respond with the HTTP 401" (RFC 6750 section 3.1)'
        ),
    )


# OpenID Connect Core section 5.4: the claims each scope asks for.
SCOPE_CLAIMS = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
}


@then("userinfo returns the claims of the profile and email scopes that were asked for")
def userinfo_scope_claims(state):
    userinfo_accepts(state)
    try:
        claims = state.userinfo.json()
    except ValueError:
        claims = None
    check(isinstance(claims, dict), "userinfo's body is not a JSON object (OpenID Connect Core section 5.3.2)")
    asked = state.authorization.params["scope"].split()
    missing = [scope for scope in ("profile", "email") if scope in asked and not set(SCOPE_CLAIMS[scope]) & set(claims)]
    check(
        not missing,
        f"userinfo returns none of the claims the {' and '.join(missing)} scope(s) ask for (it has "
        f"{', '.join(sorted(claims))}): the profile scope requests access to the End-User's default profile Claims, "
        "the email scope to the email and email_verified Claims (OpenID Connect Core section 5.4)",
    )
