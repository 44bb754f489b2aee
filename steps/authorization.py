"""The authorization request and its callback (AUTH-*), and redeeming the code (CODE-*, APP-*)."""

from urllib.parse import urlsplit, urlunsplit

import pytest
from pytest_bdd import given, parsers, then, when

from suite.authorization import STATES, authorize
from suite.checks import check
from suite.login import is_redirect_to
from suite.token_requests import default_authentication, post_token

REDIRECT_URI_VARIATIONS = {
    "on another host": lambda p: p._replace(netloc="attacker.invalid"),
    "with another path": lambda p: p._replace(path=p.path.rstrip("/") + "-other"),
    "with an added query": lambda p: p._replace(query="extra=1"),
    "in upper case": lambda p: p._replace(path=p.path.upper()),
}


@when("the user authorizes the client with PKCE")
def authorize_with_pkce(state, environment, discovery):
    authorize(state, environment, discovery)


@when("the user authorizes the client without PKCE")
def authorize_without_pkce(state, environment, discovery):
    authorize(state, environment, discovery, pkce=None)


@when("the user authorizes the client with PKCE and offline_access")
def authorize_offline(state, environment, discovery):
    authorize(state, environment, discovery, overrides={"scope": f"{state.client.scope} offline_access"})


@when(parsers.parse("the user authorizes the client with PKCE and a {kind} state"))
def authorize_with_state(state, environment, discovery, kind):
    authorize(state, environment, discovery, overrides={"state": STATES[kind]()})


@when(parsers.parse('the user authorizes the client with PKCE and ui_locales "{locales}"'))
def authorize_with_locales(state, environment, discovery, locales):
    authorize(state, environment, discovery, overrides={"ui_locales": locales})


@when(parsers.parse("the user authorizes the client with PKCE and a redirect_uri that is the registered one {variation}"))
def authorize_with_unregistered_redirect(state, environment, discovery, variation):
    registered = urlsplit(state.client.redirect_uri)
    authorize(state, environment, discovery,
              overrides={"redirect_uri": urlunsplit(REDIRECT_URI_VARIATIONS[variation](registered))})


@when(parsers.parse('the user authorizes the client with PKCE and response_type "{response_type}"'))
def authorize_with_response_type(state, environment, discovery, response_type):
    authorize(state, environment, discovery, overrides={"response_type": response_type})


@when(parsers.parse('the user authorizes the client with PKCE and code_challenge_method "{method}"'))
def authorize_with_challenge_method(state, environment, discovery, method):
    authorize(state, environment, discovery, overrides={"code_challenge_method": method})


@given("the discovery document advertises the iss authorization response parameter")
def iss_parameter_advertised(discovery):
    if discovery.metadata.get("authorization_response_iss_parameter_supported") is not True:
        pytest.skip("the server does not advertise authorization_response_iss_parameter_supported (RFC 9207)")


@then("the browser is sent to the registered redirect_uri with a code")
def callback_with_code(state):
    outcome = state.outcome
    check(outcome.callback_url is not None, f"the browser was not sent to the redirect_uri: {outcome.describe()}")
    check(is_redirect_to(outcome.callback_url, state.client.redirect_uri),
          f"the callback went to {outcome.callback_url!r}, not the registered {state.client.redirect_uri!r}")
    params = outcome.callback_params
    check("error" not in params, f"the callback carries error={params.get('error')!r}: "
                                 f"{params.get('error_description', '')}")
    check(bool(params.get("code")), "the callback carries no code")


@then("the callback carries exactly the state that was sent")
def callback_state_round_trip(state):
    params = _callback(state)
    sent = state.authorization.state
    check("state" in params, "the callback carries no state")
    check(params["state"] == sent, f"the callback's state {params['state']!r} differs from the state sent {sent!r}")


@then("the callback's iss is exactly the issuer")
def callback_iss(state, environment):
    iss = _callback(state).get("iss")
    check(iss == environment.issuer, f"the callback's iss is {iss!r}, not the issuer {environment.issuer!r}")


@then("the server shows an error page and redirects the browser nowhere")
def no_redirect_for_unregistered_uri(state):
    outcome = state.outcome
    check(outcome.callback_url is None and outcome.left_to is None,
          f"the browser was redirected to an unregistered redirect_uri: "
          f"{outcome.callback_url or outcome.left_to!r}")
    check(outcome.kind == "page", f"the flow did not stop at an error page: {outcome.describe()}")


@then(parsers.parse('the browser is sent to the registered redirect_uri with error "{error}" and the original state'))
def callback_with_error(state, error):
    params = _callback(state)
    check(params.get("error") == error, f"the callback's error is {params.get('error')!r}, not {error!r}")
    check("code" not in params, "the error callback also carries a code")
    check(params.get("state") == state.authorization.state,
          f"the error callback's state is {params.get('state')!r}, not the state sent "
          f"{state.authorization.state!r} (RFC 6749 section 4.1.2.1)")


@then("the authorization is refused without a code")
def authorization_refused(state):
    outcome = state.outcome
    if outcome.callback_url is not None:
        params = outcome.callback_params
        check("code" not in params, "the server issued an authorization code; it should have refused the request")
        check(bool(params.get("error")), "the callback carries neither a code nor an error")
        return
    check(outcome.kind == "page", f"the flow ended without a refusal: {outcome.describe()}")


def _callback(state) -> dict:
    outcome = state.outcome
    check(outcome.callback_url is not None and is_redirect_to(outcome.callback_url, state.client.redirect_uri),
          f"the browser was not sent to the registered redirect_uri: {outcome.describe()}")
    return outcome.callback_params


def code_of(state) -> str:
    code = state.outcome.callback_params.get("code") if state.outcome else None
    check(bool(code), f"no authorization code to redeem: {state.outcome.describe() if state.outcome else 'no authorization'}")
    return code


def redeem(state, discovery, client=None, authentication=None, **overrides):
    """Exchange the scenario's code at the token endpoint, as the documentation's example does."""
    client = client or state.client
    form = {"grant_type": "authorization_code", "code": code_of(state),
            "redirect_uri": state.authorization.params["redirect_uri"]}
    form.update(overrides)
    form = {k: v for k, v in form.items() if v is not None}
    return post_token(state, discovery, form, client=client,
                      authentication=authentication or default_authentication(client))


@when("the client redeems the code")
def redeem_code(state, discovery):
    redeem(state, discovery)


@when("the client redeems the code with the verifier")
def redeem_with_verifier(state, discovery):
    redeem(state, discovery, code_verifier=state.authorization.verifier)


@when("the client redeems the same code again")
def redeem_again(state, discovery):
    redeem(state, discovery, code_verifier=state.authorization.verifier)


@when("the client redeems the code with the verifier and another redirect_uri")
def redeem_with_other_redirect_uri(state, discovery):
    other = urlunsplit(REDIRECT_URI_VARIATIONS["with another path"](urlsplit(state.client.redirect_uri)))
    redeem(state, discovery, code_verifier=state.authorization.verifier, redirect_uri=other)


@when("the other client redeems the code with the verifier")
def other_client_redeems(state, discovery):
    redeem(state, discovery, client=state.other_client, code_verifier=state.authorization.verifier)


@when("the client redeems the code without its secret")
def redeem_without_secret(state, discovery):
    redeem(state, discovery, authentication="none")
