"""Service integrations: the client_credentials grant (SVC-*)."""

import time
from dataclasses import replace

from pytest_bdd import parsers, then, when

from suite.checks import check
from suite.jwt import verified_claims
from suite.token_requests import WRONG_SECRET, post_json, post_token

AUTHENTICATIONS = {"the form body": "post", "HTTP Basic": "basic"}


def _client_credentials_form(client, **overrides) -> dict:
    form = {"grant_type": "client_credentials", "scope": client.scope}
    if client.tenant_id:
        form["tenant_id"] = client.tenant_id
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


@when(parsers.re(r"the client requests a token for its tenant with its credentials in (?P<where>the form body|HTTP Basic)"))
def request_token(state, discovery, where):
    post_token(state, discovery, _client_credentials_form(state.client), authentication=AUTHENTICATIONS[where])


@when(parsers.re(r"the client requests a token with a wrong secret in (?P<where>the form body|HTTP Basic)"))
def request_token_wrong_secret(state, discovery, where):
    post_token(state, discovery, _client_credentials_form(state.client),
               authentication=AUTHENTICATIONS[where], secret=WRONG_SECRET)


@when("an unregistered client requests a token")
def request_token_unknown_client(state, discovery):
    stranger = replace(state.client, client_id=f"unregistered-{int(time.time())}")
    post_token(state, discovery, _client_credentials_form(state.client), client=stranger)


@when("the client requests a token without tenant_id")
def request_token_without_tenant(state, discovery):
    post_token(state, discovery, _client_credentials_form(state.client, tenant_id=None))


@when("the client requests a token for that tenant")
def request_token_unapproved_tenant(state, discovery):
    post_token(state, discovery, _client_credentials_form(state.client, tenant_id=state.client.unapproved_tenant_id))


@when("the client requests a token for that scope")
def request_token_ungranted_scope(state, discovery):
    post_token(state, discovery, _client_credentials_form(state.client, scope=state.client.ungranted_scope))


@when("the client redeems an authorization code as if it were an interactive application")
def request_token_with_code_grant(state, discovery):
    form = {"grant_type": "authorization_code", "code": "not-a-real-code-0123456789",
            "redirect_uri": "https://service.app.local/callback"}
    post_token(state, discovery, form)


@when("the client sends its token request as JSON")
def request_token_as_json(state, discovery):
    body = _client_credentials_form(state.client, client_id=state.client.client_id,
                                    client_secret=state.client.client_secret)
    post_json(state, discovery, body)


@then('"expires_in" is the lifetime the environment expects')
def expires_in_as_expected(state, environment):
    expected = environment.expectations.access_token_lifetime
    actual = state.tokens.get("expires_in")
    check(actual == expected, f"expires_in is {actual!r}; the environment expects {expected} "
                              "(expectations.access_token_lifetime)")


@then("the granted scope is exactly the requested scope")
def scope_as_requested(state):
    granted = state.tokens.get("scope")
    check(isinstance(granted, str), f"the token response has no scope (found {granted!r})")
    check(set(granted.split()) == set(state.client.scope.split()),
          f"the granted scope is {granted!r}; the request asked for {state.client.scope!r}")


@then("the access token is a JWT signed with a key from the issuer's JWKS")
def access_token_signed(state, discovery):
    verified_claims(state.tokens["access_token"], discovery)


@then("the access token names the issuer, the client and the requested tenant")
def access_token_claims(state, discovery, environment):
    claims = verified_claims(state.tokens["access_token"], discovery)
    check(claims.get("iss") == environment.issuer,
          f"the access token's iss is {claims.get('iss')!r}, not the issuer {environment.issuer!r}")
    check(claims.get("client_id") == state.client.client_id,
          f"the access token's client_id is {claims.get('client_id')!r}, not {state.client.client_id!r}")
    check(claims.get("tenant_id") == state.client.tenant_id,
          f"the access token's tenant_id is {claims.get('tenant_id')!r}, not the requested tenant "
          f"{state.client.tenant_id!r}")
    now = time.time()
    check(isinstance(claims.get("exp"), (int, float)) and claims["exp"] > now, "the access token has expired or has no exp")
    check(claims.get("nbf", now) <= now + 60, "the access token is not valid yet (nbf is in the future)")
