"""APPC-11 named a token request "(a authorization_code request)": the article follows the grant's sound."""

import pytest

from appside.observed import Observed
from appside.steps.client_secret import _grant
from sandbox.recording import RecordedRequest


@pytest.mark.parametrize(
    ("grant_type", "named"),
    [("authorization_code", " (an authorization_code request)"), ("refresh_token", " (a refresh_token request)")],
)
def test_a_token_request_is_named_with_its_article(grant_type, named):
    request = RecordedRequest(0.0, "POST", "/connect/token", (), (("grant_type", grant_type),), {}, "", 200)
    assert _grant(request, Observed([request])) == named
