"""Refresh tokens: who gets one, using it, rotation, and binding to the client (RT-*)."""

from pytest_bdd import parsers, then, when

from suite.checks import check
from suite.token_requests import default_authentication, post_token


def refresh(state, discovery, refresh_token, client=None):
    client = client or state.client
    return post_token(state, discovery, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                      client=client, authentication=default_authentication(client))


def _first_refresh_token(state) -> str:
    token = state.token_responses[0].get("refresh_token") if state.token_responses else None
    check(bool(token), "no refresh token was issued, so there is nothing to refresh with")
    return token


@then("a refresh token is issued")
def refresh_token_issued(state):
    check(bool(state.tokens.get("refresh_token")), "the token response has no refresh_token")


@then("no refresh token is issued")
def no_refresh_token(state):
    check("refresh_token" not in state.tokens, "the token response carries a refresh_token; this client may not get one")


@then(parsers.parse('a refresh token is issued only if the environment declares "{app_type}" apps eligible'))
def refresh_token_if_eligible(state, environment, app_type):
    eligible = app_type in environment.expectations.refresh_token_app_types
    issued = "refresh_token" in state.tokens
    check(issued == eligible, f"a refresh token was {'issued' if issued else 'not issued'} to a {app_type} app; "
                              f"the environment declares {app_type} apps {'eligible' if eligible else 'not eligible'} "
                              "(expectations.refresh_token_app_types)")


@when("the client refreshes its access token")
def refresh_access_token(state, discovery):
    refresh(state, discovery, _first_refresh_token(state))


@then("a new access token is issued")
def new_access_token(state):
    check(len(state.token_responses) >= 2, "no new token response")
    check(state.token_responses[-1]["access_token"] != state.token_responses[0]["access_token"],
          "the refresh returned the same access token")


@then("the refresh token is rotated or reused as the environment declares")
def rotation_as_declared(state, discovery, environment):
    old = _first_refresh_token(state)
    new = state.tokens.get("refresh_token")
    if environment.expectations.refresh_token_rotation == "one_time":
        check(bool(new) and new != old, "the refresh did not return a new refresh token; the environment declares "
                                        "one_time rotation (expectations.refresh_token_rotation)")
        refresh(state, discovery, old)
        check(state.response.status_code == 400,
              f"the used refresh token was accepted again (HTTP {state.response.status_code}); one_time rotation "
              "invalidates it")
    else:
        check(new in (None, old), "the refresh returned a different refresh token; the environment declares reuse")
        refresh(state, discovery, old)
        check(state.response.status_code == 200, "the refresh token stopped working after one use; "
                                                 "the environment declares reuse")


@when("the other client refreshes with the client's refresh token")
def other_client_refreshes(state, discovery):
    refresh(state, discovery, _first_refresh_token(state), client=state.other_client)
