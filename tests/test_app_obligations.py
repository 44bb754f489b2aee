"""The request rules APPC-15 and APPC-22 to APPC-24 on recorded requests, without a browser: each fails on the
defect its sentence forbids, with a message that names it, and passes what the sentence allows."""

import base64
import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest

from appside.observed import Observed
from appside.steps.client_secret import one_authentication_method
from appside.steps.requests_sent import challenges_differ, codes_redeemed_once, newest_refresh_token
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.verdict.checks import MetTheCause, NonConformance

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BASIC = {"Authorization": "Basic " + base64.b64encode(b"reference-web:s3cret-s3cret").decode(), **FORM}


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
    is_interactive=True,
    client_id="reference-web",
    drive=SimpleNamespace(shows_signed_in=lambda: "x", signed_in=None, timeout=20.0),
    app_type="web",
    redirect_uris=("http://127.0.0.1:5081/callback",),
)


def test_appc23_a_code_redeemed_twice_fails_whatever_the_second_answer():
    one, two = _authorize("c" * 43), _authorize("d" * 43)
    codes_redeemed_once(_scenario(), WEB, _run([one, _redeem("code-1")], [two, _redeem("code-2")]))
    with pytest.raises(NonConformance, match=r"redeemed one authorization code 2 times .*HTTP 200, 400"):
        codes_redeemed_once(
            _scenario(), WEB, _run([one, _redeem("code-1"), _redeem("code-1", status=400)], [two, _redeem("code-2")])
        )


def test_appc23_a_code_sent_again_after_a_refused_client_authentication_is_no_reuse():
    """x/oauth2's AuthStyleAutoDetect sends the code with HTTP Basic and, on a 401, the same code with the
    secret in the form body: the refused redemption redeemed nothing (RFC 6749 section 5.2, invalid_client).
    A wrong secret refused both ways leaves no code redeemed: nothing to judge, blocked by APPC-10."""
    from suite.verdict.checks import NothingToCheck

    one, two = _authorize("c" * 43), _authorize("d" * 43)
    retried = _run([one, _refused_redemption("code-1"), _redeem("code-1")], [two, _redeem("code-2")])
    codes_redeemed_once(_scenario(), WEB, retried)
    with pytest.raises(NothingToCheck, match="refused every code redemption for the application's client auth"):
        codes_redeemed_once(
            _scenario(),
            WEB,
            _run(
                [one, _refused_redemption("code-1"), _refused_redemption("code-1")],
                [two, _refused_redemption("code-2"), _refused_redemption("code-2")],
            ),
        )
    with pytest.raises(NonConformance, match=r"2 times \(the stand-in answered HTTP 200, 400\).*1 redemption"):
        codes_redeemed_once(
            _scenario(),
            WEB,
            _run(
                [one, _refused_redemption("code-1"), _redeem("code-1"), _redeem("code-1", status=400)],
                [two, _redeem("code-2")],
            ),
        )


def _refused_redemption(code: str) -> RecordedRequest:
    """Refused for the client's authentication, as the stand-in answers a wrong secret in HTTP Basic."""
    return dataclasses.replace(_redeem(code, status=401), response_json={"error": "invalid_client"})


def _scenario():
    """The pytest request of a scenario: where a step notes what the record must know."""
    return SimpleNamespace(node=SimpleNamespace(user_properties=[]))


def test_appc23_and_appc26_with_nothing_to_judge_are_blocked_where_the_sign_in_broke_and_skipped_where_it_did_not():
    """One cause, one failure: sign-ins broken before any code (a redirect_uri Visma Connect refuses,
    APPC-02) leave APPC-23 and APPC-26 nothing to judge, and that is the cause's (require: blocked by
    it), not "skipped"; sign-ins that finished without a code or a token leave nothing to judge."""
    from appside.browser_driver import SignIn
    from appside.steps.leaks import tokens_not_in_urls
    from suite.verdict.checks import NothingToCheck

    broken = _run([_authorize("c" * 43)], [_authorize("d" * 43)])
    broken.sign_ins = [SignIn(False, None, seconds=21.0), SignIn(False, None, seconds=21.0)]
    request = _scenario()
    with pytest.raises(NothingToCheck, match=r"normal sign-in 1: the application did not show x \(watched 21 s"):
        codes_redeemed_once(request, WEB, broken)
    # APPC-23's is never a failure of its own: blocked by the cause, else not checked (appside.record)
    assert ("unchecked_unless_blocked", True) in request.node.user_properties
    with pytest.raises(NothingToCheck, match=r"normal sign-in 1: the application did not show x \(watched 21 s"):
        tokens_not_in_urls(WEB, broken)
    finished = _run([_authorize("c" * 43)], [_authorize("d" * 43)])
    finished.sign_ins = [SignIn(True, 200), SignIn(True, 200)]
    with pytest.raises(pytest.skip.Exception, match="redeemed no authorization code"):
        codes_redeemed_once(_scenario(), WEB, finished)


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


def test_appc10_names_every_way_the_application_authenticated_in_the_record():
    """x/oauth2 retries a refused HTTP Basic with the secret in the form body: the record names both ways,
    not only the last request's, and APPC-10 fails on the wrong Basic secret whichever came last."""
    from appside.steps.requests_sent import web_app_authenticates

    web: Any = SimpleNamespace(**vars(WEB), client_secret="s3cret-s3cret", uses_pkce=False)
    in_form = [("client_secret", "s3cret-s3cret"), ("client_id", "reference-web")]
    retried = dataclasses.replace(_redeem("code-1"), form=(*_redeem("code-1").form, *in_form), headers=FORM)
    node = SimpleNamespace(user_properties=[], stash=pytest.Stash())
    request: Any = SimpleNamespace(node=node)
    web_app_authenticates(request, web, _run([_authorize("c" * 43), _redeem("code-1"), retried]))
    assert dict(node.user_properties)["client_authentication"] == (
        "code redemption: HTTP Basic, form-urlencoded or as they are (the encoding leaves their characters alone), "
        "then client_secret in the form body"
    )
    wrong = {"Authorization": "Basic " + base64.b64encode(b"reference-web:not-the-secret").decode(), **FORM}
    refused = dataclasses.replace(_refused_redemption("code-1"), headers=wrong)
    node.user_properties.clear()
    node.stash = pytest.Stash()
    with pytest.raises(NonConformance, match="HTTP Basic header carries another secret"):
        web_app_authenticates(request, web, _run([_authorize("c" * 43), refused, retried]))
    assert ", then client_secret in the form body" in dict(node.user_properties)["client_authentication"]


def test_appc10_a_code_redemption_with_every_parameter_in_its_url_is_blocked_by_appc11():
    """aiohttp-oauthlib's force_querystring=True: the code redemption is POSTed with an empty body and every
    parameter in the token URL, the secret and the code_verifier too. The verifier there is no PKCE request (the
    server reads the form body only), so the request authenticates nothing: APPC-11's one cause, not a pass."""
    from appside.steps.requests_sent import web_app_authenticates

    web: Any = SimpleNamespace(**vars(WEB), client_secret="s3cret-s3cret", uses_pkce=True)
    query = [("grant_type", "authorization_code"), ("client_id", "reference-web"), ("code_verifier", "v" * 43)]
    query += [("client_secret", "s3cret-s3cret"), ("code", "code-1")]
    in_url = RecordedRequest(0.0, "POST", PATHS["token_endpoint"], tuple(query), (), FORM, "", 401)
    request: Any = SimpleNamespace(node=SimpleNamespace(user_properties=[], stash=pytest.Stash()))
    with pytest.raises(MetTheCause, match=r"carries the client secret in its URL only.*APPC-11 names it"):
        web_app_authenticates(request, web, _run([_authorize("c" * 43), in_url]))


def test_appc30_the_same_nonce_twice_fails_a_new_one_each_time_passes_and_none_is_not_applicable():
    """go-oidc's old example sends "a super secret nonce" in every sign-in, with a random state: the
    nonce rule fails (OpenID Connect Core section 3.1.2.1, RFC 9700 section 2.1.1), no state rule does."""
    from appside.steps.requests_sent import nonces_differ

    def asking(nonce: str | None, state: str) -> RecordedRequest:
        query = [("state", state)] + ([("nonce", nonce)] if nonce else [])
        return _request(PATHS["authorization_endpoint"], query=query)

    nonces_differ(WEB, _run([asking("n" * 22, "s1")], [asking("m" * 22, "s2")]))
    with pytest.raises(NonConformance, match="two sign-ins sent the same nonce"):
        nonces_differ(WEB, _run([asking("a super secret nonce", "s1")], [asking("a super secret nonce", "s2")]))
    with pytest.raises(pytest.skip.Exception, match="not applicable: the application sends no nonce"):
        nonces_differ(WEB, _run([asking(None, "s1")], [asking(None, "s2")]))


def _refresh(old: str, new: str, status: int = 200) -> RecordedRequest:
    form = [("grant_type", "refresh_token"), ("refresh_token", old)]
    request = _request(PATHS["token_endpoint"], form=form, headers=BASIC, status=status)
    answer = {"access_token": f"at-{new}", "refresh_token": new, "expires_in": 3} if status == 200 else None
    return dataclasses.replace(request, response_json=answer)


def _redeemed(code: str, refresh_token: str, **answer) -> RecordedRequest:
    answer = {"access_token": f"at-{refresh_token}", "refresh_token": refresh_token, "expires_in": 3, **answer}
    return dataclasses.replace(_redeem(code), response_json=answer)


def test_appc15_an_application_that_refreshed_once_then_signed_in_again_is_not_judged_on_rotation():
    """An outside Flask application on Authlib refreshed once at once (Authlib's 60 s leeway took the 3-second
    token as expired), then, when its token expired, signed in again instead of refreshing (mozilla-django-oidc's
    way): no refresh came after the rotation, and APPC-15 could not be checked (exit 5), where docs/client-libraries.md
    says such an application passes APPC-20 and APPC-15 does not apply."""
    relogin = [_authorize("c" * 43), _redeemed("code-1", "rt-1"), _refresh("rt-1", "rt-2")]
    relogin += [_authorize("d" * 43), _redeemed("code-2", "rt-3")]
    with pytest.raises(pytest.skip.Exception, match=r"^not applicable: .*refreshed 1 time.*never after a rotation"):
        newest_refresh_token(WEB, _run(relogin))
    # one that tried to refresh and was refused is judged as before: no refresh after a rotation was seen
    refused = [_authorize("c" * 43), _redeemed("code-1", "rt-1"), _refresh("rt-1", "", status=400)]
    refused += [_authorize("d" * 43), _redeemed("code-2", "rt-3")]
    with pytest.raises(NonConformance, match=r"no refresh after a rotation was seen: .* refused it"):
        newest_refresh_token(WEB, _run(refused))


def test_appc15_an_application_that_sends_its_id_token_as_the_bearer_token_could_not_be_checked():
    """It never refreshes because the API never answered it: its new sign-ins answer the API's refusal of the ID
    token, not the access token's expiry, so APPC-15 is not "not applicable" but could not be checked, naming why."""
    from appside.record import UNCHECKED

    call = dataclasses.replace(
        _request("/api/invoices", headers={"Authorization": "Bearer id-1"}, status=401), method="GET"
    )
    entries = [_authorize("c" * 43), _redeemed("code-1", "rt-1", id_token="id-1"), call, _authorize("d" * 43)]
    with pytest.raises(pytest.skip.Exception, match=f"^{UNCHECKED}: .*sent its ID token as the bearer token"):
        newest_refresh_token(WEB, _run(entries))


def test_appc15_names_the_token_of_another_sign_in_where_the_application_used_one(monkeypatch):
    """An outside Flask application kept one token for every user: APPC-15 said only "did not refresh twice with
    success"; no sentence a rule quotes says whose token an application may send, so it still could not be
    checked, but the message names the evidence: the API used meanwhile with another, ended sign-in's token."""
    from appside.steps import requests_sent
    from suite.verdict.checks import NothingToCheck

    api = dataclasses.replace(
        _request("/api/invoices", headers={"Authorization": "Bearer at-rt-9"}), method="GET", at=30.0
    )
    theirs = dataclasses.replace(_redeemed("code-9", "rt-9"), notes={"user": "test.user.9"})
    own = Observed([_authorize("c" * 43), _redeemed("code-1", "rt-1"), _refresh("rt-1", "rt-2")], window=(0.0, 40.0))
    other = Observed([_authorize("d" * 43), theirs, api], window=(0.0, 20.0))
    monkeypatch.setattr(requests_sent, "every_flow_made", lambda: [("mine", [], own), ("theirs", [], other)])
    with pytest.raises(NothingToCheck, match=r"issued to other sign-ins \(test\.user\.9\), each made after"):
        newest_refresh_token(WEB, AppRun(observed=[own]))
