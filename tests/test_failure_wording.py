"""Failure and skip messages say what actually happened and cite the sentence that applies: what a
real server (django-oidc-provider, @node-oauth/oauth2-server) sent was misdescribed before."""

from types import SimpleNamespace

import pytest
import requests

from steps.authorization import authorization_refused, callback_state_round_trip, code_of
from steps.token_endpoint import token_request_refused
from steps.ui_locales import other_language_offered
from steps.userinfo import userinfo_invalid_token, userinfo_no_longer_accepts
from suite.verdict.checks import NonConformance

CALLBACK = "https://spa.app.local/callback"


def _failure(step, *args) -> str:
    with pytest.raises(NonConformance) as failure:
        step(*args)
    return str(failure.value)


def _response(status, headers=None, body=b"", request_headers=None) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    response.headers.update(headers or {})
    response.request = requests.Request("POST", "https://issuer.example/token", headers=request_headers).prepare()
    return response


def _callback(params: dict, sent_params: dict | None = None):
    outcome = SimpleNamespace(
        callback_url=CALLBACK + "?x", callback_params=params, describe=lambda: f"the browser was sent to {CALLBACK}"
    )
    authorization = SimpleNamespace(state="st-sent", params=sent_params or {})
    client = SimpleNamespace(role="spa", client_id="dj-spa", redirect_uri=CALLBACK)
    return SimpleNamespace(outcome=outcome, client=client, authorization=authorization)


def _scenario_of(rule_id: str):
    return SimpleNamespace(node=SimpleNamespace(get_closest_marker=lambda name: SimpleNamespace(args=(rule_id,))))


def test_auth02_names_an_empty_state_as_such():
    message = _failure(callback_state_round_trip, _callback({"state": "", "code": "c"}))
    assert "an empty state (state= with no value), not the state sent 'st-sent'" in message
    assert "state ''" not in message


def test_pkce04_cites_visma_for_requiring_pkce_of_an_spa():
    message = _failure(authorization_refused, _callback({"code": "c"}), _scenario_of("PKCE-04"))
    assert "Visma's spa app type requires PKCE" in message and "client secrets cannot be safely stored" in message
    assert (
        "A server that requires PKCE, or does not support the requested transformation, returns invalid_request"
        in message
    )


def test_pkce08_names_the_missing_method_that_defaults_to_plain():
    refused = _failure(authorization_refused, _callback({"code": "c"}), _scenario_of("PKCE-08"))
    assert 'no code_challenge_method, which defaults to "plain"' in refused and "RFC 7636 section 4.3" in refused
    no_code = _failure(code_of, _callback({"error": "invalid_request"}, {"code_challenge": "v"}))
    assert "a code_challenge and no code_challenge_method" in no_code and "RFC 7636 section 4.3" in no_code


def test_svc08_names_http_basic_as_the_reason_401_is_required():
    response = _response(
        400, {"Content-Type": "application/json"}, b'{"error": "invalid_client"}', {"Authorization": "Basic eDp5"}
    )
    state = SimpleNamespace(response=response, client=None)
    message = _failure(token_request_refused, _scenario_of("SVC-08"), state, '"invalid_client"', None)
    assert "the client authenticated with HTTP Basic" in message and "MUST respond with an HTTP 401" in message


def test_uinfo05_says_what_was_missing_from_a_401_with_error_invalid_token():
    """django-oidc-provider: 401 with WWW-Authenticate: error="invalid_token", no Bearer scheme."""
    header = 'error="invalid_token", error_description="The access token provided is expired"'
    state = SimpleNamespace(userinfo=_response(401, {"WWW-Authenticate": header}))
    message = _failure(userinfo_invalid_token, state)
    assert "holds no Bearer challenge" in message and "not 401" not in message
    wrong_code = SimpleNamespace(userinfo=_response(403, {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}))
    message = _failure(userinfo_invalid_token, wrong_code)
    assert "it answered HTTP 403, not 401" in message and "error is 'insufficient_scope', not invalid_token" in message


def test_auth09_says_an_absent_ui_locales_supported_is_absent():
    with pytest.raises(pytest.skip.Exception) as skipped:
        other_language_offered(SimpleNamespace(), SimpleNamespace(metadata={}))
    assert "ui_locales_supported is absent" in str(skipped.value)
    with pytest.raises(pytest.skip.Exception) as skipped:
        other_language_offered(SimpleNamespace(), SimpleNamespace(metadata={"ui_locales_supported": []}))
    assert "ui_locales_supported is []" in str(skipped.value)


def test_code07_says_what_userinfo_answered_without_the_end_users_personal_values():
    """CODE-07's warning is printed in the terminal and kept in the record: it names the claims userinfo
    gave to the replayed code's token, not the test user's name and email address."""
    response = requests.Response()
    response.status_code = 200
    response._content = b'{"sub": "u-1001", "name": "\\u00c5sa Tester", "email": "asa@example.test"}'
    with pytest.raises(NonConformance) as failure:
        userinfo_no_longer_accepts(SimpleNamespace(userinfo=response))
    message = str(failure.value)
    assert "with the claims email, name, sub (their values not shown)" in message, message
    assert not [value for value in ("u-1001", "Tester", "asa@example.test") if value in message], message
    assert "SHOULD revoke (when possible)" in message and "RFC 6749 section 4.1.2" in message
