"""Refresh-token eligibility differs between Visma sources: the seed pages' II-31 says only server-side web
applications get refresh tokens, docs.connect.visma.com says offline access works for Web and Native apps. The
server side lets the environment declare which its Visma Connect keeps (expectations.refresh_token_app_types);
the application file declares the same (issuer.refresh_token_app_types, default the seed pages'), so that
oidc-agent, which always asks for offline_access, can be certified where Visma issues native refresh tokens."""

import pytest
from _pytest.outcomes import Skipped

from appside.application import load_application
from appside.observed import Observed
from appside.stand_in import start_stand_in
from appside.steps.requests_sent import no_offline_access
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from sandbox.registry import Application
from suite.verdict.checks import NonConformance

NATIVE = """name: oidc-agent
application:
  type: native
  client_id: oidc-agent
  redirect_uris: ["http://localhost:14505/"]
  scope: openid profile offline_access
issuer:
  port: 0
{declared}drive:
  sign_in_url: http://127.0.0.1:14501/login
  signed_in: {{text: Welcome}}
"""


def _asked_offline_access() -> AppRun:
    query = (("response_type", "code"), ("scope", "openid profile offline_access"))
    return AppRun(observed=[Observed([RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], query, (), {})])])


def test_appc14_follows_the_refresh_token_eligibility_the_application_file_declares(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(NATIVE.format(declared=""))
    seed_pages = load_application(path, {})
    assert seed_pages.refresh_token_app_types == ("web",)
    with pytest.raises(NonConformance, match=r'"Only server-side web applications configured with offline_access.*'
                       r"issuer\.refresh_token_app_types: \[web, native\]"):  # fmt: skip
        no_offline_access(seed_pages, _asked_offline_access())

    path.write_text(NATIVE.format(declared="  refresh_token_app_types: [web, native]\n"))
    declared = load_application(path, {})
    with pytest.raises(Skipped, match=r"not applicable: the application file declares native applications eligible"):
        no_offline_access(declared, _asked_offline_access())
    # the stand-in, as that Visma Connect, issues the native application a refresh token it may use
    stand_in, _ = start_stand_in(declared)
    try:
        assert "refresh-for-native" in next(iter(stand_in.issuers))
    finally:
        stand_in.stop()
    app = Application(client_id="oidc-agent", app_type="native", defects=frozenset({"refresh-for-native"}))
    assert app.check_grant_type("refresh_token")
    assert not Application(client_id="oidc-agent", app_type="native").check_grant_type("refresh_token")
