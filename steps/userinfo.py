"""OpenID Connect sign-in: the userinfo endpoint (UINFO-*)."""

import pytest
from pytest_bdd import given, then, when

from steps.id_tokens import id_token_claims
from suite.secrets.redaction import excerpt
from suite.verdict.checks import check, require
from suite.wire.challenges import challenge_for


def _call_userinfo(state, discovery, access_token: str | None):
    endpoint = discovery.metadata.get("userinfo_endpoint")
    if not endpoint:
        pytest.skip("discovery lists no userinfo_endpoint (OpenID Connect Discovery section 3)")
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    state.userinfo = state.http.send("GET", endpoint, headers=headers)


@given("the environment expects revoked access tokens to stop working")
def access_token_revocation_expected(environment):
    declared = environment.expectations.access_token_revocation
    if declared != "supported":
        pytest.skip(
            f"{environment.name} declares access tokens not revocable (expectations.access_token_revocation: "
            f"{declared}); RFC 7009 section 2 makes it a SHOULD"
        )


@when("the client calls userinfo with its access token")
def userinfo_with_token(state, discovery):
    require(
        bool(state.tokens.get("access_token")),
        "the code was not redeemed for an access token, so userinfo cannot be asked with one (RFC 6749 section 5.1)",
    )
    _call_userinfo(state, discovery, state.tokens.get("access_token"))


@when("the client calls userinfo without an access token")
def userinfo_without_token(state, discovery):
    _call_userinfo(state, discovery, None)


@then("userinfo accepts the access token")
def userinfo_accepts(state):
    response = state.userinfo
    check(
        response.status_code == 200,
        lambda: (
            f"userinfo answered HTTP {response.status_code} "
            f"{excerpt(response.text)} to a valid access token "
            "(OpenID Connect Core section 5.3.2)"
        ),
    )


@then("userinfo answers with the ID token's sub")
def userinfo_claims(state):
    userinfo_accepts(state)
    response = state.userinfo
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    check(
        content_type == "application/json",
        f"userinfo answered with Content-Type {content_type!r}; an unsigned "
        "response is application/json (OpenID Connect Core section 5.3.2)",
    )
    try:
        claims = response.json()
    except ValueError:
        claims = None
    check(isinstance(claims, dict), "userinfo's body is not a JSON object (OpenID Connect Core section 5.3.2)")
    expected_sub = id_token_claims(state).get("sub")
    check(
        claims.get("sub") == expected_sub,
        f"userinfo's sub is {claims.get('sub')!r}, not the ID token's {expected_sub!r}; they MUST match exactly "
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
        f"the 401 carries WWW-Authenticate {header!r}; it MUST carry a Bearer challenge (RFC 6750 section 3)",
    )
