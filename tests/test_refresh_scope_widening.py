"""RT-08 reads a refresh response without `scope` as RFC 6749 section 5.1 does: it grants the scope
the refresh asked for. To a refresh that asked for a scope not originally granted, that is a widened
scope (section 6), as django-oidc-provider 0.9.0 answered; to one that asked for none or for exactly
the original scope, it is the original scope, and passes. Opaque access tokens: no scope claim to read."""

import json
from types import SimpleNamespace

import pytest
import requests

from steps.refresh_tokens import _scope_widening, refresh_scope_not_widened, wider_refresh_refused_or_narrowed
from suite.verdict.checks import NonConformance

ORIGINAL = "email offline_access openid profile"
ENVIRONMENT = SimpleNamespace(expectations=SimpleNamespace(access_token_format="opaque"))


def _answer(status: int, body: dict) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, json.dumps(body).encode()
    return response


def _state(refresh_status: int, refresh_body: dict) -> SimpleNamespace:
    redemption = {"access_token": "a", "refresh_token": "r", "scope": ORIGINAL}
    return SimpleNamespace(
        client=SimpleNamespace(scope="openid profile email"),
        widening_scope="api.read",
        token_responses=[redemption, refresh_body] if refresh_status == 200 else [redemption],
        response=_answer(refresh_status, refresh_body),
    )


def test_a_widening_refresh_answered_without_scope_fails_citing_both_sentences():
    state = _state(200, {"access_token": "a2", "refresh_token": "r2"})
    with pytest.raises(NonConformance) as failure:
        wider_refresh_refused_or_narrowed(state, None, ENVIRONMENT)
    reason = str(failure.value)
    assert "names no scope, so it grants the scope requested, with 'api.read'" in reason, reason
    assert '"OPTIONAL, if identical to the scope requested by the client; otherwise, REQUIRED"' in reason, reason
    assert '"The requested scope MUST NOT include any scope not originally granted' in reason, reason


def test_a_widening_refresh_refused_with_invalid_scope_passes():
    wider_refresh_refused_or_narrowed(_state(400, {"error": "invalid_scope"}), None, ENVIRONMENT)


def test_a_widening_refresh_answered_with_the_original_scope_named_passes():
    state = _state(200, {"access_token": "a2", "scope": ORIGINAL})
    wider_refresh_refused_or_narrowed(state, None, ENVIRONMENT)


def test_a_widening_refresh_answered_with_the_wider_scope_named_fails():
    state = _state(200, {"access_token": "a2", "scope": f"{ORIGINAL} api.read"})
    with pytest.raises(NonConformance, match=r"the refresh response's scope names 'api\.read'"):
        wider_refresh_refused_or_narrowed(state, None, ENVIRONMENT)


def test_a_refresh_asking_no_scope_answered_without_scope_passes():
    refresh_scope_not_widened(_state(200, {"access_token": "a2", "refresh_token": "r2"}), None, ENVIRONMENT)


def test_a_refresh_asking_exactly_the_original_scope_answered_without_scope_grants_nothing_more():
    state = _state(200, {"access_token": "a2", "refresh_token": "r2"})
    assert _scope_widening(state, None, ENVIRONMENT, state.token_responses[-1], ORIGINAL) is None
