"""A service that asks for no scope (grant_type, client_id, client_secret and its tenant_id only). RFC 6749 section
3.3: "If the client omits the scope parameter when requesting authorization, the authorization server MUST either
process the request using a pre-defined default value or fail the request indicating an invalid scope"; Visma
Connect (IdentityServer) grants the client's registered scopes, and so does the stand-in, whose token response names
them. APPC-13 judges such a request by that default: a tenant-based one needs the tenant. A service that asks only
for scopes of APIs that are not tenant-based is not judged by it (not applicable), not failed."""

from pathlib import Path

import pytest
import requests
from _pytest.outcomes import Skipped

from appside.application import Application, Drive
from appside.observed import Observed
from appside.stand_in import start_stand_in
from appside.steps.service import tenant_named
from appside.steps.sign_ins import AppRun
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NonConformance

TENANT = "af1140c1-52e0-46c7-b684-df894d4b8a5a"


def _service(scope: str = "visma_api:read") -> Application:
    return Application(
        "service",
        Path("s.yaml"),
        "service",
        "svc",
        Drive("command", command="my-service"),
        "service-secret-9f2c",
        scope=scope,
        tenant_id=TENANT,
    )


def _asked(*form: tuple[str, str]) -> AppRun:
    token_request = RecordedRequest(
        1.0, "POST", "/connect/token", (), (("grant_type", "client_credentials"), *form), {}, "", 200, "", {}, {}
    )
    return AppRun(observed=[Observed([token_request])])


def test_the_stand_in_grants_the_registered_scope_to_a_request_that_names_none():
    server, _ = start_stand_in(_service())
    try:
        token = f"{server.issuer}/connect/token"
        answer = requests.post(
            token, data={"grant_type": "client_credentials", "tenant_id": TENANT}, auth=("svc", "service-secret-9f2c")
        )
        assert answer.status_code == 200 and answer.json()["scope"] == "visma_api:read", answer.text
        api = requests.get(
            f"{server.issuer}/api/invoices", headers={"Authorization": f"Bearer {answer.json()['access_token']}"}
        )
        assert api.json()["scope"] == ["visma_api:read"] and api.json()["tenant_id"] == TENANT
        # the default is tenant-based: without the tenant it is refused, as a request that names the scope is
        refused = requests.post(token, data={"grant_type": "client_credentials"}, auth=("svc", "service-secret-9f2c"))
        assert refused.status_code == 400 and "tenant_id is required for visma_api:read" in refused.text
    finally:
        server.stop()


def test_appc13_judges_a_request_without_scope_by_the_registered_scope_it_gets():
    tenant_named(None, _service(), _asked(("tenant_id", TENANT)))  # the outsider's BREAK=noscope: it names it
    with pytest.raises(NonConformance, match=r"for no scope, which Visma Connect answers with .*\(visma_api:read\)"):
        tenant_named(None, _service(), _asked())


def test_appc13_is_not_applicable_to_a_service_that_asks_for_no_tenant_based_scope():
    with pytest.raises(Skipped, match=r"^not applicable: .* it asked for connect_api:read"):
        tenant_named(None, _service("connect_api:read"), _asked(("scope", "connect_api:read")))
    with pytest.raises(Skipped, match=r"it asked for no scope, which Visma Connect answers with .*connect_api:read"):
        tenant_named(None, _service("connect_api:read"), _asked())
