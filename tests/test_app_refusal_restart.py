"""Application side: a refusal is judged by what the application did with the faulty response. An
application that answers a refused callback by starting a new sign-in (passport-openidconnect's
README: failureRedirect '/login') refused it; the new sign-in's code, tokens and signed-in page are
not held against the faulty response, while redeeming the faulty callback's code, or using the
faulty token response's access token, still fails. So with a token request the stand-in refused
(APPC-36): an error, a new sign-in or the home page signed out passes; the signed-in marker, or a
call to the Visma API with a bearer token the sign-in was never given, fails."""

from types import SimpleNamespace

import pytest

from appside.browser_driver import BrowserSession, SignIn
from appside.observed import Observed
from appside.steps.refusals import (
    TOKEN_REFUSED,
    no_api_call,
    no_redemption,
    not_signed_in,
    token_request_refused,
)
from appside.steps.sign_ins import AppRun
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NonConformance, NothingToCheck

CALLBACK = "http://127.0.0.1:5000/callback"
FIRST, SECOND = "first-sign-in-access-token", "new-sign-in-access-token"


def _request(at, method, path, query=(), form=(), headers=None, status=200, location="", answer=None):
    return RecordedRequest(at, method, path, tuple(query), tuple(form), headers or {}, "", status, location, answer)


def _authorization(at, state):
    return _request(at, "GET", "/connect/authorize", (("state", state), ("response_type", "code")))


def _callback(at, **params):
    return _request(
        at,
        "POST",
        "/connect/authorize",
        status=302,
        location=f"{CALLBACK}?" + "&".join(f"{k}={v}" for k, v in params.items()),
    )


def _redemption(at, code, token=None):
    answer = {"access_token": token, "token_type": "Bearer", "id_token": "x.e30.y"} if token else None
    form = (("grant_type", "authorization_code"), *((("code", code),) if code else ()))
    return _request(at, "POST", "/connect/token", form=form, status=200 if token else 400, answer=answer)


def _api(at, token):
    return _request(at, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def _restarted_after(faulty_callback, *faulted):
    """The faulty sign-in, what the application did with it (`faulted`), then a new sign-in it started
    that the user completed: its code redeemed, its token used."""
    return [
        _authorization(1.0, "s1"),
        faulty_callback,
        *faulted,
        _authorization(3.0, "s2"),
        _callback(4.0, code="c2", state="s2"),
        _redemption(5.0, "c2", SECOND),
        _api(6.0, SECOND),
    ]


def _judged(fault, entries, finished=False) -> str:
    app_run = AppRun(sign_ins=[SignIn(finished, 302)], observed=[Observed(entries)], fault=fault)
    request = SimpleNamespace(node=SimpleNamespace(user_properties=[]))
    application = SimpleNamespace(drive=SimpleNamespace(shows_signed_in=lambda: "the text 'Welcome'"))
    try:
        not_signed_in(request, application, app_run)
        no_api_call(request, app_run)
        if not fault.startswith("id-token-"):  # APPC-21's code is redeemed: the ID token comes in its answer
            no_redemption(request, app_run)
    except NonConformance as failure:
        return f"failed: {failure}"
    return "passed"


@pytest.mark.parametrize(
    ("fault", "callback"),
    [
        ("callback-state-wrong", _callback(2.0, code="c1", state="another")),
        ("callback-state-missing", _callback(2.0, code="c1")),
        ("access-denied", _callback(2.0, error="access_denied", state="s1")),
    ],
)
def test_a_new_sign_in_after_a_refused_callback_is_the_refusal_not_its_acceptance(fault, callback):
    assert _judged(fault, _restarted_after(callback)) == "passed"


def test_the_faulty_callbacks_own_code_redeemed_fails_whatever_followed():
    faulty = _callback(2.0, code="c1", state="another")
    verdict = _judged("callback-state-wrong", _restarted_after(faulty, _redemption(2.5, "c1", FIRST)))
    assert verdict.startswith("failed: after the fault callback-state-wrong the application redeemed the faulty")


def test_a_redemption_after_a_callback_without_code_says_there_was_no_code():
    faulty = _callback(2.0, error="access_denied", state="s1")
    verdict = _judged("access-denied", _restarted_after(faulty, _redemption(2.5, None)))
    assert "the callback carried no authorization code (error=access_denied)" in verdict
    assert "with no code: there was nothing to redeem" in verdict
    assert "redeemed the authorization code" not in verdict


def test_an_id_tokens_access_token_used_fails_even_after_a_new_sign_in():
    faulty = _callback(2.0, code="c1", state="s1")
    refused = _restarted_after(faulty, _redemption(2.5, "c1", FIRST))
    assert _judged("id-token-aud-wrong", refused) == "passed"
    verdict = _judged("id-token-aud-wrong", [*refused, _api(7.0, FIRST)])
    assert (
        verdict == "failed: after the fault id-token-aud-wrong the application called the Visma API with an "
        "access token of the faulty response: it accepted a response it must refuse"
    )


def test_without_a_new_sign_in_an_api_call_with_the_faulty_token_still_counts():
    faulty = _callback(2.0, code="c1", state="s1")
    accepted = [_authorization(1.0, "s1"), faulty, _redemption(2.5, "c1", FIRST), _api(3.0, FIRST)]
    assert _judged("id-token-iss-wrong", accepted).startswith(
        "failed: after the fault id-token-iss-wrong the application called the Visma API"
    )
    assert _judged("id-token-iss-wrong", accepted[:3], finished=True).startswith(
        "failed: after the fault id-token-iss-wrong the application showed the text 'Welcome'"
    )


def _session(*urls):
    session = BrowserSession.__new__(BrowserSession)
    session.urls = list(urls)
    session._authorization_endpoint = ("localhost:5999", "/connect/authorize")
    session._callback_uris = ["http://127.0.0.1:5000/callback"]
    session._any_port = ()  # a web application's callback: its own port only
    return session


AUTHORIZE = "http://localhost:5999/connect/authorize?state="


@pytest.mark.parametrize(
    ("urls", "restarted"),
    [
        # sign-in page, authorization request, login, consent, callback, its error page: no new sign-in
        (
            [
                "http://127.0.0.1:5000/login",
                AUTHORIZE + "s1",
                "http://localhost:5999/account/login",
                AUTHORIZE + "s1",
                CALLBACK + "?code=c1",
                "http://127.0.0.1:5000/failed",
            ],
            False,
        ),
        # the callback sends the browser to the application's login, and that to the stand-in again
        ([AUTHORIZE + "s1", CALLBACK + "?code=c1", "http://127.0.0.1:5000/login", AUTHORIZE + "s2"], True),
        # a single-page application whose first page is its callback's path: that is no callback yet
        ([CALLBACK, AUTHORIZE + "s1", "http://localhost:5999/account/login"], False),
    ],
)
def test_the_browser_sees_a_new_sign_in_only_after_an_authorization_request_and_its_callback(urls, restarted):
    assert _session(*urls)._restarted(0) is restarted


def _ping(at):
    """A health ping of the API without a token, as an outside Flask application sent on every page."""
    return _request(at, "GET", "/api/status", status=401)


@pytest.mark.parametrize(
    ("fault", "callback"),
    [
        ("callback-state-wrong", _callback(2.0, code="c1", state="another")),
        ("callback-state-missing", _callback(2.0, code="c1")),
    ],
)
def test_an_api_call_without_a_token_of_the_faulty_response_is_no_acceptance(fault, callback):
    """The application answered the faulty callback with its error page and stayed there (no new sign-in),
    pinging the API without a token on its callback and home pages, and another user's sign-in going on at
    the same time called it with its own token: neither is evidence of what it did with this response."""
    refused = [_authorization(1.0, "s1"), _ping(1.5), callback, _ping(2.1), _api(2.2, "another-users-token")]
    assert _judged(fault, refused) == "passed"


def test_the_faulty_responses_id_token_as_the_bearer_token_fails_naming_it():
    faulty = _callback(2.0, code="c1", state="s1")
    accepted = [_authorization(1.0, "s1"), faulty, _redemption(2.5, "c1", FIRST), _api(3.0, "x.e30.y")]
    assert _judged("id-token-iss-wrong", accepted) == (
        "failed: after the fault id-token-iss-wrong the application called the Visma API with the ID token of the "
        "faulty response as its bearer token: it accepted a response it must refuse"
    )


def _token_refused_judged(entries, finished=False) -> str:
    """APPC-36's steps on a sign-in whose code redemption the stand-in refused (invalid_grant, no token)."""
    app_run = AppRun(sign_ins=[SignIn(finished, 400)], observed=[Observed(entries)], fault=TOKEN_REFUSED)
    request = SimpleNamespace(node=SimpleNamespace(user_properties=[("fault", TOKEN_REFUSED)]))
    application = SimpleNamespace(app_type="web", drive=SimpleNamespace(shows_signed_in=lambda: "the text 'Welcome'"))
    try:
        token_request_refused(application, app_run)
        not_signed_in(request, application, app_run)
    except NonConformance as failure:
        return f"failed: {failure}"
    return "passed"


def _refused_redemption(at, code):
    form = (("grant_type", "authorization_code"), ("code", code))
    return _request(at, "POST", "/connect/token", form=form, status=400, answer={"error": "invalid_grant"})


REFUSED_SIGN_IN = [_authorization(1.0, "s1"), _callback(2.0, code="c1", state="s1"), _refused_redemption(2.5, "c1")]


@pytest.mark.parametrize(
    "after",
    [
        [],  # an error page, or its home page signed out: nothing sent
        [_request(3.0, "GET", "/api/v1/health")],  # a call with no token is no call as someone
        # a new sign-in (a retry): what it leads to, its own token used, is its own
        [
            _authorization(3.0, "s2"),
            _callback(4.0, code="c2", state="s2"),
            _redemption(5.0, "c2", SECOND),
            _api(6.0, SECOND),
        ],
    ],
    ids=["error-or-home", "tokenless-ping", "retry"],
)
def test_a_refused_token_request_met_with_an_error_a_retry_or_the_home_page_passes(after):
    assert _token_refused_judged([*REFUSED_SIGN_IN, *after]) == "passed"


def test_a_refused_token_request_taken_for_a_sign_in_fails_citing_the_token_response_validation():
    verdict = _token_refused_judged(REFUSED_SIGN_IN, finished=True)
    assert verdict.startswith(
        "failed: after the fault token-request-refused the application showed the text 'Welcome': it accepted"
    ), verdict
    assert '"Clients MUST validate the ID Token in the Token Response"' in verdict


def test_a_code_never_redeemed_never_met_the_refusal():
    app_run = AppRun(sign_ins=[SignIn(False, 400)], observed=[Observed(REFUSED_SIGN_IN[:2])], fault=TOKEN_REFUSED)
    with pytest.raises(NothingToCheck, match="did not redeem the code of the sign-in with token-request-refused"):
        token_request_refused(SimpleNamespace(app_type="web"), app_run)


def test_a_redemption_refused_for_another_cause_first_never_met_the_fault():
    """A token request refused for its client authentication (invalid_client) got no invalid_grant: blocked by
    APPC-10, which judges how it authenticates, not failed here."""
    form = (("grant_type", "authorization_code"), ("code", "c1"))
    unauthenticated = _request(2.5, "POST", "/connect/token", form=form, status=401, answer={"error": "invalid_client"})
    entries = [*REFUSED_SIGN_IN[:2], unauthenticated]
    app_run = AppRun(sign_ins=[SignIn(False, 400)], observed=[Observed(entries)], fault=TOKEN_REFUSED)
    with pytest.raises(NothingToCheck, match=r"for another cause first \(HTTP 401, invalid_client\)"):
        token_request_refused(SimpleNamespace(app_type="web"), app_run)


def test_a_redemption_sent_again_after_its_client_authentication_was_refused_is_the_one_the_fault_answered():
    """x/oauth2's AuthStyleAutoDetect: Basic refused (invalid_client), the same code sent again with the secret in the
    form, and that one refused with invalid_grant: the fault came."""
    form = (("grant_type", "authorization_code"), ("code", "c1"))
    unauthenticated = _request(2.4, "POST", "/connect/token", form=form, status=401, answer={"error": "invalid_client"})
    entries = [*REFUSED_SIGN_IN[:2], unauthenticated, REFUSED_SIGN_IN[2]]
    app_run = AppRun(sign_ins=[SignIn(False, 400)], observed=[Observed(entries)], fault=TOKEN_REFUSED)
    token_request_refused(SimpleNamespace(app_type="web"), app_run)  # no NothingToCheck


def test_a_refusal_watched_for_less_time_than_the_normal_sign_in_took_to_redeem_is_no_evidence():
    """The breaker outsider's application redeemed its code in a background thread 12 s after its callback: the
    normal sign-in's redemption came 12 s after its callback, the refused sign-in was watched 2 s after its own,
    and APPC-16/17 passed because no redemption came in those 2 s."""
    normal = Observed(
        [_authorization(0.0, "n1"), _callback(1.0, code="n1", state="n1"), _redemption(13.0, "n1", FIRST)]
    )
    faulty = [_authorization(20.0, "s1"), _callback(21.0, code="c1", state="another")]

    def judged(watched_until: float) -> str:
        app_run = AppRun(
            sign_ins=[SignIn(False, 200)],
            observed=[Observed(faulty, window=(20.0, watched_until))],
            fault="callback-state-wrong",
            baseline=(SignIn(False, 200), normal),
        )
        try:
            no_redemption(SimpleNamespace(node=SimpleNamespace(user_properties=[])), app_run)
        except pytest.skip.Exception as skipped:
            return f"skipped: {skipped}"
        return "passed"

    assert judged(23.0).startswith(
        "skipped: could not be checked for this application: its normal sign-in redeemed its code 12.0 s after its "
        "callback, and this sign-in was watched only 2.0 s after its own"
    )
    assert judged(34.0) == "passed"  # watched 13 s: a redemption as late as the normal one's would have been seen
