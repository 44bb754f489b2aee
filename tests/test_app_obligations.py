"""The request rules APPC-22 to APPC-24 on recorded requests, without a browser: each fails on the
defect its sentence forbids, with a message that names it, and passes what the sentence allows."""

import base64
from types import SimpleNamespace

import pytest

from appside.observed import Observed
from appside.steps.client_secret import one_authentication_method
from appside.steps.requests_sent import challenges_differ, codes_redeemed_once
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
    spa = SimpleNamespace(uses_pkce=True, client_id="reference-spa")
    challenges_differ(spa, _run([_authorize("c" * 43)], [_authorize("d" * 43)]))
    with pytest.raises(NonConformance, match="same code_challenge"):
        challenges_differ(spa, _run([_authorize("c" * 43)], [_authorize("c" * 43)]))


def test_appc23_a_code_redeemed_twice_fails_whatever_the_second_answer():
    codes_redeemed_once(_run([_redeem("code-1")], [_redeem("code-2")]))
    with pytest.raises(NonConformance, match=r"redeemed one authorization code 2 times .*HTTP 200, 400"):
        codes_redeemed_once(_run([_redeem("code-1"), _redeem("code-1", status=400)], [_redeem("code-2")]))


def test_appc24_two_authentication_methods_fail_and_a_client_id_beside_basic_passes():
    one_authentication_method(_run([_redeem("code-1", client_id="reference-web")]))
    with pytest.raises(NonConformance, match="2 ways at once: HTTP Basic, client_secret in the body"):
        one_authentication_method(_run([_redeem("code-1", client_secret="s3cret-s3cret")]))
