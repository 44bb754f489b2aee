"""Authorization requests the server must refuse without a code (AUTH-07, AUTH-08)."""

import secrets

from pytest_bdd import parsers, then, when

from suite.verdict.checks import callback_error, check, shown_or
from suite.wire.authorization import authorize
from suite.wire.login import is_redirect_to


@when("the user authorizes an unregistered client_id with PKCE and the client's redirect_uri")
def authorize_unknown_client(state, environment, discovery):
    authorize(state, environment, discovery, overrides={"client_id": "unregistered-" + secrets.token_hex(6)})


@when("the user authorizes the client with PKCE and no response_type")
def authorize_without_response_type(state, environment, discovery):
    authorize(state, environment, discovery, overrides={"response_type": None})


@then(
    parsers.re(
        r"the server shows an error page, or redirects to the registered redirect_uri with "
        r'(?P<errors>"\w+"(?: or "\w+")*) and the original state'
    )
)
def error_page_or_error_redirect(state, errors):
    allowed = errors.replace('"', "").split(" or ")
    outcome = state.outcome
    check(
        outcome.left_to is None,
        lambda: (
            f"the browser was sent to {outcome.describe()}; an error is redirected "
            "only to the registered redirect_uri (RFC 6749 section 4.1.2.1)"
        ),
    )
    if outcome.callback_url is None:
        check(
            outcome.kind == "page",
            f"the flow ended neither on an error page nor on the redirect_uri: "
            f"{outcome.describe()} (RFC 6749 section 4.1.2.1: inform the resource owner, "
            "or redirect the error to the redirection URI)",
        )
        return
    check(
        is_redirect_to(outcome.callback_url, state.client.redirect_uri),
        f"{outcome.describe()}: an error is redirected only to the registered redirect_uri (RFC 6749 section 4.1.2.1)",
    )
    params = outcome.callback_params
    check(
        "code" not in params,
        "the server issued an authorization code for a request it should have refused (RFC 6749 section 4.1.2.1)",
    )
    check(
        params.get("error") in allowed,
        f"the error redirect carries {callback_error(params)}; RFC 6749 section "
        f"4.1.2.1 names {' or '.join(allowed)} for it",
    )
    check(
        params.get("state") == state.authorization.state,
        f"the error redirect's state is {shown_or(params.get('state'))}, not the state sent (RFC 6749 section 4.1.2.1)",
    )
