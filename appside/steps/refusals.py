"""What an application must refuse: the stand-in answers a sign-in wrongly on purpose, and the
application fails the rule if it then redeems the code or calls the API. The absence of the
follow-up request within `drive.settle` seconds is the evidence, as in the OpenID Foundation's
relying-party tests; each scenario first proves that the fault reached the application."""

import time

import allure
import pytest
from pytest_bdd import given, then, when

from appside import effort
from appside.application import Application
from appside.observed import Observed, bearer_of, expired_uses, token_expiries, unverified_claims
from appside.record import UNCHECKED, application_rule_sources
from appside.steps.sign_ins import AppRun, observe_session_once, record_fault
from sandbox import SandboxServer
from sandbox.faults import PAST_EXPIRY, SHORT_LIFETIME
from sandbox.instrumentation import OTHER_ISSUER
from suite.configuration.rules import WARNING
from suite.verdict.checks import check, require

# The ID token faults that only an application that sent a nonce must refuse (OpenID Connect Core 3.1.3.7 step 11)
NONCE_FAULTS = ("id-token-nonce-wrong", "id-token-nonce-missing")
# What binds an application that sent a state to refuse a response with another state or none, PKCE or a
# nonce notwithstanding: RFC 9700 section 2.1 says what must protect the callback, not how a response is validated
STATE_VALIDATION = (
    'OpenID Connect Core 1.0 section 3.1.2.7: "the Client MUST validate the response according to RFC 6749, '
    'especially Sections 4.1.2 and 10.12", and RFC 6749 section 4.1.2 has the response\'s state "REQUIRED if the '
    '"state" parameter was present in the client authorization request. The exact value received from the '
    'client."; PKCE or a nonce (RFC 9700 section 2.1) does not lift that'
)
MUST_REFUSE_BECAUSE = {"callback-state-wrong": STATE_VALIDATION, "callback-state-missing": STATE_VALIDATION}


def _faulted_callback(app_run):
    callbacks = app_run.last.callbacks
    require(
        callbacks,
        f"the sign-in never reached the stand-in's callback, so the fault {app_run.fault} was not "
        "delivered to the application; see the attached requests",
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


@then("the stand-in's callback carried the fault")
def fault_delivered(app_run: AppRun) -> None:
    callback = _faulted_callback(app_run)
    params = callback.location_params
    sent_state = dict(callback.query).get("state")
    delivered = {
        "callback-state-wrong": "state" in params and params["state"] != sent_state,
        "callback-state-missing": "state" not in params,
        "callback-iss-wrong": params.get("iss") == OTHER_ISSUER,
        "callback-iss-missing": "iss" not in params,
        "access-denied": params.get("error") == "access_denied",
    }[str(app_run.fault)]  # set by the When step that injected it
    check(delivered, f"the stand-in's callback does not show the fault {app_run.fault}")


@then("the stand-in's token response carried the fault")
def id_token_fault_delivered(app_run: AppRun) -> None:
    """The code was redeemed (the application cannot know the ID token is bad before it has it),
    and the ID token it got shows the fault."""
    redeemed = [r for r in app_run.last.grants("authorization_code") if r.status == 200]
    require(
        redeemed,
        f"the application did not redeem the code of the sign-in with {app_run.fault}, so the faulty "
        "ID token never reached it; see the attached requests",
    )
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
        "id-token-iss-wrong": claims.get("iss") == OTHER_ISSUER,
        "id-token-aud-wrong": claims.get("aud") == ["another-client"],
        "id-token-expired": claims.get("exp", 0) < time.time(),
        "id-token-nonce-wrong": claims.get("nonce") not in nonces,
        "id-token-nonce-missing": "nonce" not in claims,
    }[str(app_run.fault)]  # set by the When step that injected it
    check(delivered, f"the ID token the stand-in issued does not show the fault {app_run.fault}")


def _accepted(request) -> str:
    """What accepting the faulty response was: for a warning-level rule, whose sentence binds only the
    clients that support its document (RFC 9207 binds those that support it), no obligation of every
    application is claimed."""
    properties = dict(request.node.user_properties)
    rule = properties.get("rule") or {}
    if rule.get("level") != WARNING:
        because = MUST_REFUSE_BECAUSE.get(str(properties.get("fault")))
        return "it accepted a response it must refuse" + (f" ({because})" if because else "")
    sources = application_rule_sources(rule["rule_id"])
    document = sources[0]["source"].split(" section")[0] if sources else "the rule's sentence"
    return f"it accepted a response that a client supporting {document} must refuse"


@then("the application redeems no code")
def no_redemption(request, app_run: AppRun) -> None:
    observed = app_run.last
    code = _faulted_callback(app_run).location_params.get("code")
    redeemed = observed.redemptions_of(code) if code else observed.grants("authorization_code")
    check(
        not redeemed,
        f"after the fault {app_run.fault} the application redeemed the authorization code at the "
        f"token endpoint: {_accepted(request)}",
    )


@then("the application does not call the Visma API")
def no_api_call(request, app_run: AppRun) -> None:
    observed = app_run.last
    check(
        not observed.api_calls and not observed.userinfo_calls,
        f"after the fault {app_run.fault} the application called "
        f"{'the Visma API' if observed.api_calls else 'userinfo'}: {_accepted(request)}",
    )


@then("the application does not show that the user signed in")
def not_signed_in(request, application, app_run):
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
    calls = [e.path for e in observed.api_calls + observed.userinfo_calls]
    evidence = [f"it showed {application.drive.shows_signed_in()}"] if sign_in.finished else []
    evidence += [f"it called {', '.join(sorted(set(calls)))}"] if calls else []
    if not evidence:
        _unchecked(
            observed,
            f"its normal sign-in neither showed {application.drive.shows_signed_in()} nor called the Visma API "
            "or userinfo, so nothing tells a response it refused from one it accepted",
        )
    allure.attach(
        f"after a good response {' and '.join(evidence)}; after the fault {app_run.fault} it did neither",
        name="evidence of the refusal",
        attachment_type=allure.attachment_type.TEXT,
    )


@then("the application shows an error page, not a server error")
def error_page(application: Application, app_run: AppRun) -> None:
    sign_in = app_run.sign_ins[-1]
    check(sign_in.callback_status is not None, "the application's callback page never loaded")
    check(
        sign_in.callback_status < 500,
        f"the application's callback answered HTTP {sign_in.callback_status}: "
        "a server error, not an error shown to the user",
    )
    check(not sign_in.finished, f"the application showed {application.drive.shows_signed_in()} after the user declined")
    assert app_run.baseline is not None  # kept by "a normal sign-in of the application redeems its code"
    baseline_sign_in, baseline = app_run.baseline
    if not baseline_sign_in.finished:
        _unchecked(
            baseline,
            f"its normal sign-in did not show {application.drive.shows_signed_in()} either, so its absence "
            "after the declined sign-in shows nothing",
        )


def _unchecked(baseline: Observed, why: str) -> None:
    """No evidence either way. Where the stand-in refused one of the normal sign-in's requests, the
    rule that judges that request explains it (this scenario is blocked by it: require); where it
    refused nothing, the application shows nothing the suite can read, and the rule could not be
    checked (skipped with that reason, which leaves a blocker or critical rule incomplete)."""
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
        pytest.skip("drive.use_api_url is not set: the suite cannot make the application use its token")
    record_fault(request, "short-lived-access-token")
    app_run.fault = "short-lived-access-token"

    def expire_then_use(session):
        stand_in.faults.inject("short-lived-access-token")
        first = session.sign_in() if application.is_interactive else session.run()
        effort.sleep(SHORT_LIFETIME + PAST_EXPIRY)
        return [first, session.open(application.drive.use_api_url) if application.is_interactive else session.run()]

    observe_session_once(
        request.config, stand_in, app_run, expire_then_use, "short-lived access token, API used after expiry"
    )


@then("the application never sends an expired access token")
def no_expired_token(app_run: AppRun) -> None:
    expired = expired_uses(app_run.last)
    check(
        not expired,
        f"the application called {', '.join(sorted({c.path for c in expired}))} {len(expired)} time(s) with an "
        f"access token that had expired (expires_in said {SHORT_LIFETIME} seconds)",
    )


@then("after the expiry it refreshed the token, signed in again or used the API with a valid token")
def renewed(app_run: AppRun) -> None:
    """RFC 6749 section 1.5: a new access token "when the current access token becomes invalid or
    expires", by a refresh or (no refresh token) a new sign-in; nothing there asks the application
    to go back to the API by itself afterwards. So any of these is the evidence that it did not go
    on with the expired token; where it sent nothing after the expiry, nothing tells either way."""
    observed = app_run.last
    issued = [r for r in observed.token_requests if r.status == 200]
    require(issued, "the application got no token at all; see the attached requests")
    first, expiry = issued[0].at, issued[0].at + SHORT_LIFETIME
    expiries = token_expiries(observed)
    fresh = [
        call
        for call in observed.api_calls + observed.userinfo_calls
        if call.at > expiry
        and (call.notes.get("bearer") == "valid" or expiries.get(bearer_of(call) or "", 0) > call.at)
    ]
    evidence = {
        "refreshed the access token": [r for r in observed.grants("refresh_token") if r.at > first],
        "started a new sign-in (an authorization request)": [
            r for r in observed.authorization_requests if r.at > first
        ],
        "fetched a new access token": [r for r in observed.grants("client_credentials") if r.at > first],
        "called the Visma API or userinfo with a valid access token": fresh,
    }
    seen = [f"{what} ({len(requests)} request(s))" for what, requests in evidence.items() if requests]
    if not seen:
        after = [e for e in observed.entries if e.at > expiry]
        pytest.skip(
            f"{UNCHECKED}: after the access token expired the application "
            + (
                "sent the stand-in nothing at all (no refresh, no new sign-in, no API call), so nothing tells "
                "whether it would have used the expired token"
                if not after
                else f"neither refreshed it, signed in again nor used a valid token (it sent "
                f"{', '.join(sorted({f'{e.method} {e.path}' for e in after}))}), and it did not use the expired "
                "one: nothing tells what it does with an expired token"
            )
        )
    allure.attach(
        f"after the access token expired the application {'; '.join(seen)}, and never used the expired one",
        name="evidence of the renewal",
        attachment_type=allure.attachment_type.TEXT,
    )
