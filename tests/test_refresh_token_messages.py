"""RT-03's failure says what the server did: a refresh token where the request did not ask for
offline_access, or a scope the server widened to offline_access unasked (RFC 6749 section 3.3 lets a
server widen the scope; Visma ties a refresh token to the client's asking for offline_access)."""

from types import SimpleNamespace

import pytest

from steps.refresh_tokens import no_refresh_token
from suite.verdict.checks import NonConformance


def _reason(token_response: dict) -> str:
    with pytest.raises(NonConformance) as failure:
        no_refresh_token(SimpleNamespace(tokens=token_response))
    return str(failure.value)


def test_a_scope_widened_to_offline_access_is_named_as_the_servers_grant():
    reason = _reason({"access_token": "a", "refresh_token": "r", "scope": "email offline_access openid profile"})
    assert reason.startswith("the server granted offline_access, which the authorization request did not ask for"), (
        reason
    )


def test_a_refresh_token_without_offline_access_granted_says_the_response_carries_it():
    reason = _reason({"access_token": "a", "refresh_token": "r", "scope": "openid profile email"})
    assert reason.startswith("the token response carries a refresh_token; without offline_access"), reason


def test_no_refresh_token_passes():
    no_refresh_token(SimpleNamespace(tokens={"access_token": "a", "scope": "openid offline_access"}))
