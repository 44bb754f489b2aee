"""What an interactive application sends: its authorization and token requests, checked against
its registration and the Visma Connect documentation."""

import contextlib
import re
from collections.abc import Iterator
from typing import NoReturn
from urllib.parse import urlsplit

import allure
import pytest
from pytest_bdd import given, then, when

from appside import effort
from appside.application import Application
from appside.concurrent import TWO_EXPIRIES, fault_title
from appside.entropy import entropy, varying_part
from appside.observed import (
    Observed,
    basic_password,
    bearer_of,
    carried_tokens,
    client_authentication,
    expired_uses,
    form_value,
    s256,
    secret_in_query,
    token_expiries,
    token_request_shape,
    tokens_of_ended_sign_ins,
    unverified_claims,
)
from appside.record import UNCHECKED, UNCHECKED_UNLESS_BLOCKED
from appside.steps.plain_http import no_plain_http, no_token_request_said
from appside.steps.sign_ins import (
    USE_API_URL_MISSING,
    AppRun,
    every_flow_made,
    evidence_at_once,
    normal_sign_ins,
    note_client_authentication,
    nothing_to_judge,
    observe_session_once,
    record_fault,
    sign_in_never_started,
    skip_unless_a_sign_in_started,
    why_none_was_redeemed,
)
from appside.steps.unread_answers import id_token_as_bearer, token_request_misdirected
from sandbox import SandboxServer
from sandbox.faults import PAST_EXPIRY
from suite.verdict.checks import (
    NonConformance,
    NothingToCheck,
    check,
    check_delivered,
    require,
    require_not_met,
    skip_for_missing_application_data,
)
from suite.wire.redirect_variations import (
    LOOPBACK_HOSTS,
    RFC6749_NO_FRAGMENT,
    RFC8252_ANY_PORT,
    RFC8252_LOCALHOST,
    RFC9700_EXACT,
    registered_match,
    without_loopback_port,
)

# What a value that protects the callback must carry, of what varies between two sign-ins (appside.entropy): what
# binds the client, RFC 6749 section 10.12, asks for "a non-guessable value", and NIST SP 800-63B section 7.1 puts a
# number on a secret that binds a session: "at least 64 bits of entropy" (APPC-04, and what PKCE or a nonce must carry
# to protect the callback instead). RFC 6749 section 10.10's 2^(-128), to which section 10.12 refers, sits in the
# authorization server's paragraph, as does RFC 6819 section 5.1.4.2.2's ">=128 bits": APPC-29 warns below it.
MIN_STATE_BITS = 64
RECOMMENDED_STATE_BITS = 128
UNGUESSABLE = (
    'RFC 6749 section 10.12, "The binding value used for CSRF protection MUST contain a non-guessable value", and '
    'NIST SP 800-63B section 7.1, "Secrets used for session binding SHALL ... contain at least 64 bits of entropy"'
)
RECOMMENDED = (
    "RFC 6749 section 10.10, to which section 10.12 refers, asks 2^(-128) of generated credentials, and RFC 6819 "
    'section 5.1.4.2.2 "should be >=128 bits long"'
)
II_31 = (
    "Visma Connect's Interactive Integrations page, \"Only server-side web applications configured with "
    'offline_access can request refresh tokens to renew expired access tokens."'
)
VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 section 4.1


def _authorization_requests(application: Application, app_run: AppRun) -> list:
    """Every authorization request of the scenario's sign-ins; where there is none at all, the rule
    could not be checked, with one cause (sign_ins.sign_in_never_started), not failed."""
    skip_unless_a_sign_in_started(application, app_run.sign_ins, app_run.observed)
    return [r for observed in app_run.observed for r in observed.authorization_requests]


def _challenges_by_code(observed: Observed) -> dict:
    """code -> the authorization request that got it (through the callback's state)."""
    by_state = {r.param("state"): r for r in observed.authorization_requests}
    result = {}
    for callback in observed.callbacks:
        params = callback.location_params
        request = by_state.get(dict(callback.query).get("state"))  # the callback answers this request
        if params.get("code") and request is not None:
            result[params["code"]] = request
    return result


@then('every authorization request asks for response_type "code"')
def response_type_code(application: Application, app_run: AppRun) -> None:
    for request in _authorization_requests(application, app_run):
        asked = request.params("response_type")
        check(
            asked == ["code"],
            f"an authorization request asked for response_type {' and '.join(asked) or '(none)'}, not code: "
            'RFC 6749 section 4.1.1, "Value MUST be set to "code"" (Visma Connect: the authorization code flow)',
        )


@then("every authorization request names the registered client_id")
def registered_client_id(application: Application, app_run: AppRun) -> None:
    for request in _authorization_requests(application, app_run):
        sent = request.param("client_id")
        check(
            sent == application.client_id,
            f"an authorization request named client_id {sent!r}, not the registered {application.client_id!r} "
            "(application.client_id in the application file): Visma Connect knows the application only by the "
            "client_id it registered, and refuses the sign-in (RFC 6749 section 4.1.1). Make the two the same: "
            "correct the client id the application is configured with, or the file's application.client_id "
            "if that one is wrong",
        )


OTHER_SCOPE_DELIMITERS = ",;"  # what client libraries join scopes with instead of a space (npm grant: a comma)


@then("every authorization request's scope is a space-delimited list")
def scope_space_delimited(application: Application, app_run: AppRun) -> None:
    """RFC 6749 section 3.3 binds the client: a scope of "openid,email,profile" is one scope nobody
    registered (Visma Connect and the stand-in answer invalid_scope), not three."""
    for request in _authorization_requests(application, app_run):
        sent = request.param("scope") or ""
        joined = [s for s in sent.split(" ") if _delimiter_in(s)]
        if joined:
            check(False, _scope_joined(sent, joined[0]))


def _delimiter_in(scope: str) -> str:
    return next((d for d in OTHER_SCOPE_DELIMITERS if d in scope), "")


def _scope_values_meant(sent: str) -> list[str]:
    """The scope values a request meant, those joined with another delimiter (APPC-01's failure) taken apart."""
    return [value for scope in sent.split(" ") for value in re.split(f"[{OTHER_SCOPE_DELIMITERS}]", scope) if value]


def _scope_joined(sent: str, joined: str) -> str:
    meant = " ".join(_scope_values_meant(sent))
    return (
        f"an authorization request's scope is {sent!r}: {joined!r} joins scopes with {_delimiter_in(joined)!r}, so "
        "Visma Connect reads it as one unknown scope and refuses the sign-in (invalid_scope). RFC 6749 section "
        '3.3: "The value of the scope parameter is expressed as a list of space-delimited, case-sensitive '
        f'strings" (Visma Connect: scope=openid email profile). Join the scopes with spaces: {meant!r}'
    )


@then("every authorization request asks for openid")
def asks_for_openid(application: Application, app_run: AppRun) -> None:
    """Warning-level (appside/features/rules.yaml says why): Visma's example request asks for openid, no
    sentence of its pages requires it. Scopes joined with commas are read as the values they join (APPC-01)."""
    for request in _authorization_requests(application, app_run):
        sent = request.param("scope")
        asked = f"the scope {sent!r}" if sent else "no scope"
        check(
            "openid" in _scope_values_meant(sent or ""),
            f"an authorization request asked for {asked}, without openid: Visma Connect's example "
            'authorization request asks for "scope=openid+email+profile" (Interactive Integrations, Step 1: '
            'Authorization Request), and visma-connect-facts.md says "Scope openid is required on interactive '
            "flows\" without a sentence of Visma's to quote, so it is warned, not failed. Without openid the "
            "request is no OpenID Connect request (OpenID Connect Core 1.0 section 3.1.2.1) and the application "
            "gets no ID token: add openid to its scope if it signs users in",
        )


@then("every request names a registered redirect_uri exactly")
def registered_redirect_uri(application: Application, app_run: AppRun) -> None:
    native = application.app_type == "native"
    for request in _authorization_requests(application, app_run):
        uri = request.param("redirect_uri")
        check(
            "#" not in (uri or ""),
            f"an authorization request's redirect_uri {uri!r} has a fragment ({RFC6749_NO_FRAGMENT}): Visma Connect "
            "refuses it, registered or not, with an error page and no redirect. Register and send one without it: a "
            "hash-routed SPA takes its callback at a path (/callback) or its root, and routes on after the sign-in",
        )
        check(
            uri is not None and registered_match(uri, application.redirect_uris, native),
            f"an authorization request's redirect_uri {uri!r} is not one registered for the application "
            f"({', '.join(application.redirect_uris)}), character for character: Visma Connect refuses it "
            f"({RFC9700_EXACT}){_loopback_hint(uri, application)}",
        )
    for observed in app_run.observed:
        requests = _challenges_by_code(observed)
        for redemption in observed.grants("authorization_code"):
            asked = requests.get(redemption.param("code"))
            if asked is not None:
                check(
                    redemption.param("redirect_uri") == asked.param("redirect_uri"),
                    "a code redemption's redirect_uri differs from its authorization request's "
                    "(RFC 6749 section 4.1.3 requires the same value)",
                )


def _loopback_hint(uri: str | None, application: Application) -> str:
    """Why the port exception did not apply, where the URI and a registered one are localhost redirection URIs."""
    near = [r for r in application.redirect_uris if without_loopback_port(r, LOOPBACK_HOSTS)]
    if not uri or not without_loopback_port(uri, LOOPBACK_HOSTS) or not near:
        return ""
    if application.app_type != "native":
        return f"; the port may vary only for a native application's localhost redirection URI ({RFC8252_ANY_PORT})"
    return (
        f"; only the port may vary ({RFC8252_ANY_PORT}): the host, the path and the rest are a registered one's, "
        "character for character (localhost is not 127.0.0.1): register the one the application sends, or make it "
        "send a registered one"
    )


@then("no authorization request's redirect_uri names localhost")
def redirect_uri_not_localhost(application: Application, app_run: AppRun) -> None:
    """APPC-35 (warning-level): a native application's localhost redirect URI is taken on any port (APPC-02), and
    RFC 8252 section 8.3 recommends against it (RFC8252_LOCALHOST)."""
    for request in _authorization_requests(application, app_run):
        uri = request.param("redirect_uri") or ""
        check(
            urlsplit(uri).hostname != "localhost",
            f"an authorization request's redirect_uri {uri!r} names localhost, not a loopback IP literal: "
            f"{RFC8252_LOCALHOST}; listen on 127.0.0.1 (or [::1]) and register http://127.0.0.1 with the path",
        )


# RFC 9700 section 2.1: what else protects the callback, so that the state need not
RFC9700_CSRF = (
    'RFC 9700 section 2.1: "Clients that have ensured that the authorization server supports PKCE MAY rely on '
    "the CSRF protection provided by PKCE. In OpenID Connect flows, the nonce parameter provides CSRF protection. "
    'Otherwise, one-time use CSRF tokens carried in the state parameter [...] MUST be used for CSRF protection"'
)


def _reached(app_run: AppRun) -> list[Observed]:
    """The normal sign-ins that reached the stand-in (an authorization request); in manual mode a person
    may answer a prompt without starting one."""
    return [observed for observed in app_run.observed if observed.authorization_requests]


def nothing_to_compare(app_run: AppRun, what: str) -> NoReturn:
    """A rule that compares the two normal sign-ins, with fewer than two that reached the stand-in:
    nothing to compare is no evidence either way (could not be checked; a blocker or critical rule so
    leaves the certification incomplete, appside.record)."""
    reached = len(_reached(app_run))
    fix = (
        "run again and sign in each time the suite asks"  # a person signs in
        if app_run.mode == "manual"
        else "the suite drove both from drive.sign_in_url: see where the other one ended (the run's NOTE, the "
        "screenshot 'where the sign-in ended' and its requests) and fix what stopped it"
    )
    pytest.skip(
        f"{UNCHECKED}: only {reached} of the {len(app_run.observed)} normal sign-ins reached the stand-in (the "
        f"others sent it no authorization request), so nothing tells {what}; {fix}"
    )


def _per_sign_in(app_run: AppRun, parameter: str, every=lambda request: True) -> list[set] | None:
    """Each normal sign-in's values of `parameter` (of those that reached the stand-in), where every
    authorization request carries one and passes `every`; None otherwise."""
    values = []
    for observed in _reached(app_run):
        requests = observed.authorization_requests
        if not all(r.param(parameter) and every(r) for r in requests):
            return None
        values.append({r.param(parameter) for r in requests})
    return values or None


def _unguessable(per_sign_in: list[set]) -> bool:
    """The two sign-ins' values differ, and each, without what it shares with the other sign-in's
    (appside.entropy), carries MIN_STATE_BITS: the bar APPC-04 sets the state (UNGUESSABLE), a UUID by its
    random bits, as APPC-04 counts it."""
    first, second = per_sign_in[:2]
    return not first & second and all(
        entropy(value, min(other)).bits >= MIN_STATE_BITS
        for mine, other in ((first, second), (second, first))
        for value in mine
    )


def _verifiers_per_sign_in(app_run: AppRun) -> list[set]:
    """Each normal sign-in's code_verifiers, as its code redemptions carried them: an S256 challenge
    is a hash, whose length says nothing of how guessable the verifier behind it is."""
    return [
        {r.param("code_verifier") for r in observed.grants("authorization_code")} - {None, ""}
        for observed in _reached(app_run)
    ]


PKCE_PROTECTS = "a new PKCE S256 code_challenge in each sign-in, from an unguessable code_verifier"
NONCE_PROTECTS = "a new, unguessable OpenID Connect nonce in each sign-in"
# APPC-21's ID token faults that only an application that sent a nonce must refuse (OpenID Connect Core
# 3.1.3.7 step 11); refused, they show it checks its nonce (nonce_checked)
NONCE_FAULTS = ("id-token-nonce-wrong", "id-token-nonce-missing")
NONCE_UNCHECKED = (
    "its nonce, new and unguessable in each sign-in, is not counted: this run did not show it refuses an ID token "
    f"with another nonce or none (APPC-21's faults {' and '.join(NONCE_FAULTS)}), and a nonce it does not check "
    "protects nothing"
)
# APPC-03, judged only where neither PKCE nor a nonce protects the callback (skip_unless_state_protects)
NO_STATE = (
    "an authorization request carries no state, and neither a new PKCE code_challenge nor a new nonce in each "
    'sign-in protects the callback: RFC 6749 section 10.12, "The client MUST implement CSRF protection for its '
    'redirection URI"; a new, unguessable state would, and so would a new nonce the application checks in the ID '
    f"token, or PKCE ({RFC9700_CSRF})"
)


def callback_protections(app_run: AppRun) -> list[str]:
    """What the normal sign-ins carry that could protect the application's callback against CSRF besides its
    state (RFC 9700 section 2.1): a PKCE S256 code_challenge in every sign-in, a new one each time, from a
    code_verifier an attacker cannot guess (PKCE_PROTECTS), or (OpenID Connect) a nonce in every sign-in, new and
    unguessable (NONCE_PROTECTS). Unguessable is what APPC-04 asks of a state (MIN_STATE_BITS, of what varies
    between the sign-ins): a nonce "acme-<time>" protects nothing RFC 6749 section 10.12 would call a
    non-guessable CSRF token. Where one sign-in carries either but no second one reached the
    stand-in to show it is new each time, the rule could not be checked (nothing_to_compare). The stand-in
    checks the verifier against the challenge itself; whether the application checks the nonce only its
    refusals show (callback_protection)."""
    protections = []
    challenges = _per_sign_in(app_run, "code_challenge", lambda r: r.param("code_challenge_method") == "S256")
    nonces = _per_sign_in(app_run, "nonce", lambda r: "openid" in (r.param("scope") or "").split())
    for name, values in (("a new PKCE S256 code_challenge", challenges), ("a new OpenID Connect nonce", nonces)):
        if values and len(values) < 2:
            nothing_to_compare(app_run, f"whether {name} in each sign-in protects the callback against CSRF")
    verifiers = _verifiers_per_sign_in(app_run)
    if (
        challenges
        and not challenges[0] & challenges[1]
        and len(verifiers) >= 2
        and all(verifiers[:2])
        and all(VERIFIER.fullmatch(v) for values in verifiers[:2] for v in values)  # RFC 7636 section 4.1's form
        and _unguessable(verifiers)
    ):
        protections.append(PKCE_PROTECTS)
    if nonces and _unguessable(nonces):
        protections.append(NONCE_PROTECTS)
    return protections


def callback_protection(app_run: AppRun, config, stand_in: SandboxServer) -> str | None:
    """What this run showed protects the callback besides the state (callback_protections): the PKCE the
    stand-in checked, and the nonce only where the same run saw the application refuse APPC-21's nonce faults
    (nonce_checked); None where nothing was shown to, so the state must, unless unshown_protection names what
    the run could not judge. An unchecked nonce is attached as not counted."""
    protections = callback_protections(app_run)
    if NONCE_PROTECTS in protections and not nonce_checked(config, stand_in):
        protections.remove(NONCE_PROTECTS)
        allure.attach(NONCE_UNCHECKED, name="what protects the callback", attachment_type=allure.attachment_type.TEXT)
    return " and ".join(protections) or None


PKCE_UNSEEN = (
    "a new PKCE S256 code_challenge in each sign-in, whose code_verifier the suite never saw (a sign-in redeemed no "
    "code), so whether it is unguessable could not be told"
)
NONCE_UNSEEN = (
    "a new, unguessable OpenID Connect nonce in each sign-in, which this run did not show the application checks or "
    f"ignores (APPC-21's faults {' and '.join(NONCE_FAULTS)} gave no evidence either way)"
)


def unshown_protection(app_run: AppRun, config, stand_in: SandboxServer) -> str | None:
    """What the sign-ins carry that would protect the callback besides the state (RFC 9700 section 2.1), where
    this run gave no evidence whether it does: a new S256 challenge in each sign-in whose verifier no code
    redemption showed (sign-ins that never finished), or a new, unguessable nonce whose check APPC-21's sign-ins
    did not show either way. No evidence is no "the state alone protects the callback": APPC-03 to APPC-05 then
    could not be checked where the state falls short, not failed (judge_state_alone)."""
    unseen = []
    challenges = _per_sign_in(app_run, "code_challenge", lambda r: r.param("code_challenge_method") == "S256")
    if (
        challenges
        and len(challenges) >= 2
        and not challenges[0] & challenges[1]
        and not all(observed.grants("authorization_code") for observed in _reached(app_run)[:2])
    ):
        unseen.append(PKCE_UNSEEN)
    if NONCE_PROTECTS in callback_protections(app_run) and nonce_checked(config, stand_in) is None:
        unseen.append(NONCE_UNSEEN)
    return " and ".join(unseen) or None


@contextlib.contextmanager
def judge_state_alone(app_run: AppRun) -> Iterator[None]:
    """APPC-03 to APPC-05 judge the state as the callback's only CSRF protection (relies_on_state); where the run
    could not show whether PKCE or a nonce protects it instead (AppRun.unshown_protection), a state that falls
    short is no evidence against the application: the rule could not be checked, not failed."""
    try:
        yield
    except NothingToCheck:
        raise
    except NonConformance as failed:
        if not app_run.unshown_protection:
            raise
        pytest.skip(
            f"{UNCHECKED}: {failed}; but {app_run.unshown_protection} may protect the callback instead "
            f"({RFC9700_CSRF}), and this run did not show whether it does, so whether the state must could not be "
            "told: see why the sign-ins did not finish"
        )


def faulty_access_tokens(observed: Observed) -> set[str]:
    """The access tokens of the token response whose ID token carried the fault, and of any refresh
    of its refresh token: what the application would use had it accepted the response."""
    answers = [r.response_json or {} for r in observed.grants("authorization_code") if r.status == 200][:1]
    refresh_tokens = {a.get("refresh_token") for a in answers} - {None}
    answers += [
        r.response_json or {}
        for r in observed.grants("refresh_token")
        if r.status == 200 and r.param("refresh_token") in refresh_tokens
    ]
    return {a["access_token"] for a in answers if isinstance(a.get("access_token"), str)}


def nonce_checked(config, stand_in: SandboxServer) -> bool | None:
    """Whether this run saw the application check its nonce: True where, in each of APPC-21's sign-ins with a nonce
    fault (NONCE_FAULTS, made at once), it redeemed its code for an ID token that shows the fault, then neither
    showed its signed-in marker nor called the Visma API with that response's access token, where a normal sign-in
    did one of them; False where one of them did either (it accepted the fault). None where the run gives no
    evidence either way: such a sign-in was not made (APPC-21 not selected, manual or service mode), broke, or did
    not show the fault, or no normal sign-in finished to tell a refusal from a broken sign-in. A nonce nothing
    showed checked protects nothing (RFC 9700 section 2.1 counts the nonce because the client checks it, OpenID
    Connect Core 1.0 section 3.1.3.7 step 11), and nothing shows it unchecked either (unshown_protection)."""
    normal = normal_sign_ins(config, stand_in)
    if not any(sign_in.finished or observed.api_calls for sign_in, observed in normal):
        return None  # nothing tells a refusal from an acceptance
    for fault in NONCE_FAULTS:
        try:
            found = evidence_at_once(config, stand_in, fault_title(fault))
        except Exception:  # that sign-in broke: no evidence either way
            return None
        if not found:
            return None
        sign_ins, observed = found
        answers = [r.response_json or {} for r in observed.grants("authorization_code") if r.status == 200][:1]
        claims = unverified_claims(str(answers[0].get("id_token"))) if answers and answers[0].get("id_token") else {}
        sent = {a.param("nonce") for a in observed.authorization_requests} - {None, ""}
        delivered = ("nonce" not in claims) if fault == "id-token-nonce-missing" else claims.get("nonce") not in sent
        if not claims or not sent or not delivered or not sign_ins:
            return None  # the fault never reached the application
        faulty = faulty_access_tokens(observed)
        if sign_ins[-1].finished or any(bearer_of(call) in faulty for call in observed.api_calls):
            return False
    return True


@given("the application relies on its state against CSRF")
def relies_on_state(request: pytest.FixtureRequest, stand_in: SandboxServer, app_run: AppRun) -> None:
    """Skipped as not applicable where PKCE or a nonce the run saw checked protects the callback
    (callback_protection): whether they are bound to the browser's own sign-in, as RFC 9700 section 2.1.1
    asks, APPC-31 judges on evidence."""
    protection = callback_protection(app_run, request.config, stand_in)
    if protection:
        pytest.skip(
            f"not applicable: {protection} {'protect' if ' and ' in protection else 'protects'} the callback "
            f"against CSRF, so the state need not ({RFC9700_CSRF}), where they are bound to the browser's own "
            "sign-in: APPC-31 delivers another browser's code and state to this one to see that they are; APPC-29 "
            "still asks for a new, unguessable state, as a warning"
        )
    app_run.unshown_protection = unshown_protection(app_run, request.config, stand_in)
    if app_run.unshown_protection:
        allure.attach(
            f"not shown: {app_run.unshown_protection}; the state is judged, and one that falls short could not be "
            "checked, not failed",
            name="what protects the callback",
            attachment_type=allure.attachment_type.TEXT,
        )


@given("the sign-ins show what protects the application's callback")
def callback_protection_shown(
    request: pytest.FixtureRequest, stand_in: SandboxServer, application: Application, app_run: AppRun
) -> None:
    """APPC-29 judges the state whatever protects the callback; what does decides what is its own to judge (a
    missing or repeated state where only the state protects it is APPC-03's and APPC-05's, critical) and needs
    two sign-ins to tell (callback_protections)."""
    skip_unless_a_sign_in_started(application, app_run.sign_ins, app_run.observed)
    callback_protection(app_run, request.config, stand_in)


def _perhaps(app_run: AppRun, request: pytest.FixtureRequest, stand_in: SandboxServer) -> str | None:
    """For APPC-29, which judges the state whatever protects the callback: what may protect it though the run did
    not show it does (unshown_protection). The state is then not known to protect it alone, so APPC-03 to APPC-05's
    failures are not APPC-29's cause: it judges the state itself, a warning."""
    unshown = unshown_protection(app_run, request.config, stand_in)
    return f"perhaps {unshown}" if unshown else None


@then("every authorization request carries a state")
def state_present(application: Application, app_run: AppRun) -> None:
    for request in _authorization_requests(application, app_run):
        with judge_state_alone(app_run):
            check(request.param("state"), NO_STATE)


@then("every authorization request carries a state besides what protects the callback")
def state_present_besides(
    request: pytest.FixtureRequest, stand_in: SandboxServer, application: Application, app_run: AppRun
) -> None:
    """APPC-29 (warning-level): where PKCE or the nonce protects the callback, a missing state leaves it
    protected; what is measured is the state itself, a new one of 128 random bits each time. Where nothing else
    protects it, a missing state is APPC-03's failure, and this rule is blocked by it."""
    protection = callback_protection(app_run, request.config, stand_in) or _perhaps(app_run, request, stand_in)
    for sent in _authorization_requests(application, app_run):
        if protection is None:
            require(
                sent.param("state"),
                "an authorization request carries no state, and nothing else protects the callback: APPC-03's failure",
            )
            continue
        check(
            sent.param("state"),
            f"an authorization request carries no state. Meanwhile {protection} "
            f"{'protect' if ' and ' in protection else 'protects'} the callback against CSRF ({RFC9700_CSRF}), so "
            "this is a warning, not a failure: APPC-29 measures the state itself, and asks for a new one of at "
            f"least {RECOMMENDED_STATE_BITS} random bits in every sign-in ({RECOMMENDED}), as Visma Connect's "
            'documentation asks for "secure state management to prevent CSRF attacks"',
        )


def _states(application: Application, app_run: AppRun) -> list[str]:
    states = [r.param("state") for r in _authorization_requests(application, app_run)]
    if not any(states):
        pytest.skip("the application sent no state (see APPC-03)")
    return [s for s in states if s]


def _states_per_sign_in(app_run: AppRun) -> list[set]:
    # per sign-in: one sign-in may repeat its request (a redirect that adds a parameter), not its state
    return [{r.param("state") for r in observed.authorization_requests} - {None} for observed in app_run.observed]


@then("every state carries at least 64 bits of entropy")
def state_entropy(application: Application, app_run: AppRun) -> None:
    """APPC-04 (critical): with two sign-ins, only what differs from the other sign-in's state counts: a
    fixed prefix or suffix (an encoded {"returnTo": ...}) is no secret, however long (appside.entropy),
    nor are the layers around it (base64, JSON); a UUID counts by its random bits (122 in version 4, 74 in
    version 7). The bar is what binds the client (UNGUESSABLE): RFC 6749 section 10.10's 2^(-128) binds the
    authorization server's "generated tokens", and APPC-29 (a warning) asks it of the state
    (random_state_entropy)."""
    with judge_state_alone(app_run):
        _judge_state_bits(application, app_run, MIN_STATE_BITS, UNGUESSABLE)


@then("every state carries at least 128 random bits")
def random_state_entropy(
    request: pytest.FixtureRequest, stand_in: SandboxServer, application: Application, app_run: AppRun
) -> None:
    """APPC-29 (warning-level): as APPC-04, with RFC 6749 section 10.10's 128 bits (RECOMMENDED). A state that
    alone protects the callback and falls short of APPC-04's bar is APPC-04's failure: blocked by it."""
    if not (callback_protection(app_run, request.config, stand_in) or _perhaps(app_run, request, stand_in)):
        try:
            _judge_state_bits(application, app_run, MIN_STATE_BITS, UNGUESSABLE)
        except NonConformance as failed:  # APPC-04's failure, or APPC-05's (the same state twice)
            require(False, f"the state alone protects the callback, and falls short of APPC-04's bar: {failed}")
    _judge_state_bits(application, app_run, RECOMMENDED_STATE_BITS, RECOMMENDED)


def _judge_state_bits(application: Application, app_run: AppRun, bar: int, because: str) -> None:
    states = _states(application, app_run)
    per_sign_in = _states_per_sign_in(app_run)
    if len(per_sign_in) < 2 or not all(per_sign_in[:2]):  # one state to judge: all of it
        for state in states:
            _check_state_bits(state, None, bar, because)
        return
    require(
        not per_sign_in[0] & per_sign_in[1],
        "the two sign-ins used the same state, so no part of it varies to be judged (APPC-05)",
    )
    for index, observed in enumerate(app_run.observed[:2]):
        other = min(per_sign_in[1 - index])
        for state in {r.param("state") for r in observed.authorization_requests} - {None}:
            _check_state_bits(state, other, bar, because)


def _check_state_bits(state: str, other: str | None, bar: int, because: str) -> None:
    measured = entropy(state, other)
    part = varying_part(state, other) if other is not None else state
    if measured.explained():
        compared = "; only what differs from the other sign-in's" if other is not None else ""
        how = f" ({measured.explained()}{compared})"
    else:
        how = f", of which {len(part)} differ from the other sign-in's," if part != state else ""
    check(
        measured.bits >= bar,
        f"a state of {len(state)} characters{how} carries at most {measured.bits:.0f} bits, fewer than {bar}: "
        f"{because}",
    )


@then("the two sign-ins used different states")
def states_differ(application: Application, app_run: AppRun) -> None:
    _states(application, app_run)
    if len(_reached(app_run)) < 2:
        nothing_to_compare(app_run, "whether each sign-in uses a new state")
    per_sign_in = _states_per_sign_in(app_run)
    with judge_state_alone(app_run):
        check(
            len(per_sign_in) >= 2 and all(per_sign_in),
            f"expected a state in each of the two sign-ins, saw {sum(map(bool, per_sign_in))}",
        )
        check(not per_sign_in[0] & per_sign_in[1], "two sign-ins used the same state")


@then("the two sign-ins used different states besides what protects the callback")
def states_differ_besides(
    request: pytest.FixtureRequest, stand_in: SandboxServer, application: Application, app_run: AppRun
) -> None:
    """APPC-29 (warning-level): as APPC-05; where only the state protects the callback, the same state twice is
    APPC-05's failure, and this rule is blocked by it."""
    if callback_protection(app_run, request.config, stand_in) or _perhaps(app_run, request, stand_in):
        states_differ(application, app_run)
        return
    try:
        states_differ(application, app_run)
    except NonConformance as failed:
        require(False, f"the state alone protects the callback: APPC-05's failure: {failed}")


@then("every authorization request carries a PKCE code_challenge")
def pkce_challenge(application: Application, app_run: AppRun) -> None:
    if not application.uses_pkce:
        pytest.skip(f"{application.client_id} is a web application that does not declare PKCE (application.pkce)")
    # where the stand-in refused nothing for the missing challenge (a web application's code is issued and redeemed
    # without one), the sign-ins gave the rules that need this one all they rely on: a failure that blocks none of
    # them (checks.Delivered) but those that judge the challenge itself (_with_challenge)
    judged = check if _refused_for_no_challenge(app_run) else check_delivered
    for request in _authorization_requests(application, app_run):
        judged(
            request.param("code_challenge"),
            lambda: (
                f"an authorization request carries no code_challenge: {_pkce_binds(application)}"
                + (
                    "; make it send one, or, if this web application does not use PKCE (optional for a web "
                    "application with a client secret), set application.pkce: false in the application file"
                    if application.app_type == "web"
                    else ""
                )
            ),
        )


def _refused_for_no_challenge(app_run: AppRun) -> bool:
    """Whether the stand-in refused a sign-in that a missing code_challenge explains: the authorization request of a
    public client (PKCE required of it), or the redemption of a code issued without a challenge that carried a
    code_verifier all the same (a downgrade, oauthlib's dropped challenge). A refusal for the client's
    authentication is APPC-10's, not this."""
    for observed in app_run.observed:
        without = [r for r in observed.authorization_requests if not r.param("code_challenge")]
        if without and any("error" in callback.location_params for callback in observed.callbacks):
            return True
        issued = _challenges_by_code(observed)
        for redemption in observed.grants("authorization_code"):
            asked = issued.get(redemption.param("code"))
            unchallenged = asked is not None and not asked.param("code_challenge")
            if unchallenged and redemption.status != 200 and not client_authentication_refused(redemption):
                return True
    return False


# What binds each kind of application to PKCE: a public client by RFC 9700 and Visma Connect's application types;
# a web application only by its own file (PKCE "is optional" for it), then to a verifier for every request
PKCE_REQUIRED = {
    "spa": "Visma Connect's SPA 'Implements PKCE to secure authorization as client secrets cannot be safely stored'",
    "native": "Visma Connect's native application 'relies on PKCE to protect authorization codes'",
}
PUBLIC_CLIENT_PKCE = "'Public clients MUST use PKCE [RFC7636] to this end' (RFC 9700 section 2.1.1)"


def _pkce_binds(application: Application) -> str:
    if application.app_type in PKCE_REQUIRED:
        kind = application.app_type
        return f"a {kind} application is a public client: {PUBLIC_CLIENT_PKCE}; {PKCE_REQUIRED[kind]}"
    return (
        "the application file declares PKCE (application.pkce), and a client using PKCE 'first creates a code "
        "verifier ... for each OAuth 2.0 Authorization Request' (RFC 7636 section 4.1)"
    )


def _with_challenge(application, app_run) -> list:
    if not application.uses_pkce and sign_in_never_started(application, app_run.sign_ins, app_run.observed):
        # known before any sign-in: a web application that declares no PKCE has no challenge to judge,
        # whether or not its sign-in reached the stand-in (not applicable, as when it works)
        pytest.skip(f"{application.client_id} is a web application that does not declare PKCE (application.pkce)")
    requests = [r for r in _authorization_requests(application, app_run) if r.param("code_challenge")]
    if not requests and application.uses_pkce:  # APPC-06's failure, met by this rule itself: blocked by it
        require_not_met(False, "no authorization request carries a code_challenge, so there is none to judge here")
    if not requests:
        pytest.skip(f"{application.client_id} is a web application that uses no PKCE and does not declare it")
    return requests


@then('every code_challenge_method is "S256"')
def pkce_s256(application: Application, app_run: AppRun) -> None:
    for request in _with_challenge(application, app_run):
        method = request.param("code_challenge_method")
        check(
            method == "S256",
            f"code_challenge_method is {method!r}"
            f"{' (no method means plain, RFC 7636 section 4.3)' if method is None else ''}, not S256",
        )


@then("every code_verifier matches its code_challenge")
def verifier_matches(application: Application, app_run: AppRun) -> None:
    """Each code's redemptions until the stand-in redeemed it: one sent after that (a reloaded callback redeeming
    it again, with whatever verifier its session still had, or none) is a use of the code more than once,
    APPC-23's failure (one cause, one failure)."""
    _with_challenge(application, app_run)
    checked = 0
    for observed in app_run.observed:
        requests = _challenges_by_code(observed)
        redeemed = set()
        for redemption in observed.grants("authorization_code"):
            if redemption.param("code") in redeemed:
                continue
            if redemption.status == 200:
                redeemed.add(redemption.param("code"))
            asked = requests.get(redemption.param("code"))
            if asked is None or not asked.param("code_challenge"):
                continue
            verifier = redemption.param("code_verifier")
            check(
                verifier,
                "a code redemption carries no code_verifier though its authorization request had a code_challenge",
            )
            check(
                bool(VERIFIER.fullmatch(verifier)),
                f"a code_verifier of {len(verifier)} characters is no RFC 7636 verifier (Visma Connect refuses it): "
                "section 4.1 asks for 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'",
            )
            method = asked.param("code_challenge_method") or "plain"
            expected = s256(verifier) if method == "S256" else verifier
            check(
                expected == asked.param("code_challenge"),
                "a code_verifier does not transform into its code_challenge (RFC 7636 section 4.6)",
            )
            checked += 1
    require(checked, lambda: _no_redemption_seen(application, app_run))


def _no_redemption_seen(application: Application, app_run: AppRun) -> str:
    """What was seen instead of a redemption: a token request to a path that is not the token endpoint is the
    cause, named first; else how the sign-ins ended."""
    elsewhere = next((sent for observed in app_run.observed if (sent := token_request_misdirected(observed))), "")
    if elsewhere:
        return f"no code redemption reached the token endpoint: {elsewhere}"
    return "no code redemption with a code_verifier was seen" + why_none_was_redeemed(application, app_run)


@then("the application sends no client secret, in no request")
def no_secret_from_public_app(application: Application, app_run: AppRun) -> None:
    """Every request that carried a secret is named, where it carried it and what the stand-in answered: MSAL.js
    copies extraQueryParameters into the token request's URL too, and the stand-in refused that redemption
    (invalid_client), which blocks the rules that need a redeemed code (APPC-09 in their `needs`)."""
    skip_unless_a_sign_in_started(application, app_run.sign_ins, app_run.observed)  # no request: no pass either
    carried: dict[str, list[bool]] = {}  # "GET /connect/authorize (in its URL)" -> each: the stand-in refused it
    for observed in app_run.observed:
        for request in observed.entries:
            places = [
                place
                for place, used in (
                    ("in its URL", any(k == "client_secret" for k, _ in request.query)),
                    ("in its body", form_value(request, "client_secret") is not None),
                    ("in an HTTP Basic header", bool(basic_password(request))),
                )
                if used
            ]
            if places:
                where = f"{request.method} {request.path} ({', '.join(places)})"
                carried.setdefault(where, []).append(client_authentication_refused(request))
    if not carried:  # a secret goes to the token endpoint first: without a token request nothing shows its absence
        require(
            any(observed.token_requests for observed in app_run.observed),
            lambda: (
                no_token_request_said(app_run.observed)
                + ", so whether it sends a client secret could not be seen"
                + why_none_was_redeemed(application, app_run)
            ),
        )
    # where every request that carried it was answered (IdentityServer skips a public client's secret), the sign-ins
    # gave the rules that need this one all they rely on: a failure that blocks none of them (checks.Delivered)
    refused = any(any(refusals) for refusals in carried.values())
    judged = check if refused else check_delivered
    judged(not carried, lambda: _secret_sent(application, carried, len(app_run.observed)))


def _secret_sent(application: Application, carried: dict[str, list[bool]], sign_ins: int) -> str:
    """`sign_ins`: how many sign-ins the counts are of (the run's other sign-ins are not counted here)."""
    named = []
    for where, refusals in carried.items():
        times = f", {len(refusals)} times" if len(refusals) > 1 else ""
        refused = ", the stand-in refused it: invalid_client" if any(refusals) else ""
        named.append(f"{where[:-1]}{times}{refused})")
    return (
        f"a {application.app_type} application sent a client secret, in every request named here, counted over "
        f"the {sign_ins} sign-in{'s' if sign_ins != 1 else ''} this rule made (the run's others are not counted): "
        f"{'; '.join(named)}. A public client cannot keep one, and anything in a browser or an installed app is "
        "public"
        + (
            ". Its refused code redemptions leave the rules that need a redeemed code blocked by this one"
            if any(any(refusals) for refusals in carried.values())
            else ""
        )
    )


@then("every token request authenticates the application with its secret")
def web_app_authenticates(request: pytest.FixtureRequest, application: Application, app_run: AppRun) -> None:
    """Code redemptions and refreshes alike (the scenario lets the access token expire)."""
    assert application.client_secret is not None  # a web application's file names one (load_application)
    skip_unless_a_sign_in_started(application, app_run.sign_ins, app_run.observed)
    token_requests = [r for observed in app_run.observed for r in observed.token_requests]
    authentications = {}
    for token_request in token_requests:  # every way it authenticated, whichever request fails below
        authentication = client_authentication(token_request, application.client_id, application.client_secret)
        # a code_verifier in the URL is no PKCE request (the server reads the form body only): aiohttp-oauthlib's
        # force_querystring puts every parameter of a code redemption, the secret too, in the URL
        if not (authentication.method == "none" and form_value(token_request, "code_verifier")):
            authentications[id(token_request)] = authentication  # "client_secret: Required ... unless PKCE is used"
            note_client_authentication(request, token_request, authentication)
    # a request whose secret is only in its URL (hapi's refresh with every parameter in the token URL's query)
    # authenticates nothing: APPC-11's one cause, which this rule is blocked by, as APPC-12 is on a service
    secret_in_url = []
    for token_request in token_requests:
        in_url = secret_in_query(token_request, application.client_secret)
        shape = token_request_shape(token_request, "4.1.3" if token_request.param("code") else "6")
        judged = authentications.get(id(token_request))
        if in_url and ((shape and token_request.method != "POST") or (judged and judged.method == "none")):
            secret_in_url.append(token_request)
            continue
        check(not shape, shape)
        if judged is not None:
            check(
                not judged.problem,
                f"a token request ({token_request.param('grant_type')}) does not authenticate the application with "
                f"its secret: {judged.problem}",
            )
    require_not_met(
        not secret_in_url,
        lambda: (
            f"a token request ({secret_in_url[0].param('grant_type')}) carries the client secret in its URL "
            'only, which authenticates nothing (RFC 6749 section 2.3.1: "MUST NOT be included in the request URI"): '
            "APPC-11 names it"
        ),
    )
    if not token_requests:  # it may have sent them as http://, which the stand-in refused unread
        no_plain_http(app_run.observed)
    require(
        token_requests,
        lambda: no_token_request_said(app_run.observed) + why_none_was_redeemed(application, app_run),
    )


@then("no authorization request asks for offline_access")
def no_offline_access(application: Application, app_run: AppRun) -> None:
    """APPC-14: the seed pages' II-31; where Visma sources differ (docs.connect.visma.com: offline access for Web
    and Native apps), the application file declares which its Visma Connect keeps (issuer.refresh_token_app_types,
    as the server side's expectations.refresh_token_app_types)."""
    if application.app_type in application.refresh_token_app_types:
        pytest.skip(
            f"not applicable: the application file declares {application.app_type} applications eligible for "
            "refresh tokens with offline_access (issuer.refresh_token_app_types), as docs.connect.visma.com says "
            "of native applications, where the seed pages say only server-side web applications are"
        )
    for request in _authorization_requests(application, app_run):
        check(
            "offline_access" not in (request.param("scope") or "").split(),
            f"the application asked for offline_access: {II_31}; if your Visma Connect issues refresh tokens to "
            f"{application.app_type} applications (docs.connect.visma.com names native ones), declare it in the "
            f"application file: issuer.refresh_token_app_types: [web, {application.app_type}]",
        )


@when("the access token expires twice and the application uses the API after each expiry")
def two_expiries(
    request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun
) -> None:
    if "offline_access" not in application.scope.split():
        pytest.skip(f"{application.client_id} does not ask for offline_access, so it gets no refresh token")
    if not application.drive.use_api_url:
        skip_for_missing_application_data("drive.use_api_url", USE_API_URL_MISSING)
    record_fault(request, "short-lived-access-token")

    def sign_in_and_use_twice(session):
        stand_in.faults.inject("short-lived-access-token", times=2)
        results = [session.sign_in()]
        for _ in range(2):
            effort.sleep(application.access_token_lifetime + PAST_EXPIRY)
            results.append(session.open(application.drive.use_api_url))
        return results

    # kept for the run: APPC-20 reads the expired tokens its sign-ins sent too
    observe_session_once(request.config, stand_in, app_run, sign_in_and_use_twice, TWO_EXPIRIES)


@then("every refresh uses the newest refresh token")
def newest_refresh_token(application: Application, app_run: AppRun) -> None:
    skip_unless_a_sign_in_started(application, app_run.sign_ins, app_run.observed)
    observed = app_run.last
    newest, rotated, after_rotation = None, False, 0
    for request in observed.token_requests:
        grant_type = request.param("grant_type")
        if grant_type == "refresh_token":
            check(
                request.param("refresh_token") == newest,
                "a refresh used an older refresh token, not the one the latest token response rotated in "
                "(one-time rotation revokes the old one)",
            )
            after_rotation += rotated
        issued = (request.response_json or {}).get("refresh_token") if request.status == 200 else None
        if issued:
            newest, rotated = issued, grant_type == "refresh_token"
    if after_rotation:
        allure.attach(
            f"{after_rotation} refresh(es) after a rotation, each with the newest refresh token",
            name="rotation",
            attachment_type=allure.attachment_type.TEXT,
        )
        return
    misused = id_token_as_bearer(observed)
    if misused:  # the API never answered it, so nothing ever asked it to refresh
        pytest.skip(f"{UNCHECKED}: no refresh after a rotation was seen: {misused}")
    instead = renewed_without_refreshing(observed)
    if instead:
        # RFC 6749 section 6 binds a client that refreshes; one that never refreshed after a rotation, and signed
        # in again or kept working instead (APPC-20 allows it), keeps no refresh token to get wrong
        pytest.skip(
            f"not applicable: {instead}, so no refresh token of its could be out of date (RFC 6749 section 6 binds a "
            "client when it refreshes)"
        )
    # no refresh after a rotation: nothing shows whether it keeps the newest refresh token (blocked by the rule
    # that kept it from refreshing, e.g. APPC-10 where its refreshes were refused; otherwise it could not be
    # checked), never a failure of the rotation it was not seen to get wrong
    refused = [r for r in observed.grants("refresh_token") if r.status != 200]
    require(
        False,
        lambda: (
            "no refresh after a rotation was seen: the application "
            + (
                f"refreshed {len(refused)} time(s) and the stand-in refused it (HTTP {refused[0].status})"
                if refused
                else "neither refreshed after a rotation, signed in again, nor used the API with a valid access token "
                "of this sign-in after its access token expired" + _others_tokens_used(observed)
            )
            + " (see the attached requests and APPC-20)"
        ),
    )


def _others_tokens_used(observed: Observed) -> str:
    """What the evidence shows of an application that uses another sign-in's token: the API calls made meanwhile
    with tokens of sign-ins that had ended. No sentence a rule quotes says whose token an application may send for a
    user, so this names the evidence and fails nothing."""
    foreign = tokens_of_ended_sign_ins(observed, [other for _, _, other in every_flow_made()])
    if not foreign:
        return ""
    users = ", ".join(sorted({user for _, user, _ in foreign}))
    paths = ", ".join(sorted({f"{call.method} {call.path}" for call, _, _ in foreign}))
    return (
        f"; meanwhile the stand-in's API received {len(foreign)} call(s) ({paths}) with access tokens it had issued "
        f"to other sign-ins ({users}), each made after that sign-in had ended (the first "
        f"{min(late for _, _, late in foreign):.1f} s after): the application sent one user's token for another "
        "user's requests (one token kept for every user shows so, and its users then see each other's data)"
    )


def renewed_without_refreshing(observed: Observed) -> str:
    """How an application that made no refresh after a rotation went on instead, where that is what the evidence
    shows ("" otherwise): it signed in again (a new authorization request, as mozilla-django-oidc's
    SessionRefresh does), or went on calling the API with a valid access token. "" where a refresh of its was
    refused (it tried, and failed: the rule that refused it judges that), where the API refused a token of its
    for another reason than its expiry, or where no code of its was redeemed."""
    refreshes = observed.grants("refresh_token")
    if any(r.status != 200 for r in refreshes):
        return ""
    if not any(grant.status == 200 for grant in observed.grants("authorization_code")):
        return ""
    expired = expired_uses(observed)
    # a token the API refused for another reason than its expiry (in a URL, APPC-26): a new sign-in after that
    # answers the refusal, not the expiry, and the rule that judges that call explains the missing refresh
    if any(
        call.status >= 400 and carried_tokens(call) and call not in expired
        for call in observed.api_calls + observed.userinfo_calls
    ):
        return ""
    done = f"refreshed {len(refreshes)} time(s) but never after a rotation" if refreshes else "never refreshed"
    again = _signed_in_again(observed)
    if again is not None:
        refusals = {id(call) for call in expired}
        refused_first = any(id(entry) in refusals for entry in observed.entries[:again])
        after = " after the API refused its expired access token (APPC-20 judges that use)" if refused_first else ""
        return f"the application {done}: it signed in again{after}"
    expiries = token_expiries(observed)
    first_expiry = min(expiries.values(), default=None)
    kept_working = first_expiry is not None and any(
        call.at > first_expiry and call.status < 400 and carried_tokens(call) & set(expiries)
        for call in observed.api_calls + observed.userinfo_calls
    )
    if kept_working and not expired:
        return (
            f"the application {done}: after its first access token expired it went on calling the API with a valid one"
        )
    return ""


def _signed_in_again(observed: Observed) -> int | None:
    """Where in the recorded order the application first signed in again: its first authorization request after a
    code of its was redeemed. One before that (the browser's second try at a sign-in that had not come back yet, at
    load) renews nothing: APPC-15 said "it signed in again after the API refused its expired access token" of a
    second request 9 s before any API call."""
    redemptions = {id(grant) for grant in observed.grants("authorization_code") if grant.status == 200}
    asked = {id(request) for request in observed.authorization_requests}
    redeemed = False
    for index, entry in enumerate(observed.entries):
        if redeemed and id(entry) in asked:
            return index
        redeemed = redeemed or id(entry) in redemptions
    return None


@then("the two sign-ins used different code_challenges")
def challenges_differ(application, app_run):
    """RFC 7636 section 4.1: a code_verifier for each authorization request; the same challenge twice
    means the same verifier twice (S256 or plain alike), so a code stolen from one sign-in can be
    redeemed with what another sign-in revealed."""
    _with_challenge(application, app_run)
    per_sign_in = [
        {r.param("code_challenge") for r in observed.authorization_requests} - {None} for observed in app_run.observed
    ]
    if len(_reached(app_run)) < 2:
        nothing_to_compare(app_run, "whether each sign-in uses a new code_challenge")
    if len(per_sign_in) < 2 or not all(per_sign_in):
        pytest.skip("only one sign-in carried a code_challenge, so there is nothing to compare (see APPC-06)")
    check(
        not per_sign_in[0] & per_sign_in[1],
        "two sign-ins sent the same code_challenge: the application does not make a new code_verifier for "
        "each authorization request",
    )


@then("the two sign-ins used different nonces")
def nonces_differ(application, app_run):
    """OpenID Connect Core section 3.1.2.1: "Sufficient entropy MUST be present in the nonce values used";
    RFC 9700 section 2.1.1: the nonce "MUST be transaction-specific". A nonce sent in every sign-in alike
    (go-oidc's old example: "a super secret nonce") is known to anyone who starts a sign-in: it binds no
    ID token to the session that asked for it. Its state is judged on its own (APPC-03 to APPC-05, APPC-29)."""
    reached = _reached(app_run)
    per_sign_in = [{r.param("nonce") for r in observed.authorization_requests} - {None, ""} for observed in reached]
    if len(reached) < 2:
        nothing_to_compare(app_run, "whether each sign-in uses a new nonce")
    if not any(per_sign_in):
        pytest.skip("not applicable: the application sends no nonce (OPTIONAL in the authorization code flow)")
    if not all(per_sign_in):
        pytest.skip("only one sign-in carried a nonce, so there is nothing to compare")
    check(
        not per_sign_in[0] & per_sign_in[1],
        "two sign-ins sent the same nonce: the application does not make a new, unguessable nonce for each "
        "sign-in, so the nonce binds no ID token to the sign-in that asked for it (OpenID Connect Core section "
        '3.1.2.1: "Sufficient entropy MUST be present in the nonce values used to prevent attackers from guessing '
        'values"; RFC 9700 section 2.1.1: the nonce "MUST be transaction-specific")',
    )


@then("every authorization code is redeemed at most once")
def codes_redeemed_once(request, application, app_run):
    """A redemption the stand-in refused for the client's authentication (invalid_client, HTTP 401) did
    not redeem the code: the same code sent again with another authentication method (x/oauth2's
    AuthStyleAutoDetect retries a refused HTTP Basic with the secret in the form body) is no reuse.
    Every redemption after one the stand-in answered otherwise (tokens, or invalid_grant) is."""
    skip_unless_a_sign_in_started(application, app_run.sign_ins, app_run.observed)
    redemptions = [r for observed in app_run.observed for r in observed.grants("authorization_code")]
    if not redemptions:
        # no code redeemed is no second redemption: blocked by what broke the sign-in, else not checked
        # (appside.record), never a failure of its own
        request.node.user_properties.append((UNCHECKED_UNLESS_BLOCKED, True))
        nothing_to_judge(
            application,
            app_run,
            "the application redeemed no authorization code in its sign-ins, so none could be redeemed twice",
        )
    codes: dict[str, list] = {}
    for redemption in sorted(redemptions, key=lambda r: r.at):
        codes.setdefault(redemption.param("code"), []).append(redemption)
    reloaded = _callbacks_reloaded(app_run)
    judged = 0
    for code, same_code in codes.items():
        first = next((n for n, r in enumerate(same_code) if not client_authentication_refused(r)), None)
        if first is None:
            continue  # the stand-in never took the code: nothing was redeemed that could be redeemed again
        judged += 1
        after_reload = [r for r in same_code[first + 1 :] if r.at >= reloaded.get(code, float("inf"))]
        check(
            first == len(same_code) - 1,
            (
                f"the application redeemed one authorization code {len(same_code) - first} times (the stand-in "
                f"answered HTTP {', '.join(str(r.status) for r in same_code[first:])})"
                + (
                    f", {len(after_reload)} of them after the suite loaded the sign-in's callback URL once more, as "
                    "a user pressing reload on it does: a callback loaded again must not redeem its code again"
                    if after_reload
                    else ""
                )
                + ": a code is used once, whatever the first answer was"
                + (
                    f" (before them, {first} redemption(s) refused for the client's authentication, which did not "
                    "redeem it)"
                    if first
                    else ""
                )
            ),
        )
    # one cause, one failure: the refused client authentication blocks this rule (APPC-10 in its `needs`)
    if not judged:
        request.node.user_properties.append((UNCHECKED_UNLESS_BLOCKED, True))
    require(
        judged,
        "the stand-in refused every code redemption for the application's client authentication "
        "(invalid_client, HTTP 401), so no code was ever redeemed that could be redeemed twice",
    )


def _callbacks_reloaded(app_run) -> dict[str, float]:
    """code -> when the suite loaded the callback URL of the sign-in that redeemed it again (concurrent._reloaded),
    for the sign-ins whose callback was; what that load led to is attached."""
    reloaded: dict[str, float] = {}
    for sign_in, observed in zip(app_run.sign_ins, app_run.observed, strict=False):
        at = getattr(sign_in, "callback_reloaded_at", None)
        if getattr(sign_in, "callback_reload", ""):
            allure.attach(
                sign_in.callback_reload, name="a callback loaded again", attachment_type=allure.attachment_type.TEXT
            )
        if at is not None:
            for redemption in observed.grants("authorization_code"):
                reloaded.setdefault(redemption.param("code"), at)
    return reloaded


def client_authentication_refused(token_request) -> bool:
    """Whether the stand-in refused the request for the client's authentication (RFC 6749 section 5.2:
    invalid_client, HTTP 401 where the client used an Authorization header)."""
    return token_request.status == 401 or (token_request.response_json or {}).get("error") == "invalid_client"
