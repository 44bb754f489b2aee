"""The authorization request and its callback (AUTH-*), and redeeming the code (CODE-*, APP-*)."""

import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import allure
import pytest
from pytest_bdd import given, parsers, then, when

from suite.configuration.environment import display_path
from suite.verdict.checks import (
    Delivered,
    MetTheCause,
    NonConformance,
    callback_error,
    check,
    check_delivered,
    check_granted,
    one_line,
    require,
    shown_or,
    skip_for_missing_data,
)
from suite.wire.authorization import STATES, authorize, with_offline_access
from suite.wire.http import EnvironmentProblem, UntrustedEndpoint, allure_results_written, redact_url
from suite.wire.login import Outcome, is_redirect_to
from suite.wire.login.html_forms import forwards_to
from suite.wire.redirect_variations import NATIVE_PORT_NOT_VARIED, native_port_exempt, varied, why_another_uri
from suite.wire.token_requests import default_authentication, error_of, post_token

INTERACTIVE_ROLES = ("web", "spa", "native", "other_web")


# CODE-02's other redirect_uri: the registered one with a longer path
def other_redirect_uri(registered: str) -> str:
    return urlunsplit(urlsplit(registered)._replace(path=urlsplit(registered).path.rstrip("/") + "-other"))


@when("the user authorizes the client with PKCE")
def authorize_with_pkce(state, environment, discovery):
    authorize(state, environment, discovery)


@when("the user authorizes the client without PKCE")
def authorize_without_pkce(state, environment, discovery):
    authorize(state, environment, discovery, pkce=None)


@when("the user authorizes the client without PKCE and without offline_access")
def authorize_without_offline_access(state, environment, discovery):
    """RT-03's request: the environment's scope for the web app may name offline_access (the role is
    "configured with offline_access"); the rule is about a request without it, so it is taken out."""
    scope = " ".join(s for s in state.client.scope.split() if s != "offline_access")
    authorize(state, environment, discovery, pkce=None, overrides={"scope": scope})


@when("the user authorizes the client with PKCE and offline_access")
def authorize_offline(state, environment, discovery):
    authorize(state, environment, discovery, overrides=with_offline_access(environment, state.client.scope))


@when(parsers.parse("the user authorizes the client with PKCE and a {kind} state"))
def authorize_with_state(state, environment, discovery, kind):
    authorize(state, environment, discovery, overrides={"state": STATES[kind]()})


@when(parsers.parse('the user authorizes the client with PKCE and ui_locales "{locales}"'))
def authorize_with_locales(state, environment, discovery, locales):
    authorize(state, environment, discovery, overrides={"ui_locales": locales})


def _refused_redirect_to(refusal: str, uri: str) -> bool:
    """Whether the login method's refusal was of a redirect to `uri` (with a query or fragment, or none)."""
    prefix = f"refused to follow the redirect to {uri}"
    return refusal.startswith(prefix) and refusal[len(prefix) : len(prefix) + 1] in ("?", "#", ":")


@when(
    parsers.parse("the user authorizes each client with PKCE and a redirect_uri that is its registered one {variation}")
)
def authorize_with_varied_redirect_uris(state, environment, discovery, variation):
    """One authorization per registered redirect URI (every interactive client's) that the variation changes."""
    exempt = False  # a native client's localhost redirection URI left on its port (NATIVE_PORT_NOT_VARIED)
    for role in INTERACTIVE_ROLES:
        client = environment.clients.get(role)
        sent = (
            varied(client.redirect_uri, variation, native=role == "native") if client and client.redirect_uri else None
        )
        if sent is None:
            if client and client.redirect_uri and native_port_exempt(client.redirect_uri, variation, role == "native"):
                exempt = True
                allure.attach(NATIVE_PORT_NOT_VARIED, name="not sent", attachment_type=allure.attachment_type.TEXT)
            continue
        state.client = client
        try:
            authorize(state, environment, discovery, overrides={"redirect_uri": sent})
        except UntrustedEndpoint as refusal:
            # the login method stops only at the URI sent: a server that answered at the registered one of a
            # private-use scheme (com.example.app:/callback, RFC 8252 section 7.1) met the suite's refusal to
            # follow an address whose host parsers read differently. That answer is what AUTH-05 judges.
            if not _refused_redirect_to(str(refusal), client.redirect_uri):
                raise
            state.outcome = Outcome("callback", client.redirect_uri)
        state.redirect_trials.append((client, sent, state.outcome))
    if not state.redirect_trials:
        if not any(environment.clients.get(role) for role in INTERACTIVE_ROLES):
            # a service-only environment: the rule is outside what it certifies, as for any other
            # interactive rule (suite.reports.certificate reads this reason), not a rule left unrun
            pytest.skip(
                f"no 'web', 'spa' or 'native' client is configured in {display_path(environment.path)}: "
                "no redirect_uri to vary"
            )
        pytest.skip(
            f"no registered redirect_uri of the environment's clients changes {variation}"
            + (f"; {NATIVE_PORT_NOT_VARIED}" if exempt else "")
        )


@then("for each, the server shows an error page and redirects the browser nowhere")
def no_redirect_for_varied_uris(state):
    problems = []
    for client, sent, outcome in state.redirect_trials:
        why = why_another_uri(sent, client.redirect_uri)
        if sent != client.redirect_uri and _response_address(outcome) == client.redirect_uri:
            # the server took the URI sent for the registered one, and answered there: no redirect to the URI
            # sent, but the comparison that should have refused the request is what failed
            problems.append(
                f"{client.role} client, redirect_uri {sent!r}: the server took it for the registered "
                f"{client.redirect_uri!r} and sent the authorization response there"
                + (f" ({why})" if why else "")
                + '; "the authorization server MUST compare the two URIs using simple string comparison as defined '
                'in [RFC3986] Section 6.2.1" (RFC 6749 section 3.1.2.3), and a request whose redirect_uri does not '
                "match is refused with an error page, not redirected (RFC 6749 section 4.1.2.1)"
            )
            continue
        try:
            check_no_route(
                outcome, sent, f"an unregistered redirect_uri ({why})" if why else "an unregistered redirect_uri"
            )
        except NonConformance as failure:
            problems.append(f"{client.role} client, redirect_uri {sent!r}: {failure}")
    check(not problems, lambda: "; ".join(problems))


# What an authorization response adds to the redirect_uri (RFC 6749 section 4.1.2, 4.1.2.1; RFC 9207; OIDC
# Session Management's session_state): the rest of the address is the redirect_uri the response went to.
RESPONSE_PARAMETERS = {"code", "state", "iss", "session_state", "error", "error_description", "error_uri"}


def _response_address(outcome) -> str | None:
    """The address the authorization response was sent to, without the response's own parameters: the
    registered redirect_uri where the server answered there, the URI sent (?extra=1, #fragment) where it
    answered at that one."""
    url = outcome.callback_url or outcome.left_to
    if not url:
        return None
    address, _, fragment = url.partition("#")
    path, _, query = address.partition("?")
    kept = [pair for pair in query.split("&") if pair and pair.split("=", 1)[0] not in RESPONSE_PARAMETERS]
    return path + ("?" + "&".join(kept) if kept else "") + ("#" + fragment if fragment else "")


@when("the user authorizes the client with PKCE and an unknown parameter")
def authorize_with_unknown_parameter(state, environment, discovery):
    authorize(state, environment, discovery, overrides={"x_conformance_unknown": "ignore-me"})


@when("the user authorizes the client with PKCE, the request sent as a form POST")
def authorize_by_post(state, environment, discovery):
    authorize(state, environment, discovery, by_post=True)


@then("the request sent by POST is served with a code and its state, and the code is redeemed with the verifier")
def post_request_served(state, environment, discovery):
    """AUTH-12's own check. The state and the PKCE challenge went only in the POST's body: the state
    coming back and the code redeemed with the verifier show the server read the body, not merely
    that it answered a POST."""
    # The test user's sign-in refused is no answer to the method: AUTH-01 fails for it, and blocks this.
    require(
        state.outcome.kind != "login_failed",
        lambda: (
            f"the request sent by POST reached the sign-in, but {state.outcome.describe()} (OpenID Connect Core "
            "section 3.1.2.1 is about the request's method, so the sign-in's own rule, AUTH-01, says why)"
        ),
    )
    served_with_code(
        state,
        environment,
        "sent by POST (its parameters form-encoded in the body, none in the query)",
        'OpenID Connect Core section 3.1.2.1: "Authorization Servers MUST support the use of the HTTP GET and '
        'POST methods defined in RFC 7231 at the Authorization Endpoint"',
    )
    sent, returned = state.authorization.state, state.outcome.callback_params.get("state")
    # A server that loses the state of every request fails AUTH-02 for it: this rule is then blocked
    # by AUTH-02 (features/rules.yaml `needs`), and fails where only the POSTed state is lost.
    require(
        returned == sent,
        f"the callback's state is {shown_or(returned)}, not the state sent in the POST's body, {sent!r} (OpenID "
        'Connect Core section 3.1.2.1: "If using the HTTP POST method, the request parameters are serialized using '
        'Form Serialization"; RFC 6749 section 4.1.2: state, "The exact value received from the client")',
    )
    response = redeem(state, discovery, code_verifier=state.authorization.verifier)
    # The same redemption of a code requested by GET is APP-03's: where it failed too, that is the
    # cause (features/rules.yaml `needs`), and this rule is blocked by it rather than failed twice.
    require(
        response.status_code == 200,
        lambda: (
            f"the code of the request sent by POST was not redeemed with the verifier of the code_challenge sent in "
            f"its body: HTTP {response.status_code}, error {shown_or(error_of(response), 'code missing')} (RFC 7636 "
            "section 4.6: if the values are equal, the token endpoint MUST continue processing as normal)"
        ),
    )


@when("the user authorizes the service client with PKCE and a redirect_uri of its own")
def authorize_service_client(state, environment, discovery):
    host = urlsplit(environment.issuer).hostname or "service"
    own = f"https://service-client.{host}.invalid/callback"  # a URI nobody registered: the client has none
    authorize(state, environment, discovery, overrides={"redirect_uri": own})


@when("the user authorizes the client with openid, a nonce and no redirect_uri")
def authorize_without_redirect_uri(state, environment, discovery):
    scope = state.client.scope if "openid" in state.client.scope.split() else f"openid {state.client.scope}"
    authorize(
        state,
        environment,
        discovery,
        overrides={"redirect_uri": None, "scope": scope, "nonce": "n-" + secrets.token_urlsafe(16)},
    )


@then("the server shows an error page and redirects the browser nowhere, not even to the registered redirect_uri")
def no_redirect_without_redirect_uri(state):
    check_no_route(state.outcome, state.client.redirect_uri, "the registered redirect_uri of a request without one")


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
def callback_with_code(state, environment):
    outcome = state.outcome
    check_granted(
        outcome.callback_url is not None,
        lambda: (
            f'the browser was not sent to the redirect_uri: {outcome.describe()} (Visma Step 3: "Visma '
            'returns an authorization code to the specified redirect URI"; RFC 6749 section 4.1.2)'
        ),
    )
    check(
        is_redirect_to(outcome.callback_url, state.client.redirect_uri),
        f"the callback went to {outcome.callback_url!r}, not the registered {state.client.redirect_uri!r} "
        '(Visma: the redirect_uri "must match registration details")',
    )
    params = outcome.callback_params
    # an error without a code is a refusal of the documented request; with a code, a malformed callback
    (check if params.get("code") else check_granted)(
        "error" not in params,
        f"the callback carries error={params.get('error')!r}: "
        f"{one_line(params.get('error_description', ''))} (the documented request is granted: Visma "
        "Step 3, RFC 6749 section 4.1.2)",
    )
    check(bool(params.get("code")), "the callback carries no code (RFC 6749 section 4.1.2)")
    check(
        "code" in outcome.query_params,
        "the code came in the URL fragment; response_type=code returns it in the query "
        "(RFC 6749 section 4.1.2; Visma's sample response: YOUR_REDIRECT_URI?code=...)",
    )
    # the code came, on the registered redirect_uri: what the rules needing AUTH-01 rely on, so none is blocked
    check_delivered(outcome.signed_in, lambda: _not_signed_in(outcome, environment.login.method))


def _not_signed_in(outcome, method: str) -> str:
    """AUTH-01's account of a code issued without the test user's sign-in: what the login method did."""
    filled = outcome.filled_without_password
    what = (
        f"the {method} login method filled and submitted a page without a password field ({redact_url(filled)}: the "
        "test user's name only), and the server issued the code without the password"
        if filled
        else f"the {method} login method never saw and submitted a login page"
    )
    return (
        f"the server issued a code without the test user signing in: {what} (RFC 6749 section 4.1 step B: "
        '"The authorization server authenticates the resource owner (via the user-agent)"; a name alone '
        'authenticates nobody. Visma: "Upon user consent, Visma returns an authorization code")'
    )


@then("the request with ui_locales is served with a code")
def ui_locales_request_served(state, environment):
    """AUTH-04's own check: the request with ui_locales was granted, a code on the registered redirect_uri."""
    served_with_code(
        state,
        environment,
        "with ui_locales",
        'Visma Step 1 names ui_locales among the request\'s parameters: "Preferred languages for user interface"',
    )


@then("the request with an unknown parameter is served with a code")
def unknown_parameter_request_served(state, environment):
    """AUTH-11's own check: the request with a parameter the server does not know was granted."""
    served_with_code(
        state,
        environment,
        "with a parameter the server does not know",
        'RFC 6749 section 3.1: "The authorization server MUST ignore unrecognized request parameters"',
    )


def served_with_code(state, environment, what: str, sentence: str) -> None:
    """The request was granted: a code on the registered redirect_uri. How the callback carries the
    code and whether the user signed in are AUTH-01's checks: where they fail here, they failed there
    too, and the rule is blocked by AUTH-01."""
    outcome = state.outcome
    check(
        outcome.callback_url is not None
        and is_redirect_to(outcome.callback_url, state.client.redirect_uri)
        and bool(outcome.callback_params.get("code")),
        lambda: (
            f"the authorization request {what} was not granted: {outcome.describe()} (RFC 6749 section 4.1.2: "
            f"a granted request sends the browser to the redirect_uri with a code; {sentence})"
        ),
    )
    try:
        callback_with_code(state, environment)
    except NonConformance as failure:  # AUTH-01's own violation met again: blocked by it, even one that gave a code
        raise MetTheCause(
            f"the request was served, but its callback breaks AUTH-01's rule (Visma Step 3; RFC 6749 section 4.1.2): "
            f"{failure}"
        ) from None


@then("the callback carries exactly the state that was sent")
def callback_state_round_trip(state):
    params = _callback(state)
    sent = state.authorization.state
    check("state" in params, "the callback carries no state (RFC 6749 section 4.1.2: REQUIRED if sent)")
    returned = f"state {params['state']!r}" if params["state"] else "an empty state (state= with no value)"
    check(
        params["state"] == sent,
        f"the callback carries {returned}, not the state sent {sent!r} "
        "(RFC 6749 section 4.1.2: the exact value received)",
        expected=sent,
        received=params["state"],
    )


@then("the callback's iss is exactly the issuer")
def callback_iss(state, environment):
    outcome = state.outcome
    # no callback is the answer's own rule's failure (AUTH-01's; for an error, AUTH-06's): no iss to read
    require(
        outcome.callback_url is not None and is_redirect_to(outcome.callback_url, state.client.redirect_uri),
        lambda: (
            "the browser was not sent to the registered redirect_uri, so there is no iss to read (RFC 9207 section 2 "
            f"puts it in the authorization response): {outcome.describe()}"
        ),
    )
    params = _callback(state)
    kind = "error callback" if "error" in params else "callback"
    iss = params.get("iss")
    check(
        iss == environment.issuer,
        (
            f"the {kind}'s iss is {iss!r}, not the issuer {environment.issuer!r}"
            if iss is not None
            else f"the {kind} carries no iss"
        )
        + "; RFC 9207 section 2 requires the issuer's own in every authorization response, error responses included",
        expected=environment.issuer,
        received=iss,
    )


@then("the server shows an error page and redirects the browser nowhere")
def no_redirect_for_unregistered_uri(state):
    """RFC 6749 section 4.1.2.1 says nothing of the error page's status, so it is not judged: what is, is
    that no route the browser would follow leads to the redirect_uri."""
    sent = state.authorization.params.get("redirect_uri") or state.client.redirect_uri
    client_id = state.authorization.params.get("client_id")
    if client_id and client_id != state.client.client_id:  # AUTH-07: the redirect_uri is another client's own
        what = (
            f"{sent!r} for a request whose client_id {client_id!r} is invalid (no client of that id is registered; "
            f"the URI is the {state.client.role} client's): "
            '"if the client identifier is missing or invalid, the authorization server SHOULD inform the resource '
            'owner of the error and MUST NOT automatically redirect the user-agent"'
        )
        check_no_route(state.outcome, sent, what)
        return
    check_no_route(state.outcome, sent)


def check_no_route(outcome, target: str, what: str = "an unregistered redirect_uri") -> None:
    if outcome.kind == "sign_in_needed":
        # A login page is no redirect and may well come before the error (RFC 6749 section 4.1.2.1 says
        # when the server must not redirect, not when it checks): what it does once a user signed in is unknown
        skip_for_missing_data(
            "login",
            f"the server asked for a sign-in before it answered the request with {what} "
            f"({outcome.describe()}); whether it then redirects there is what this rule checks. "
            "Add a login section with a test user (method: form, username, password) to check it",
        )
    check(
        outcome.callback_url is None and outcome.left_to is None,
        f"the browser was redirected to {what}: "
        f"{outcome.callback_url or outcome.left_to!r} (RFC 6749 section 4.1.2.1: MUST NOT automatically redirect)",
    )
    check(
        outcome.kind == "page",
        lambda: (
            f"the flow did not stop at an error page: {outcome.describe()} (RFC 6749 "
            "section 4.1.2.1: the server SHOULD inform the resource owner of the error)"
        ),
    )
    forward = forwards_to(outcome.body, target, outcome.refresh)
    check(
        forward is None,
        f"the error page holds {forward}: it would send the browser on to {what} "
        "(RFC 6749 section 4.1.2.1: MUST NOT automatically redirect)",
    )
    # Any status: RFC 6749 section 4.1.2.1 forbids the redirect and says nothing of the page's status, and
    # servers show such pages with 200 as well as with 4xx.


@then(
    parsers.re(
        r'the browser is sent to the registered redirect_uri with error (?P<errors>"\w+"(?: or "\w+")*) '
        r"and the original state"
    )
)
def callback_with_error(state, errors):
    allowed = errors.replace('"', "").split(" or ")
    params = _callback(state)
    check(
        params.get("error") in allowed,
        f"the callback carries {callback_error(params)}, not error {' or '.join(allowed)} (RFC 6749 section 4.1.2.1)",
    )
    check(
        "code" not in params,
        "the error callback also carries a code; a refused request is answered with error "
        "and state only (RFC 6749 section 4.1.2.1)",
    )
    check(
        params.get("state") == state.authorization.state,
        f"the error callback's state is {shown_or(params.get('state'))}, not the state sent "
        f"{state.authorization.state!r} (RFC 6749 section 4.1.2.1)",
    )


# Why the request of each rule is refused, in its own sentence (RFC 7636 section 4.4.1's invalid_request
# applies "if the server requires PKCE", which Visma's application types make it for the public apps).
VISMA_PKCE_REQUIRED = {
    "spa": '"Security Approach: Implements PKCE to secure authorization as client secrets cannot be safely stored."',
    "native": '"relies on PKCE to protect authorization codes."',
}
WHY_REFUSED = {
    "PKCE-07": ": its code_challenge_method is plain, which the environment expects refused (expectations.plain_pkce: "
    "refused)",
    "PKCE-08": ': it sent a code_challenge and no code_challenge_method, which defaults to "plain" if not present in '
    "the request (RFC 7636 section 4.3), and the environment expects plain PKCE refused (expectations.plain_pkce: "
    "refused)",
}


def _why_refused(request, client) -> str:
    """What in the rule's request calls for the refusal, where its rule says (nothing for another rule)."""
    marker = request.node.get_closest_marker("rule") if request is not None else None
    rule_id = marker.args[0] if marker else ""
    if rule_id == "PKCE-04" and client is not None and client.role in VISMA_PKCE_REQUIRED:
        return (
            f": it sent no code_challenge, and Visma's {client.role} app type requires PKCE "
            f"(Interactive Integrations, Application Types: {VISMA_PKCE_REQUIRED[client.role]})"
        )
    return WHY_REFUSED.get(rule_id, "")


@then("the authorization is refused without a code")
def authorization_refused(state, request):
    """RFC 7636 section 4.4.1: an error redirect with invalid_request. A 4xx error page is accepted
    too; a page that is neither (a stalled flow, an empty paste) shows no refusal at all."""
    outcome, client = state.outcome, state.client
    # an outline runs it for several apps: the message names which one (a server may require PKCE of one alone)
    app = f"the {client.role} app ({client.client_id})" if client is not None else "the app"
    if outcome.callback_url is not None:
        params = outcome.callback_params
        check(
            "code" not in params,
            lambda: (
                f"the server issued an authorization code to {app}; it should have refused the request"
                f"{_why_refused(request, client)}. A server that requires PKCE, or does not support the requested "
                "transformation, returns invalid_request (RFC 7636 section 4.4.1)"
            ),
        )
        check(
            params.get("error") == "invalid_request",
            f"the refusal to {app} carries {callback_error(params)}; RFC 7636 section 4.4.1 names invalid_request",
        )
        return
    check(
        outcome.kind == "page" and outcome.status is not None and 400 <= outcome.status < 500,
        lambda: (
            f"no refusal to {app} was seen: {outcome.describe()}. A refusal is an error redirect with "
            "invalid_request (RFC 7636 section 4.4.1) or a 4xx error page"
        ),
    )


@given("a control authorization of the client with S256 PKCE gets a code after sign-in")
def control_authorization(state, environment, discovery):
    """Proves that a refusal after it is the server's answer to the request, not a login that never
    works. A step before the rule's own check: when it fails because AUTH-01 failed, the refusal
    rule is blocked by AUTH-01 (features/rules.yaml `needs`), not failed a second time."""
    authorize(state, environment, discovery)
    try:
        callback_with_code(state, environment)
    except Delivered as failure:  # AUTH-01's own violation met again (a code without a sign-in): blocked by it
        raise MetTheCause(f"the control authorization met AUTH-01's failure: {failure}") from None


def _callback(state) -> dict:
    outcome = state.outcome
    check(
        outcome.callback_url is not None and is_redirect_to(outcome.callback_url, state.client.redirect_uri),
        lambda: (
            f"the browser was not sent to the registered redirect_uri: {outcome.describe()} (RFC 6749 section "
            "4.1.2.1: the error is added to the query of the redirection URI)"
        ),
    )
    return outcome.callback_params


def _without_method(state) -> str:
    """What a request with a code_challenge and no code_challenge_method (PKCE-08) asked for."""
    params = state.authorization.params if state.authorization else {}
    if "code_challenge" not in params or "code_challenge_method" in params:
        return ""
    return (
        '. The request sent a code_challenge and no code_challenge_method, which defaults to "plain" if not '
        "present in the request (RFC 7636 section 4.3): a server that accepts plain PKCE (expectations.plain_pkce: "
        "accepted) grants it as a plain challenge"
    )


# RFC 6749 section 4.1.2 says what a granted request is answered with, not that a request is granted; for a
# request with offline_access OpenID Connect Core section 11 does: at worst its offline_access is ignored.
OFFLINE_ACCESS_SERVED = (
    'a request with offline_access is served, at worst without offline access: the server "MUST ensure that the '
    "prompt parameter contains consent unless other conditions for processing the request permitting offline "
    "access to the requested resources are in place; unless one or both of these conditions are fulfilled, then it "
    'MUST ignore the offline_access request" (OpenID Connect Core section 11)'
)
WEB_APP_OFFLINE_ACCESS = (
    '; "Only server-side web applications configured with `offline_access` can request refresh tokens to renew '
    'expired access tokens" (Interactive Integrations, Important Notes): the web app is one'
)


def _offline_access_served(state) -> str:
    """The sentence that has a request with offline_access answered with a code, or "" for another request."""
    params = state.authorization.params if state.authorization else {}
    if "offline_access" in str(params.get("scope", "")).split():
        return OFFLINE_ACCESS_SERVED + (WEB_APP_OFFLINE_ACCESS if state.client.role == "web" else "")
    return ""


def code_of(state) -> str:
    code = state.outcome.callback_params.get("code") if state.outcome else None
    check(
        bool(code),
        lambda: (
            f"no authorization code to redeem: {state.outcome.describe() if state.outcome else 'no authorization'}; "
            + (
                _offline_access_served(state)
                or "a granted authorization request is answered with a code in the redirect URI's query (RFC 6749 "
                "section 4.1.2)"
            )
            + _without_method(state)
        ),
    )
    return code


@dataclass
class _Redemption:
    """A token request that redeemed the scenario's code, what it got, and how many token responses
    the scenario held before it."""

    form: dict
    client: object
    authentication: str
    status: int
    tokens_before: int


def redeem(state, discovery, client=None, authentication=None, **overrides):
    """Exchange the scenario's code at the token endpoint, as the documentation's example does.

    A code redeemed after its deadline (a busy machine, a person slow to hand the callback over)
    may have expired: a refusal of it shows nothing about the rule under test, so it is no verdict
    (an environment problem), never a failure, nor a refusal that passes for the wrong reason."""
    client = client or state.client
    form = {
        "grant_type": "authorization_code",
        "code": code_of(state),
        "redirect_uri": state.authorization.params["redirect_uri"],
    }
    form.update(overrides)
    form = {k: v for k, v in form.items() if v is not None}
    authentication = authentication or default_authentication(client)
    tokens_before, sent_at = len(state.token_responses), time.monotonic()
    response = post_token(state, discovery, form, client=client, authentication=authentication)
    if _too_late(response, state, sent_at) and state.authorize_again is not None and not state.authorized_again:
        # The suite itself was too slow (a busy machine): the same authorization request again, with the
        # same verifier, gives a fresh code, redeemed at once as the first was: the scenario's earlier
        # redemptions again, then this one. Once: a second late redemption says the machine is too busy
        # for this lifetime.
        late = sent_at - (state.code_deadline or sent_at)
        state.authorized_again = True
        earlier = [before for before in state.redemptions if before.form["code"] == form["code"]]
        state.authorize_again()
        form["code"] = code_of(state)
        sent_at = time.monotonic()
        _redeem_as_before(state, discovery, earlier, form["code"])
        tokens_before = len(state.token_responses)
        response = post_token(state, discovery, form, client=client, authentication=authentication)
        if allure_results_written():
            allure.attach(
                f"The first code was redeemed {late:.1f} s past its deadline and refused (it may only have expired): "
                "the same authorization request was sent again and its fresh code redeemed at once"
                + (f", {len(earlier)} time(s) as before, then as this step does." if earlier else "."),
                name="a fresh code: the first was redeemed too late",
                attachment_type=allure.attachment_type.TEXT,
            )
    if _too_late(response, state, sent_at):
        again = " (a fresh code too, after the first had come too late)" if state.authorized_again else ""
        raise EnvironmentProblem(
            f"the code was redeemed {sent_at - (state.code_deadline or sent_at):.1f} s past its deadline{again} (the "
            "declared lifetime, expectations.authorization_code_lifetime, since its authorization request was sent, "
            f"less a second for servers that count whole seconds), so its refusal (HTTP {response.status_code}) may "
            "only mean that it expired. This machine was too busy to redeem it in time: run again when it is not"
        )
    state.redemptions.append(_Redemption(form, client, authentication, response.status_code, tokens_before))
    return response


def _redeem_as_before(state, discovery, earlier: list[_Redemption], code: str) -> None:
    """The scenario's `earlier` redemptions of the late code, sent again with the fresh `code`, in order.
    The tokens they get stand for the late code's (a step that reads "the code's first redemption" reads
    the fresh code's). Each must be answered as before, or what the earlier steps judged did not happen again."""
    state.redemptions = []
    if not earlier:
        return
    del state.token_responses[earlier[0].tokens_before :]
    for before in earlier:
        form, tokens_before = {**before.form, "code": code}, len(state.token_responses)
        again = post_token(state, discovery, form, client=before.client, authentication=before.authentication)
        if again.status_code != before.status:
            raise EnvironmentProblem(
                f"a fresh code, asked for because the first was redeemed too late, was answered HTTP "
                f"{again.status_code} where the first code had HTTP {before.status} at the same step: the server "
                "did not answer the same redemption the same way twice, so no verdict. This machine was too busy "
                "to redeem the code in time: run again when it is not"
            )
        redemption = _Redemption(form, before.client, before.authentication, again.status_code, tokens_before)
        state.redemptions.append(redemption)


def _too_late(response, state, sent_at: float) -> bool:
    """Refused, and sent after the code's deadline: the refusal may only mean that the code expired."""
    return response.status_code != 200 and state.code_deadline is not None and sent_at > state.code_deadline


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
    other = other_redirect_uri(state.client.redirect_uri)
    redeem(state, discovery, code_verifier=state.authorization.verifier, redirect_uri=other)


@when("the other client redeems the code with the verifier")
def other_client_redeems(state, discovery):
    redeem(state, discovery, client=state.other_client, code_verifier=state.authorization.verifier)


@when("the client redeems the code without its secret")
def redeem_without_secret(state, discovery):
    redeem(state, discovery, authentication="none")


@given(parsers.parse("the environment expects a web app's PKCE code without its secret to be {expectation}"))
def web_pkce_without_secret_expectation(environment, expectation):
    declared = environment.expectations.web_pkce_without_secret
    if declared != expectation:
        pytest.skip(
            f"{environment.name} expects a web app's PKCE code without its secret to be {declared} "
            "(expectations.web_pkce_without_secret)"
        )


@when("the client redeems the code with the verifier but without its secret")
def redeem_with_verifier_without_secret(state, discovery):
    redeem(state, discovery, authentication="none", code_verifier=state.authorization.verifier)
