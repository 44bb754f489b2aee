"""issuer.access_token_lifetime: a partner whose client library treats a token as expired some seconds before
its expires_in (Net::OAuth2 15 s) gives the stand-in's short-lived tokens longer; the stand-in issues them for
that long and the expiry waits follow. And a service that then sends `Bearer` with no token is told why."""

import pytest

from appside.application import load_application
from appside.observed import bearer_defect, learn_secrets
from appside.stand_in import start_stand_in
from appside.steps.service import bearer_hint
from sandbox.recording import RecordedRequest
from suite.configuration.environment import ConfigurationError
from suite.secrets.redaction import REDACTOR

SERVICE = """name: svc
application:
  type: service
  client_id: svc
  client_secret: ${SVC_SECRET}
  scope: visma_api:read
  tenant_id: t-1
issuer:
  port: 0
{lifetime}drive:
  command: /bin/true
"""


def load(tmp_path, lifetime="", environ=None):
    path = tmp_path / "app.yaml"
    path.write_text(SERVICE.replace("{lifetime}", lifetime))
    return load_application(path, {"SVC_SECRET": "s3cret-value", **(environ or {})})


def test_the_lifetime_is_three_seconds_unless_the_file_sets_it(tmp_path):
    assert load(tmp_path).access_token_lifetime == 3
    assert load(tmp_path, "  access_token_lifetime: 20\n").access_token_lifetime == 20
    assert load(tmp_path, "  access_token_lifetime: ${LIFE}\n", {"LIFE": "30"}).access_token_lifetime == 30


@pytest.mark.parametrize("value, environ", [("2", {}), ("901", {}), ("${LIFE}", {"LIFE": "1000"}), ('"x"', {})])
def test_a_lifetime_out_of_range_is_one_line_naming_the_key(tmp_path, value, environ):
    with pytest.raises(ConfigurationError) as error:
        load(tmp_path, f"  access_token_lifetime: {value}\n", environ)
    assert "access_token_lifetime" in str(error.value) and "900" in str(error.value)


def test_the_stand_in_issues_service_tokens_and_the_short_lived_fault_for_that_long(tmp_path):
    application = load(tmp_path, "  access_token_lifetime: 20\n")
    server, _ = start_stand_in(application)
    try:
        import requests

        answer = requests.post(
            f"{server.issuer}/connect/token",
            data={"grant_type": "client_credentials", "scope": "visma_api:read", "tenant_id": "t-1"},
            auth=("svc", "s3cret-value"),
            timeout=10,
        ).json()
        assert "access_token" in answer, answer
        assert answer["expires_in"] == 20
        assert server.faults.short_lifetime == 20
    finally:
        server.stop()


def api_call(authorization: str | None) -> RecordedRequest:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return RecordedRequest(0.0, "GET", "/api/v1/companies", (), (), headers, "", 401)


@pytest.mark.parametrize(
    "authorization, defect",
    [
        ("Bearer", "empty"),
        ("Bearer ", "empty"),
        ("bearer   ", "empty"),
        ("Bearer a b", "malformed"),
        ("Bearer eyJ.a-b_c~d+e/f==", ""),
        ("Basic abc", ""),
        (None, ""),
    ],
)
def test_an_empty_or_malformed_bearer_token_is_told_apart(authorization, defect):
    assert bearer_defect(api_call(authorization)) == defect


class Runs:
    def __init__(self, calls):
        self.api_calls, self.userinfo_calls = calls, []


def test_the_hint_names_the_empty_token_the_lifetime_and_the_key():
    hint = bearer_hint([Runs([api_call("Bearer")])], 3)
    assert "the application sent an empty bearer token" in hint
    assert "3-second access tokens as expired" in hint and "issuer.access_token_lifetime" in hint
    assert bearer_hint([Runs([api_call("Bearer eyJ.abc")])], 3) == ""


def test_a_scheme_name_alone_is_no_secret_the_messages_would_lose():
    learn_secrets([api_call("Bearer")])
    assert REDACTOR.scrub("the application sent an empty bearer token") == "the application sent an empty bearer token"
