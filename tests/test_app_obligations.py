"""The request rules APPC-15 and APPC-22 to APPC-24 on recorded requests, without a browser: each fails on the
defect its sentence forbids, with a message that names it, and passes what the sentence allows."""

import base64
from types import SimpleNamespace

import pytest

from appside.observed import Observed
from appside.steps.client_secret import one_authentication_method
from appside.steps.requests_sent import challenges_differ, codes_redeemed_once, newest_refresh_token
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NonConformance

BASIC = {"Authorization": "Basic " + base64.b64encode(b"reference-web:s3cret-s3cret").decode()}


def _request(path, query=(), form=(), headers=None, status=200) -> RecordedRequest:
    return RecordedRequest(0.0, "GET" if query else "POST", path, tuple(query), tuple(form), headers or {}, "", status)


def _authorize(challenge: str) -> RecordedRequest:
    return _request(PATHS["authorization_endpoint"], query=[("code_challenge", challenge), ("state", challenge)])


def _redeem(code: str, status: int = 200, **extra) -> RecordedRequest:
    form = [("grant_type", "authorization_code"), ("code", code), *extra.items()]
    return _request(PATHS["token_endpoint"], form=form, headers=BASIC, status=status)


def _run(*sign_ins) -> AppRun:
    return AppRun(observed=[Observed(list(entries)) for entries in sign_ins])


def test_appc22_the_same_code_challenge_twice_fails_and_a_new_one_each_time_passes():
    spa = SimpleNamespace(uses_pkce=True, client_id="reference-spa", is_interactive=True)
    challenges_differ(spa, _run([_authorize("c" * 43)], [_authorize("d" * 43)]))
    with pytest.raises(NonConformance, match="same code_challenge"):
        challenges_differ(spa, _run([_authorize("c" * 43)], [_authorize("c" * 43)]))


WEB = SimpleNamespace(
    is_interactive=True, client_id="reference-web", drive=SimpleNamespace(shows_signed_in=lambda: "x")
)


def test_appc23_a_code_redeemed_twice_fails_whatever_the_second_answer():
    one, two = _authorize("c" * 43), _authorize("d" * 43)
    codes_redeemed_once(WEB, _run([one, _redeem("code-1")], [two, _redeem("code-2")]))
    with pytest.raises(NonConformance, match=r"redeemed one authorization code 2 times .*HTTP 200, 400"):
        codes_redeemed_once(
            WEB, _run([one, _redeem("code-1"), _redeem("code-1", status=400)], [two, _redeem("code-2")])
        )


def test_appc23_and_appc26_with_nothing_to_judge_are_blocked_where_the_sign_in_broke_and_skipped_where_it_did_not():
    """One cause, one failure: sign-ins broken before any code (a redirect_uri Visma Connect refuses,
    APPC-02) leave APPC-23 and APPC-26 nothing to judge, and that is the cause's (require: blocked by
    it), not "skipped"; sign-ins that finished without a code or a token leave nothing to judge."""
    from appside.browser_driver import SignIn
    from appside.steps.leaks import tokens_not_in_urls
    from suite.verdict.checks import NothingToCheck

    broken = _run([_authorize("c" * 43)], [_authorize("d" * 43)])
    broken.sign_ins = [SignIn(False, None, seconds=21.0), SignIn(False, None, seconds=21.0)]
    for rule in (codes_redeemed_once, tokens_not_in_urls):
        with pytest.raises(NothingToCheck, match=r"normal sign-in 1: the application did not show x \(watched 21 s"):
            rule(WEB, broken)
    finished = _run([_authorize("c" * 43)], [_authorize("d" * 43)])
    finished.sign_ins = [SignIn(True, 200), SignIn(True, 200)]
    with pytest.raises(pytest.skip.Exception, match="redeemed no authorization code"):
        codes_redeemed_once(WEB, finished)


def test_appc24_two_authentication_methods_fail_and_a_client_id_beside_basic_passes():
    one_authentication_method(WEB, _run([_redeem("code-1", client_id="reference-web")]))
    with pytest.raises(NonConformance, match="2 ways at once: HTTP Basic, client_secret in the body"):
        one_authentication_method(WEB, _run([_redeem("code-1", client_secret="s3cret-s3cret")]))


def test_appc15_an_application_that_signs_in_again_instead_of_refreshing_is_not_judged_on_rotation():
    """RFC 6749 section 6 binds a client that refreshes: one that signs in again when its access token
    expires (APPC-20 allows it) has no refresh token to get wrong, so APPC-15 does not apply; one that
    neither refreshes nor signs in again has shown nothing, and APPC-15 cannot pass."""
    signed_in_again = _run([_authorize("c" * 43), _redeem("code-1"), _authorize("d" * 43), _redeem("code-2")])
    with pytest.raises(pytest.skip.Exception, match="signed in again"):
        newest_refresh_token(WEB, signed_in_again)
    with pytest.raises(NonConformance, match="no refresh after a rotation"):
        newest_refresh_token(WEB, _run([_authorize("c" * 43), _redeem("code-1")]))
