"""What an application must refuse: the stand-in answers a sign-in wrongly on purpose, and the
application fails the rule for what it does with the faulty response: it redeems the faulty
callback's code, uses the faulty token response's tokens, or shows that the user signed in before
any new sign-in. The absence of those within `drive.settle` seconds is the evidence, as in the
OpenID Foundation's relying-party tests; a new authorization request (the application starting the
sign-in again) is a refusal, and what the new sign-in leads to is not held against the faulty
response. Each scenario first proves that the fault reached the application."""

import re
import time
from urllib.parse import parse_qsl, urlsplit

import allure
import pytest
from pytest_bdd import given, then, when

from appside import effort
from appside.application import Application
from appside.concurrent import EXPIRY, OTHER_BROWSER, TWO_EXPIRIES, TWO_EXPIRIES_STEP
from appside.observed import Observed, bearer_of, carried_tokens, expired_uses, token_expiries, unverified_claims
from appside.output_file import read_from
from appside.record import UNCHECKED, application_rule_sources
from appside.stand_in import ISSUED_TOKENS
from appside.steps.requests_sent import (
    NONCE_FAULTS,
    PKCE_PROTECTS,
    RFC9700_CSRF,
    callback_protections,
    faulty_access_tokens,
)
from appside.steps.service import first_service_run, note_failed_run, why_no_token
from appside.steps.sign_ins import (
    USE_API_URL_MISSING,
    AppRun,
    _baseline,
    drive_timeout_ran_out,
    driver,
    every_flow_made,
    no_evidence,
    normal_sign_ins,
    observe,
    observe_session_once,
    record_fault,
    skip_unless_a_sign_in_started,
    skip_unless_the_api_was_called,
    where_it_stopped,
)
from appside.steps.unread_answers import answer_unread, id_token_as_bearer
from sandbox import SandboxServer
from sandbox.faults import ID_TOKEN_FAULTS, PAST_EXPIRY, RECENT_EXPIRY
from sandbox.instrumentation import extended_issuer
from sandbox.recording import FORM_POST_NOTE
from suite.configuration.rules import WARNING
from suite.secrets.redaction import REDACTOR
from suite.verdict.checks import check, require, skip_for_missing_application_data

# What binds an application that sent a state to refuse a response with another state or none, PKCE or a
# nonce notwithstanding: RFC 9700 section 2.1 says what must protect the callback, not how a response is validated
STATE_VALIDATION = (
    'OpenID Connect Core 1.0 section 3.1.2.7: "the Client MUST validate the response according to RFC 6749, '
    'especially Sections 4.1.2 and 10.12", and RFC 6749 section 4.1.2 has the response\'s state "REQUIRED if the '
    '"state" parameter was present in the client authorization request. The exact value received from the '
    'client."; PKCE or a nonce (RFC 9700 section 2.1) does not lift that'
)
# What binds an OAuth 2.0 client (no openid asked: OpenID Connect Core does not bind it) to refuse a response
# with another state or none: where neither PKCE nor a nonce protects its callback, its state is the CSRF protection
STATE_AS_CSRF_PROTECTION = (
    'RFC 6749 section 10.12: "The client MUST implement CSRF protection for its redirection URI", and RFC 9700 '
    'section 2.1, where neither PKCE nor a nonce protects the callback: "Otherwise, one-time use CSRF tokens '
    'carried in the state parameter that are securely bound to the user agent MUST be used for CSRF protection"; '
    "a state the application does not compare protects nothing"
)
# What binds every application to refuse another browser's callback, whatever protects its callback
USER_AGENT_BINDING = (
    'RFC 9700 section 2.1.1: "the PKCE challenge or OpenID Connect nonce MUST be transaction-specific and securely '
    'bound to the client and the user agent in which the transaction was started", and section 2.1 has the state, '
    'where it is the CSRF protection, "securely bound to the user agent" (RFC 6749 section 10.12)'
)
# APPC-21: the step of OpenID Connect Core 1.0 section 3.1.3.7 (ID Token Validation) each ID token fault breaks
ID_TOKEN_VALIDATION = "OpenID Connect Core 1.0 section 3.1.3.7 (ID Token Validation)"
ISSUER_STEP = (
    "the ID token's iss is the issuer with /evil after it, another issuer that begins with this one; "
    f'{ID_TOKEN_VALIDATION} step 2: "The Issuer Identifier for the OpenID '
    'Provider (which is typically obtained during Discovery) MUST exactly match the value of the iss (issuer) Claim."'
)
AUDIENCE_STEP = (
    f'{ID_TOKEN_VALIDATION} step 3: "The Client MUST validate that the aud (audience) Claim contains its client_id '
    "value registered at the Issuer identified by the iss (issuer) Claim as an audience. [...] The ID Token MUST be "
    'rejected if the ID Token does not list the Client as a valid audience"'
)
EXPIRY_STEP = f'{ID_TOKEN_VALIDATION} step 9: "The current time MUST be before the time represented by the exp Claim."'
SMALL_LEEWAY = (
    'OpenID Connect Core 1.0 section 2 allows "some small leeway, usually no more than a few minutes, to account for '
    f'clock skew": this one is {RECENT_EXPIRY // 60} minutes old'
)
NONCE_STEP = (
    f'{ID_TOKEN_VALIDATION} step 11: "If a nonce value was sent in the Authentication Request, a nonce Claim MUST be '
    "present and its value checked to verify that it is the same value as the one that was sent in the "
    'Authentication Request."'
)
# APPC-36: the token endpoint refused the redemption, so there is no token response, no ID token, no authenticated user
TOKEN_REFUSED = "token-request-refused"
NOTHING_VALIDATED = (
    'OpenID Connect Core 1.0 section 3.1.3.5: "The Client MUST validate the Token Response", and section 3.1.3.7: '
    '"Clients MUST validate the ID Token in the Token Response"; the token endpoint answered invalid_grant (RFC 6749 '
    "section 5.2), an error response with no ID token in it, so nothing authenticated the user"
)
MUST_REFUSE_BECAUSE = {
    TOKEN_REFUSED: NOTHING_VALIDATED,
    "callback-state-wrong": STATE_VALIDATION,
    "callback-state-missing": STATE_VALIDATION,
    OTHER_BROWSER: USER_AGENT_BINDING,
    "id-token-iss-wrong": ISSUER_STEP,
    "id-token-aud-wrong": f"the ID token's aud names another client; {AUDIENCE_STEP}",
    "id-token-aud-suffixed": (
        "the ID token's aud is one string, the client's id with -evil after it: it contains the client_id, yet is "
        f"another audience; {AUDIENCE_STEP}"
    ),
    "id-token-aud-prefixed": (
        "the ID token's aud is one string, x and the client's id: it contains the client_id, yet is another "
        f"audience; {AUDIENCE_STEP}"
    ),
    "id-token-aud-other-azp": (
        "the ID token's aud names another client and only its azp this one (azp is the party the token was issued "
        f"to, not an audience); {AUDIENCE_STEP}"
    ),
    "id-token-expired": f"the ID token's exp is an hour in the past; {EXPIRY_STEP}",
    "id-token-expired-recently": f"the ID token's exp is {RECENT_EXPIRY // 60} minutes in the past; {EXPIRY_STEP}; "
    f"{SMALL_LEEWAY}",
    "id-token-nonce-wrong": f"the ID token's nonce is not the one the application sent; {NONCE_STEP}",
    "id-token-nonce-missing": f"the ID token carries no nonce, though the application sent one; {NONCE_STEP}",
}


def _faulted_callback(app_run):
    callbacks = app_run.last.callbacks
    require(
        callbacks,
        lambda: (
            "the sign-in never reached the application's callback"
            f"{where_it_stopped(app_run.sign_ins[-1] if app_run.sign_ins else None)}, so the fault {app_run.fault} was "
            "not delivered to the application; see the attached requests"
        ),
    )
    return callbacks[0]


@given("the application sends a state")
def sends_state(app_run: AppRun) -> None:
    """A callback's state is checked against the one the application sent: one that sends none has
    nothing to compare (whether it must send one is APPC-03's, or APPC-29's, to judge)."""
    assert app_run.baseline is not None  # "a normal sign-in of the application redeems its code" came first
    if not any(r.param("state") for r in app_run.baseline[1].authorization_requests):
        pytest.skip(
            "not applicable: the application sends no state, so a callback's state is nothing it compares "
            '(RFC 6749 section 4.1.2: state in the response is "REQUIRED if the "state" parameter was present in '
            'the client authorization request", and "The client MUST ignore unrecognized response parameters"); '
            "APPC-03, or with PKCE or a nonce APPC-29, judges the missing state"
        )


def openid_connect(app_run: AppRun) -> bool:
    """Whether the application is an OpenID Connect client: its normal sign-in asks for the openid scope, whatever it
    registered (application.scope; APPC-34 warns one that does not ask). Without it the request is OAuth 2.0 alone
    (OpenID Connect Core 1.0 section 3.1.2.1: "OpenID Connect requests MUST contain the openid scope value")."""
    assert app_run.baseline is not None  # "a normal sign-in of the application redeems its code" came first
    asked = [r.param("scope") or "" for r in app_run.baseline[1].authorization_requests]
    return not asked or any("openid" in scope.split() for scope in asked)


@given("the application must validate the state it sends")
def must_validate_state(request: pytest.FixtureRequest, stand_in: SandboxServer, app_run: AppRun) -> None:
    """An OpenID Connect client validates the response's state whatever protects its callback (STATE_VALIDATION).
    An OAuth 2.0 client is bound by RFC 6749 section 10.12 alone: CSRF protection it MUST implement, whose value it
    SHOULD carry in the state; where a new PKCE challenge from an unguessable verifier protects its callback
    (callback_protections), RFC 9700 section 2.1 lets it rely on PKCE instead, and nothing binds it to compare its
    state, as APPC-03 to APPC-05 then do not apply. Section 4.1.2's state "REQUIRED" in the response binds the
    authorization server."""
    if openid_connect(app_run):
        return
    normal = normal_sign_ins(request.config, stand_in)
    sign_ins = AppRun([sign_in for sign_in, _ in normal], [observed for _, observed in normal], mode=app_run.mode)
    if PKCE_PROTECTS in callback_protections(sign_ins):
        pytest.skip(
            f"not applicable: the application asks no openid, so OpenID Connect Core 1.0 section 3.1.2.7 does not bind "
            f"it, and {PKCE_PROTECTS} protects its callback against CSRF ({RFC9700_CSRF}); RFC 6749 section 10.12 "
            'asks that "The client SHOULD utilize the "state" request parameter" for CSRF protection, which PKCE '
            "gives here, and section 4.1.2's state in the response binds the authorization server; APPC-31 delivers "
            "another browser's code and state to this one to see that the verifier is bound to this browser"
        )


def state_binds(app_run: AppRun) -> str:
    """The sentences that bind the application to refuse a response with another state or none: OpenID Connect
    Core's for an OpenID Connect client, RFC 6749 section 10.12's for an OAuth 2.0 client whose callback only its
    state protects (must_validate_state skipped the others)."""
    return STATE_VALIDATION if openid_connect(app_run) else STATE_AS_CSRF_PROTECTION


@given("the application asks for openid")
def asks_for_openid(app_run: AppRun) -> None:
    """An ID token is issued to a sign-in whose scope holds openid (OpenID Connect Core 1.0 section 3.1.2.1): an
    application whose normal sign-in asked without it is an OAuth 2.0 client with no ID token to validate, whatever
    it registered (application.scope). APPC-34 warns it."""
    if not openid_connect(app_run):
        pytest.skip(
            "not applicable: the application's authorization requests do not ask for the openid scope, so it gets "
            'no ID token to validate (OpenID Connect Core 1.0 section 3.1.2.1: "OpenID Connect requests MUST '
            'contain the openid scope value"; without it the request is OAuth 2.0 alone); APPC-34 warns of it'
        )


@then("the stand-in's callback carried the fault")
def fault_delivered(application: Application, stand_in: SandboxServer, app_run: AppRun) -> None:
    callback = _faulted_callback(app_run)
    params = callback.location_params
    sent_state = dict(callback.query).get("state")
    if app_run.fault == OTHER_BROWSER:
        check(_other_browsers_callback_delivered(app_run, callback), f"the fault {app_run.fault} was not delivered")
        _received_by_the_application(application, app_run)
        return
    delivered = {
        "callback-state-wrong": "state" in params and params["state"] != sent_state,
        "callback-state-missing": "state" not in params,
        "callback-iss-wrong": params.get("iss") == extended_issuer(stand_in.issuer),
        "callback-iss-missing": "iss" not in params,
        "access-denied": params.get("error") == "access_denied",
    }[str(app_run.fault)]  # set by the When step that injected it
    check(delivered, f"the stand-in's callback does not show the fault {app_run.fault}")
    _received_by_the_application(application, app_run)


def _received_by_the_application(application: Application, app_run: AppRun) -> None:
    """A refusal is what the application did with the faulty callback, so the callback must have reached it: the
    browser's load of the redirect URI got an HTTP answer (any status). That is asked where a callback can miss the
    application while the stand-in's log shows it sent: a native application's one-shot loopback listener (RFC 8252
    section 7.3) listens only while its sign-in is pending (it may have stopped, or not yet started: connection
    refused), and another browser's callback is delivered by the suite itself, in this browser, to this sign-in's
    listener. Without that answer, and with nothing showing that the application acted on the callback anyway
    (_acted_on, the signed-in page), the rule could not be checked, with the cause: a native application under a
    loaded run passed APPC-31 on a callback it never received."""
    sign_in = app_run.sign_ins[-1]
    if app_run.mode != "browser" or sign_in.callback_status is not None:
        return
    native = application.app_type == "native"
    if app_run.fault != OTHER_BROWSER and not native:
        return
    if sign_in.finished or _acted_on(app_run):  # it received the callback: the steps after judge what it did
        return
    why = sign_in.load_error or sign_in.watch or f"no answer within drive.timeout (watched {sign_in.seconds:.0f} s)"
    received = _received_anyway(app_run)
    if received:
        pytest.skip(
            f"{UNCHECKED}: the fault {app_run.fault} was sent to the application's callback and {received}, so it "
            f"received it; but the browser's load of it got no HTTP answer from the application ({why}), so nothing "
            "shows whether it accepted the sign-in (a redemption or a new sign-in is no acceptance): a refusal "
            "cannot be told from an acceptance"
        )
    pytest.skip(
        f"{UNCHECKED}: the fault {app_run.fault} was sent to the application's callback, but the browser's load of it "
        f"got no HTTP answer from the application ({why}), so nothing shows that the application received it: "
        "a refusal cannot be told from a callback that never arrived"
        + (" (a native application's loopback listener listens only while its sign-in is pending)" if native else "")
    )


def _received_anyway(app_run: AppRun) -> str:
    """What shows that the application received a faulty callback whose load got no answer, though not what it did
    with it (_acted_on judges that): it redeemed the callback's code, or sent the browser to a new sign-in after it
    (SignIn.restarted, this browser's own requests); else ""."""
    code = _faulted_callback(app_run).location_params.get("code")
    if code and app_run.last.redemptions_of(code):
        return "the stand-in's log shows that the application redeemed its code"
    if app_run.sign_ins[-1].restarted:
        return "the application sent the browser to a new sign-in after it"
    return ""


def _other_browsers_callback_delivered(app_run: AppRun, callback) -> bool:
    """The callback delivered to this browser is the stand-in's answer to the other browser's authorization
    request (its code, issued for that request's code_challenge and nonce), and this browser's own sign-in
    sent an authorization request of its own. Where the two requests carry the same state, code_challenge
    and nonce (or none), nothing in a callback tells one browser's sign-in from the other's: the rule has
    nothing to check (APPC-03 or APPC-05 judges the state)."""
    sign_in = app_run.sign_ins[-1]
    held = sign_in.other_browser_callback
    if held is None or not sign_in.own_request:
        return False
    own = dict(parse_qsl(urlsplit(sign_in.own_request).query))
    other = dict(callback.query)
    require(
        any(own.get(name) != other.get(name) for name in ("state", "code_challenge", "nonce")),
        "the application sent both browsers' sign-ins the same state, code_challenge and nonce (or none): nothing in "
        "a callback can tell one browser's sign-in from another's (APPC-03, APPC-05)",
    )
    return bool(held.params.get("code")) and held.params.get("code") == callback.location_params.get("code")


@then("the stand-in refused the application's token request")
def token_request_refused(application: Application, app_run: AppRun) -> None:
    """The application redeemed the faulty sign-in's code and the stand-in answered that redemption with
    invalid_grant (HTTP 400): the refusal reached it. One that never redeemed the code never met the refusal."""
    callback = _faulted_callback(app_run)
    _received_by_the_application(application, app_run)
    code = callback.location_params.get("code")
    redemptions = app_run.last.redemptions_of(code) if code else []
    require(
        redemptions,
        lambda: (
            f"the application did not redeem the code of the sign-in with {app_run.fault}, so the stand-in's refusal "
            "of its token request never reached it; see the attached requests"
        ),
    )
    # a redemption refused for its client authentication (invalid_client) met no fault: the one after it, sent again
    # otherwise authenticated (x/oauth2's AuthStyleAutoDetect), is the one the fault answered, as APPC-23 counts
    authenticated = [r for r in redemptions if (r.response_json or {}).get("error") != "invalid_client"]
    first = (authenticated or redemptions)[0]
    # refused before the fault could be (its client authentication, invalid_client): blocked by the rule that judges
    # how it authenticates (APPC-10), which this one needs
    require(
        first.status == 400 and (first.response_json or {}).get("error") == "invalid_grant",
        lambda: (
            f"the stand-in refused the application's token request for another cause first (HTTP {first.status}, "
            f"{(first.response_json or {}).get('error')}), so the fault {app_run.fault} never came"
        ),
    )


@then("the stand-in's token response carried the fault")
def id_token_fault_delivered(application: Application, stand_in: SandboxServer, app_run: AppRun) -> None:
    """The code was redeemed (the application cannot know the ID token is bad before it has it),
    and the ID token it got shows the fault."""
    redeemed = [r for r in app_run.last.grants("authorization_code") if r.status == 200]
    require(redeemed, lambda: _not_redeemed(application, app_run))
    id_token = (redeemed[0].response_json or {}).get("id_token")
    require(id_token, "the code redemption's response carries no ID token: did the application ask for openid?")
    claims = unverified_claims(str(id_token))  # require() raised had there been none
    nonces = [a.param("nonce") for a in app_run.last.authorization_requests]
    if app_run.fault in NONCE_FAULTS and not any(nonces):
        pytest.skip(
            "not applicable: the application sent no nonce, and OpenID Connect Core 3.1.3.7 step 11 asks for "
            'the nonce check only "If a nonce value was sent in the Authentication Request"'
        )
    delivered = {
        "id-token-iss-wrong": claims.get("iss") == extended_issuer(stand_in.issuer),
        "id-token-aud-wrong": claims.get("aud") == ["another-client"],
        "id-token-aud-suffixed": claims.get("aud") == f"{application.client_id}-evil",
        "id-token-aud-prefixed": claims.get("aud") == f"x{application.client_id}",
        "id-token-aud-other-azp": claims.get("aud") == ["another-client"]
        and claims.get("azp") == application.client_id,
        "id-token-expired": claims.get("exp", 0) < time.time(),
        # expired beyond the widest leeway a client library gives by default (10 minutes)
        "id-token-expired-recently": claims.get("exp", 0) < time.time() - 600,
        "id-token-nonce-wrong": claims.get("nonce") not in nonces,
        "id-token-nonce-missing": "nonce" not in claims,
    }[str(app_run.fault)]  # set by the When step that injected it
    check(delivered, f"the ID token the stand-in issued does not show the fault {app_run.fault}")


def _not_redeemed(application: Application, app_run: AppRun) -> str:
    """Why the faulty ID token never reached the application: it did not redeem the code, or its sign-in never
    reached the callback within drive.timeout, and then the application had no code to redeem (okta-auth-js
    at load 41: the authorization request came at +50 s of the rule's wait, no callback within 20 s)."""
    sign_in = app_run.sign_ins[-1] if app_run.sign_ins and app_run.mode == "browser" else None
    # no callback and no earlier end of the watch (the stand-in's error page): drive.timeout ran out
    if sign_in is not None and sign_in.callback_status is None and not sign_in.watch:
        return (
            f"the sign-in with {app_run.fault} had not reached the application's callback within the "
            f"{application.drive.timeout:g} s drive.timeout (watched {sign_in.seconds:.0f} s), so the application had "
            f"no code to redeem and the faulty ID token never reached it: {drive_timeout_ran_out()}; see the "
            "attached requests"
        )
    return (
        f"the application did not redeem the code of the sign-in with {app_run.fault}, so the faulty "
        "ID token never reached it; see the attached requests"
    )


def _accepted(request) -> str:
    """What accepting the faulty response was: for a warning-level rule, whose sentence binds only the
    clients that support its document (RFC 9207 binds those that support it), no obligation of every
    application is claimed."""
    properties = dict(request.node.user_properties)
    rule = properties.get("rule") or {}
    if rule.get("level") != WARNING:
        because = MUST_REFUSE_BECAUSE.get(str(properties.get("fault")))
        if because == STATE_VALIDATION:
            because = state_binds(request.getfixturevalue("app_run"))
        if properties.get("fault") == OTHER_BROWSER:
            because = f"{because}; {other_browser_bound_by(request.getfixturevalue('app_run'))}"
        return "it accepted a response it must refuse" + (f" ({because})" if because else "")
    sources = application_rule_sources(rule["rule_id"])
    document = sources[0]["source"].split(" section")[0] if sources else "the rule's sentence"
    return f"it accepted a response that a client supporting {document} must refuse"


def other_browser_bound_by(app_run: AppRun) -> str:
    """What bound this browser's sign-in that another browser's callback broke, by what its own authorization
    request sent (a PKCE code_challenge, a nonce, or neither: then only its state could have), and what the
    application redeemed the other browser's code with. The stand-in compared that code's verifier with its
    challenge, as Visma Connect compares every one (RFC 7636 section 4.6), so a redemption it answered was made
    with the other browser's verifier."""
    sign_in = app_run.sign_ins[-1] if app_run.sign_ins else None
    own_request = getattr(sign_in, "own_request", None)
    own = dict(parse_qsl(urlsplit(own_request).query)) if own_request else {}
    held = getattr(sign_in, "other_browser_callback", None)
    code = held.params.get("code") if held else None
    redeemed = [r for r in app_run.last.redemptions_of(code) if r.status == 200] if code else []
    if redeemed:
        how = (
            "the application redeemed that browser's code with that browser's code_verifier, which the stand-in "
            "compared with the code's challenge (RFC 7636 section 4.6)"
            if redeemed[0].param("code_verifier")
            else "the application redeemed that browser's code, which was issued without a code_challenge"
        )
    else:
        how = "the stand-in refused every redemption of that browser's code, yet the application acted signed in"
    sent = [name for name in ("code_challenge", "nonce") if own.get(name)]
    if sent:
        return f"this browser's sign-in sent a {' and a '.join(sent)}, bound to this browser alone; {how}"
    return (
        "this browser's sign-in sent neither a PKCE code_challenge nor a nonce, so only its state could bind the "
        f"callback to this browser; {how}"
    )


def _acted_on(app_run: AppRun) -> bool:
    """Whether the application did with the faulty callback what the steps after fail: called the API or userinfo
    with its tokens, or (but for another browser's callback, where a redemption is no acceptance) redeemed its code.
    A redemption of another browser's code whose answer the browser never saw shows no refusal either: the page the
    application answered with could have signed this browser in (the delivery's load ran out of drive.timeout)."""
    observed = app_run.last
    faulted = _faulted_tokens(app_run)
    used = any(carried_tokens(call) & faulted for call in observed.api_calls + observed.userinfo_calls)
    # another browser's code, or a code whose redemption the stand-in refused, redeemed is no acceptance
    return used or (app_run.fault not in (OTHER_BROWSER, TOKEN_REFUSED) and bool(_faulted_responses(app_run)))


def _faulted_responses(app_run: AppRun) -> list:
    """The token responses of the faulty response: for a callback fault, those given for its code; for an
    ID-token fault, the one that carried the faulty ID token. A new sign-in's are not among them."""
    observed = app_run.last
    if str(app_run.fault) in ID_TOKEN_FAULTS:
        return [r for r in observed.grants("authorization_code") if r.status == 200][:1]
    code = _faulted_callback(app_run).location_params.get("code")
    return observed.redemptions_of(code) if code else []


def _faulted_tokens(app_run: AppRun) -> set[str]:
    """The access, refresh and ID tokens the application got from the faulty response, and those given
    for refreshing them."""
    return app_run.last.tokens_of(_faulted_responses(app_run))


def _restart(app_run: AppRun) -> float | None:
    """When the application started a new sign-in after the faulty callback (None: it did not)."""
    callbacks = app_run.last.callbacks
    return app_run.last.restart_after(callbacks[0].at) if callbacks else None


@then("the application redeems no code")
def no_redemption(request, app_run: AppRun) -> None:
    """What counts is the faulty callback's own code: a code the stand-in gave a new sign-in the
    application started after refusing the callback is that sign-in's. A callback without a code
    (access_denied) leaves nothing to redeem: any code redemption before a new sign-in is held against it."""
    observed = app_run.last
    callback = _faulted_callback(app_run)
    code = callback.location_params.get("code")
    if code:
        redeemed = observed.redemptions_of(code)
        check(
            not redeemed,
            f"after the fault {app_run.fault} the application redeemed the faulty callback's authorization code "
            f"at the token endpoint: {_accepted(request)}",
        )
        if (late := _redeemed_after_the_watch(app_run, callback)) and app_run.baseline is not None:
            _unchecked(app_run.baseline, late)
        return
    restart = _restart(app_run)
    later_codes = {c.location_params.get("code") for c in observed.callbacks if c.at > callback.at} - {None}
    redeemed = [
        r
        for r in observed.grants("authorization_code")
        if r.at > callback.at and (restart is None or r.at < restart) and r.param("code") not in later_codes
    ]
    sent = "with no code" if redeemed and not redeemed[0].param("code") else "with a code the stand-in did not give it"
    check(
        not redeemed,
        lambda: (
            f"after the fault {app_run.fault} the callback carried no authorization code "
            f"(error={callback.location_params.get('error')}), yet the application sent {len(redeemed)} code "
            f"redemption(s) (grant_type=authorization_code) to the token endpoint, {sent}: there was nothing to redeem"
        ),
    )


def _redeemed_after_the_watch(app_run: AppRun, callback) -> str:
    """That the normal sign-in redeemed its code later after its callback than this sign-in was watched after its
    own (the sign-ins made at once: its window), so that a redemption as late was not waited for: no redemption
    seen is then no refusal (the breaker outsider's app redeemed in a background thread 12 s after its callback,
    and APPC-16/17 passed on a 2 s watch). "" where it came within the watch, or the watch's end is not known."""
    if app_run.baseline is None:  # kept by "a normal sign-in of the application redeems its code"
        return ""
    normal = app_run.baseline[1]
    watched_until = app_run.last.window[1] if app_run.last.window else None
    took = [
        redemption.at - normal_callback.at
        for normal_callback in normal.callbacks
        for redemption in normal.redemptions_of(normal_callback.location_params.get("code") or "")
    ]
    if watched_until is None or not took or min(took) <= watched_until - callback.at:
        return ""
    return (
        f"its normal sign-in redeemed its code {min(took):.1f} s after its callback, and this sign-in was watched only "
        f"{max(0.0, watched_until - callback.at):.1f} s after its own: a redemption as late would not have been seen, "
        "so that none came is no evidence that the application refused the response"
    )


@then("the application does not call the Visma API")
def no_api_call(request, app_run: AppRun) -> None:
    """The calls that count are those that carry a token of the faulty response (its access token, one
    refreshed from it, or its ID token sent as the bearer token), whenever they came: that is the evidence
    that the application accepted this response. A call with no token (a health ping of the API), or with a
    token the stand-in gave another sign-in, shows nothing of what the application did with this one, and a
    new sign-in the application started leads to tokens of its own."""
    observed = app_run.last
    faulted = _faulted_tokens(app_run)
    calls = [call for call in observed.api_calls + observed.userinfo_calls if carried_tokens(call) & faulted]
    as_id_token = any(carried_tokens(c) & faulted & observed.id_tokens for c in calls)
    check(
        not calls,
        lambda: (
            f"after the fault {app_run.fault} the application called "
            f"{'the Visma API' if any(c in observed.api_calls for c in calls) else 'userinfo'} with "
            + (
                "the ID token of the faulty response as its bearer token"
                if as_id_token
                else "an access token of the faulty response"
            )
            + f": {_accepted(request)}"
        ),
    )


@then("the application does not call the Visma API with the access token of the faulty response")
def no_api_call_with_faulty_token(request, app_run: AppRun) -> None:
    """OpenID Connect Core 3.1.3.7 forbids using "the information that failed to validate"; no sentence
    forbids asking the issuer's userinfo endpoint before the ID token is validated (django-allauth
    does, then refuses the ID token). So a userinfo call alone is no acceptance of a faulty ID token;
    the Visma API called with that response's access token is, as a signed-in page is."""
    observed = app_run.last
    faulty = faulty_access_tokens(observed)
    used = [call for call in observed.api_calls if bearer_of(call) in faulty]
    check(
        not used,
        f"after the fault {app_run.fault} the application called the Visma API ({used[0].path if used else ''}) "
        f"with the access token of the response whose ID token failed validation: {_accepted(request)}",
    )


@then("the application does not show that the user signed in")
def not_signed_in(request, application, app_run):
    """Its signed-in marker before any new sign-in: the browser does not go through a new sign-in
    the application starts after refusing the response (appside.browser_driver ends the watch
    there), so a marker it saw is the faulty sign-in's."""
    check(
        not app_run.sign_ins[-1].finished,
        f"after the fault {app_run.fault} the application showed {application.drive.shows_signed_in()}: "
        f"{_accepted(request)}",
    )


@then("a normal sign-in shows what accepting looks like")
def acceptance_visible(application, app_run):
    """A refusal seen as nothing happening counts only where a normal sign-in shows something: the
    signed-in marker, or an API or userinfo call. An application that shows and calls nothing
    either way cannot be judged: that is no pass."""
    sign_in, observed = app_run.baseline
    # after an ID-token fault a userinfo call is no acceptance (no_api_call_with_faulty_token), so it is
    # no evidence of what accepting looks like either
    counts_userinfo = not str(app_run.fault).startswith("id-token-")
    # a call with a token the stand-in gave that sign-in: one with no token (a health ping) accepts nothing
    given = observed.tokens_of([r for r in observed.token_requests if r.status == 200])
    calls = [
        e.path
        for e in observed.api_calls + (observed.userinfo_calls if counts_userinfo else [])
        if carried_tokens(e) & given
    ]
    evidence = [f"it showed {application.drive.shows_signed_in()}"] if sign_in.finished else []
    evidence += [f"it called {', '.join(sorted(set(calls)))}"] if calls else []
    if not evidence:
        _unchecked(
            app_run.baseline,
            f"its normal sign-in neither showed {application.drive.shows_signed_in()} nor called the Visma API"
            f"{' or userinfo' if counts_userinfo else ''}, so nothing tells a response it "
            "refused from one it accepted",
        )
    allure.attach(
        f"after a good response {' and '.join(evidence)}; after the fault {app_run.fault} it did neither",
        name="evidence of the refusal",
        attachment_type=allure.attachment_type.TEXT,
    )


@then("the application shows an error page, not a server error")
def error_page(request: pytest.FixtureRequest, application: Application, app_run: AppRun) -> None:
    sign_in = app_run.sign_ins[-1]
    if application.drive.mode == "manual":
        # The suite sees no browser in manual mode: its prompt asked the person whether the application
        # showed that they are signed in (y) or an error (n); that answer is the evidence.
        check(
            not sign_in.finished,
            "the person answered that the application showed that they are signed in after the user declined",
        )
        allure.attach(
            "manual mode: the suite cannot see the application's callback page; the person answered that the "
            "application showed an error (n) after the user declined",
            name="evidence of the error shown",
            attachment_type=allure.attachment_type.TEXT,
        )
    else:
        check(sign_in.callback_status is not None, "the application's callback page never loaded")
        check(
            sign_in.callback_status < 500,
            f"the application's callback answered HTTP {sign_in.callback_status}: "
            "a server error, not an error shown to the user",
        )
        callback = _faulted_callback(app_run)
        status, line = logged_answer(_own_logs(request, application), callback) or ("", "")
        if FORM_POST_NOTE in callback.notes and status and int(status) >= 500:
            require(False, FORM_POST_UNMATCHED.format(status=status, line=line, browser=sign_in.callback_status))
        check(
            not status or int(status) < 500,
            lambda: (
                f"the application's own access log has its callback answered HTTP {status} ({line!r}), "
                f"though the browser got HTTP {sign_in.callback_status}: the page was sent before the server failed "
                "(Apache mod_auth_openidc 2.4 sends its error page, then returns 500, and Apache writes its own "
                "500 page after it): a server error, not an error shown to the user"
            ),
        )
        check(
            not sign_in.finished,
            f"the application showed {application.drive.shows_signed_in()} after the user declined",
        )
    assert app_run.baseline is not None  # kept by "a normal sign-in of the application redeems its code"
    baseline_sign_in = app_run.baseline[0]
    if not baseline_sign_in.finished:
        _unchecked(
            app_run.baseline,
            f"its normal sign-in did not show {application.drive.shows_signed_in()} either, so its absence "
            "after the declined sign-in shows nothing",
        )


# A request line and its status as access logs write them: Apache's and nginx's common and combined formats,
# werkzeug's, gunicorn's and uvicorn's ("GET /cb?error=access_denied&state=... HTTP/1.1" 500)
LOG_LINE_SHOWN = 300  # characters of a log line quoted in a message
ACCESS_LOG_LINE = re.compile(r'"(?P<method>GET|POST) (?P<target>\S+) HTTP/\d(?:\.\d)?" (?P<status>[1-5]\d\d)\b')


def _own_logs(request: pytest.FixtureRequest, application: Application) -> str:
    """What the application wrote in this run: the launched application's output, and drive.output_file."""
    texts = []
    launched = getattr(request.config, "launched", None)
    if launched is not None:
        texts.append(launched.output())
    if application.drive.output_file:
        texts.append(read_from(application.drive.output_file, getattr(request.config, "output_file_start", 0))[0])
    return "\n".join(texts)


def logged_answer(log: str, callback) -> tuple[str, str] | None:
    """The status the application's own access log gives the faulty callback (a GET to its redirect URI with
    this sign-in's state), and the line, masked and bounded; None where no line names it. A server may send
    its page before it fails (the browser then sees that page's status): its own log has what it ended with.
    A form_post callback (a POST whose state is in its body, which no access log writes) is no line of its
    own: the worst status of the log's POSTs to the redirect URI stands for it (FORM_POST_UNMATCHED)."""
    delivered = urlsplit(callback.delivered_to)
    if FORM_POST_NOTE in callback.notes:
        posted = [
            (found, line)
            for found, line in _logged_requests(log)
            if found["method"] == "POST" and urlsplit(found["target"]).path == delivered.path
        ]
        if not posted:
            return None
        worst, line = max(posted, key=lambda pair: int(pair[0]["status"]))
        return worst["status"], REDACTOR.scrub(line.strip())[:LOG_LINE_SHOWN]
    state = callback.location_params.get("state")
    if not state or not delivered.path:
        return None
    for found, line in _logged_requests(log):
        target = urlsplit(found["target"])
        if target.path == delivered.path and ("state", state) in parse_qsl(target.query, keep_blank_values=True):
            return found["status"], REDACTOR.scrub(line.strip())[:LOG_LINE_SHOWN]
    return None


def _logged_requests(log: str):
    """(match of ACCESS_LOG_LINE, its line) of each request line the log has, in order."""
    for line in log.splitlines():
        for found in ACCESS_LOG_LINE.finditer(line):
            yield found, line


# Where the callback came by form_post and the log has a POST to the redirect URI answered with a server error:
# each form_post callback is the same line (the path, no state), so the log cannot say whether it was this one
FORM_POST_UNMATCHED = (
    "the callback came by form_post, a POST to the redirect URI whose state is in its body, which an access log "
    "does not write, so the application's own log cannot tell this sign-in's callback from the others': it has a "
    "POST to the redirect URI answered HTTP {status} ({line!r}) and the browser got HTTP {browser}, which a server "
    "that sends its page before it fails (Apache mod_auth_openidc) does not show. A form_post callback's status "
    "cannot be read from the access log where another one failed; with the query response mode it can"
)


def _unchecked(normal: tuple, why: str) -> None:
    """No evidence either way. Where the stand-in refused one of the normal sign-in's requests, the
    rule that judges that request explains it (this scenario is blocked by it: require); where it
    refused nothing, the application shows nothing the suite can read, and the rule could not be
    checked (skipped with that reason, which leaves a blocker or critical rule incomplete), naming what
    kept the stand-in's answer from it where the evidence shows that (appside.steps.unread_answers)."""
    sign_in, baseline = normal
    unread = answer_unread(sign_in, baseline)
    why += f": {unread}" if unread else ""
    refused = [e for e in baseline.token_requests if e.status >= 400] + [
        e for e in baseline.callbacks if "error" in e.location_params
    ]
    refused += [e for e in baseline.authorization_requests if e.status >= 400]
    require(not refused, f"{why}; the stand-in refused its {refused[0].method} {refused[0].path}" if refused else "")
    pytest.skip(f"{UNCHECKED}: {why}")


@when("the stand-in issues a short-lived access token and the application uses the API after it expired")
def expired_access_token(
    request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun
) -> None:
    if application.is_interactive and not application.drive.use_api_url:
        skip_for_missing_application_data("drive.use_api_url", USE_API_URL_MISSING)
    record_fault(request, "short-lived-access-token")
    app_run.fault = "short-lived-access-token"
    if not application.is_interactive:
        _run_service_past_expiry(request.config, stand_in, application.access_token_lifetime)

    def expire_then_use(session):
        stand_in.faults.inject("short-lived-access-token")
        first = session.sign_in()
        effort.sleep(application.access_token_lifetime + PAST_EXPIRY)
        return [first, session.open(application.drive.use_api_url)]

    observe_session_once(request.config, stand_in, app_run, expire_then_use, EXPIRY)


def _run_service_past_expiry(config, stand_in: SandboxServer, lifetime: int) -> None:
    """A service runs, then runs again once the access token it holds after that run has expired:
    the one it was given in that run, or the one it kept from before and used (a service may keep its
    token until it expires, RFC 6749 section 1.5; the stand-in issues a service's tokens for
    `lifetime` seconds in every scenario, issuer.access_token_lifetime). Its first run is one before which the
    stand-in had issued no token, so that a token the service kept is not used a moment before or after its exp,
    whose whole second a client cannot know (PAST_EXPIRY): the normal run (appside.steps.service),
    where it came first and nothing was issued since, or else a run once every token the stand-in
    issued before has clearly expired. Done once per run of the suite (observe_session_once reads it)."""
    key = f"session: {EXPIRY}"
    if key in _baseline:
        return
    session = driver(config).session()
    normal = _baseline.get("service")
    if normal is not None and first_service_run() and ISSUED_TOKENS.last_expiry <= (held_until(normal[1]) or 0.0):
        first, before = normal
    else:
        effort.sleep(max(0.0, ISSUED_TOKENS.last_expiry + PAST_EXPIRY - time.time()))
        first, before = observe(stand_in, session.run)
    held = held_until(before)
    # never longer than a token issued now would take to expire: a token kept from before this run of the
    # suite, valid for longer, leaves the rule unchecked (renewed_service says so)
    wait = min(held - time.time(), lifetime) if held is not None else lifetime
    effort.sleep(max(0.0, wait) + PAST_EXPIRY)
    second, after = observe(stand_in, session.run)
    for run, observed in ((first, before), (second, after)):
        note_failed_run(config, run, observed, lifetime)
    _baseline[key] = ([first, second], Observed(before.entries + after.entries, stand_in.issuer))


def held_until(observed: Observed) -> float | None:
    """When the access token a service holds expires (time.time()): the latest expiry of the tokens
    the stand-in issued in `observed` and of those its API accepted there (their exp, as the API
    noted it); None where it got none and used none that was valid."""
    expiries = list(token_expiries(observed).values())
    expiries += [float(c.notes["token_exp"]) for c in observed.api_calls if c.notes.get("bearer") == "valid"]
    return max(expiries, default=None)


@then("the application does not go on with an expired access token")
def no_expired_token(application: Application, app_run: AppRun) -> None:
    """RFC 6750 section 3.1: a token refused as invalid_token (expired) is one the client "MAY" renew,
    then retry the call with: an application that learns of the expiry from the refusal (many libraries
    refresh on a 401) keeps the contract. One that used its expired token and never renewed it, or
    never got through with a new one, left the user's call refused: RFC 6749 section 1.5's new access
    token was never obtained, and no sentence lets it go on with the expired one (a warning-level rule).
    An expired token that reached the stand-in in another scenario's sign-ins is the same evidence (an
    application that keeps the token it got at sign-in while its framework refreshes another one sends it
    only once a refreshed token expires too): judged there the same way, naming that scenario."""
    observed = app_run.last
    _judge_expired_uses(application, observed, "")
    for title, _, elsewhere in every_flow_made():
        if elsewhere is not observed and title != EXPIRY:
            _judge_expired_uses(application, elsewhere, f" in the sign-in {_flow_named(title)}")


def _flow_named(title: str) -> str:
    """A flow the suite made, named by the scenario step it was made for where that says more than its title."""
    return f"{title!r} (made for the step {TWO_EXPIRIES_STEP!r})" if title == TWO_EXPIRIES else repr(title)


def _judge_expired_uses(application: Application, observed: Observed, where: str) -> None:
    expired = expired_uses(observed)
    renewal, retries = _renewed_then_retried(observed, expired)
    if expired and renewal and retries:
        allure.attach(
            f"the application called {', '.join(sorted({c.path for c in expired}))} {len(expired)} time(s){where} "
            f"with an access token that had expired, was refused, then {renewal} and called the API again with a "
            f"valid access token ({len(retries)} call(s)): RFC 6750 section 3.1 lets a client request a new access "
            "token and retry",
            name="an expired access token renewed after its refusal",
            attachment_type=allure.attachment_type.TEXT,
        )
        return
    check(
        not expired,
        f"the application called {', '.join(sorted({c.path for c in expired}))} {len(expired)} time(s){where} with "
        f"an access token that had expired (expires_in said {application.access_token_lifetime} seconds), and "
        + (
            f"{renewal} but never called the API again with a valid access token"
            if renewal
            else "after the last refusal never refreshed it, fetched a new one nor signed in again"
        )
        + f": {'the call the user made' if application.is_interactive else 'the API call the service made'} stayed "
        "refused (RFC 6749 section 1.5: a new access token when the current "
        "one expires; RFC 6750 section 3.1: the client may request a new one and retry)",
    )


def _renewed_then_retried(observed: Observed, expired: list) -> tuple[str, list]:
    """What the application did to renew its access token after its last use of an expired one (a
    refresh, a new client_credentials token, a new sign-in: "" where none), and its calls with a valid
    access token after that renewal began (the retry)."""
    if not expired:
        return "", []
    last = max(call.at for call in expired)
    renewals = {
        "refreshed the token": [r for r in observed.grants("refresh_token") if r.at > last and r.status == 200],
        "fetched a new token": [r for r in observed.grants("client_credentials") if r.at > last and r.status == 200],
        "signed in again": [r for r in observed.authorization_requests if r.at > last],
    }
    seen = {what: requests for what, requests in renewals.items() if requests}
    if not seen:
        return "", []
    began = min(r.at for requests in seen.values() for r in requests)
    expiries = token_expiries(observed)
    retries = [
        call
        for call in observed.api_calls + observed.userinfo_calls
        if call.at > began
        and call.status < 400
        and (call.notes.get("bearer") == "valid" or expiries.get(bearer_of(call) or "", 0) > call.at)
    ]
    return " and ".join(seen), retries


@then("after the expiry it refreshed the token, signed in again or used the API with a valid token")
def renewed(application: Application, app_run: AppRun) -> None:
    """RFC 6749 section 1.5: a new access token "when the current access token becomes invalid or
    expires", by a refresh or (no refresh token) a new sign-in; nothing there asks the application
    to go back to the API by itself afterwards. So any of these is the evidence that it did not go
    on with the expired token; where it sent nothing after the expiry, nothing tells either way."""
    if not application.is_interactive:
        return _renewed_service(application, app_run)
    observed = app_run.last
    issued = [r for r in observed.token_requests if r.status == 200]
    skip_unless_a_sign_in_started(application, app_run.sign_ins, [observed])
    require(issued, "the application got no token at all; see the attached requests")
    misused = id_token_as_bearer(observed)
    if misused:  # a new sign-in after the API refused it answers that refusal, not the expiry
        pytest.skip(f"{UNCHECKED}: {misused}: nothing shows what it does once its access token expires")
    if app_run.sign_ins and getattr(app_run.sign_ins[0], "finished", True) is False and not _used_at_the_api(observed):
        # its callback broke after the token request: the application never held the token, and the new
        # sign-in its page starts when opened again is no renewal of it. A call with an issued token that the
        # stand-in answered shows it held it all the same (a native app's loopback page says only "you may close
        # this window" before the app redeems the code and calls the API)
        no_evidence(
            application,
            app_run,
            f"the sign-in given the short-lived access token did not show {application.drive.shows_signed_in()}, "
            "so the application never showed that it held the token, and what it did after the expiry shows nothing",
        )
    first, expiry = issued[0].at, issued[0].at + application.access_token_lifetime
    # opened after the expiry, the page that uses the API (drive.use_api_url) led to a refresh or a new sign-in: that
    # renewal is the evidence, API call or none; else only a use of a token at the API tells anything
    if not [r for r in observed.grants("refresh_token") + observed.authorization_requests if r.at > expiry]:
        skip_unless_the_api_was_called(
            application,
            app_run,
            [observed],
            EXPIRED_TOKEN_USE,
            app_run.sign_ins[:1],
            "after the access token expired",
            expiring=True,
        )
    expiries = token_expiries(observed)
    evidence = {
        "refreshed the access token": [r for r in observed.grants("refresh_token") if r.at > first],
        "started a new sign-in (an authorization request)": [
            r for r in observed.authorization_requests if r.at > first
        ],
        "called the Visma API or userinfo with a valid access token": _valid_calls_after(observed, expiry, expiries),
    }
    _renewal_seen(
        observed,
        expiry,
        evidence,
        expired=expired_uses(observed),
        issued=first,
        lifetime=application.access_token_lifetime,
    )


def _used_at_the_api(observed: Observed) -> bool:
    """Whether the application called the Visma API or userinfo with an access token the stand-in issued in `observed`
    and was answered: it held that token, whatever its pages showed."""
    issued = token_expiries(observed)
    return any(
        (bearer_of(call) or "") in issued and call.status < 400 for call in observed.api_calls + observed.userinfo_calls
    )


# what APPC-20 cannot tell where the application used no access token at the API (or userinfo) in its runs and
# renewed none after the expiry: a service's new token alone is no evidence (it fetches one in each run, whether
# or not it would use an expired one), nor an interactive application's refresh before the expiry
EXPIRED_TOKEN_USE = "whether it would use an access token that expired"


def _valid_calls_after(observed: Observed, expiry: float, expiries: dict) -> list:
    return [
        call
        for call in observed.api_calls + observed.userinfo_calls
        if call.at > expiry
        and (call.notes.get("bearer") == "valid" or expiries.get(bearer_of(call) or "", 0) > call.at)
    ]


def _renewed_service(application: Application, app_run: AppRun) -> None:
    """A service: the evidence is what its second run did once the token it held after its first run
    (issued then, or kept from before and used then) had expired: it fetched a new token, or called
    the API with a valid one. A service that fetches a token per run and one that keeps it until it
    expires both show it; one that keeps using its token past its expiry fails the step before."""
    observed = app_run.last
    first_run, second_run = app_run.sign_ins[-2:]
    held = held_until(Observed([e for e in observed.entries if e.at < second_run.started]))
    require(
        held is not None,
        lambda: (
            "in its first run the service got no access token from the stand-in and used none that was valid: "
            + why_no_token(observed, application, [first_run, second_run])
        ),
    )
    assert held is not None  # require() raised otherwise
    if second_run.started <= held:
        pytest.skip(
            f"{UNCHECKED}: the access token the service used in its first run was still valid "
            f"{held - second_run.started:.0f} s after its second run began (it was not issued in this run "
            f"of the suite, whose service tokens live {application.access_token_lifetime} s), so nothing showed what "
            "it does once its token expires"
        )
    for number, run in enumerate((first_run, second_run), 1):
        allure.attach(
            run.detail, name=f"the service's own outcome, run {number}", attachment_type=allure.attachment_type.TEXT
        )
    skip_unless_the_api_was_called(application, app_run, [observed], EXPIRED_TOKEN_USE)
    evidence = {
        "fetched a new access token": [r for r in observed.grants("client_credentials") if r.at > held],
        "called the Visma API with a valid access token": _valid_calls_after(observed, held, token_expiries(observed)),
    }
    _renewal_seen(observed, held, evidence, _second_run(application, second_run), expired_uses(observed))


def _second_run(application: Application, run) -> str:
    """How a service's second run ended, for a message that finds nothing after the expiry: a run that did
    not finish within drive.timeout was stopped, maybe before it sent anything (a slow start under load)."""
    fix = (
        f"; raise drive.timeout (now {application.drive.timeout:g} s) if the service needs longer"
        if not run.succeeded and "did not finish" in run.detail
        else ""
    )
    return f": its second run {run.detail.removeprefix('`' + (application.drive.command or '') + '` ')}{fix}"


def _renewal_seen(
    observed: Observed,
    expiry: float,
    evidence: dict,
    outcome: str = "",
    expired: tuple | list = (),
    issued: float | None = None,
    lifetime: int = 0,
) -> None:
    """`expired`: the calls made with an expired access token (refused, then renewed: no_expired_token judged
    them), so the evidence says they were made rather than that none was; `issued`: when the token was, and
    `lifetime` how long it lived."""
    seen = [f"{what} ({_timed(requests, expiry, issued)})" for what, requests in evidence.items() if requests]
    if not seen:
        after = [e for e in observed.entries if e.at > expiry]
        pytest.skip(
            f"{UNCHECKED}: after the access token expired the application "
            + (
                "sent the stand-in nothing at all (no refresh, no new sign-in, no API call), so nothing tells "
                f"whether it would have used the expired token{outcome}"
                if not after
                else f"neither refreshed it, signed in again nor used a valid token (it sent "
                f"{', '.join(sorted({f'{e.method} {e.path}' for e in after}))}), and it did not use the expired "
                "one: nothing tells what it does with an expired token"
            )
        )
    given = f"given an access token that expired {lifetime} s after it was issued, " if issued else ""
    allure.attach(
        (
            f"{given}after it expired the application sent it {len(expired)} time(s) "
            f"({', '.join(sorted({c.path for c in expired}))}), was refused, then {'; '.join(seen)}: a renewal "
            "after the refusal, as RFC 6750 section 3.1 allows"
            if expired
            else f"{given}the application {'; '.join(seen)}, and never used the expired one"
        ),
        name="evidence of the renewal",
        attachment_type=allure.attachment_type.TEXT,
    )


def _timed(requests: list, expiry: float, issued: float | None) -> str:
    """When the requests came, as they came: before the access token expired (a client may refresh ahead of
    the expiry, e.g. mod_auth_openidc's OIDCRefreshAccessTokenBeforeExpiry) or after it."""
    before = sorted(r.at for r in requests if r.at <= expiry)
    after = sorted(r.at for r in requests if r.at > expiry)
    parts = []
    if before:
        first = f", the first {before[0] - issued:.1f} s after it was issued" if issued is not None else ""
        parts.append(f"{len(before)} request(s) before it expired{first}")
    if after:
        parts.append(f"{len(after)} request(s) after it expired, the first {after[0] - expiry:.1f} s after")
    return " and ".join(parts)
