"""The application side learns the stand-in's tokens as they are issued: an application that
prints its access token (or a page showing it, pictured) before any request log is attached gets
it scrubbed all the same."""

import requests

from appside.application import load_application
from appside.stand_in import start_stand_in
from suite.secrets.redaction import REDACTOR


def test_a_stand_in_token_is_a_secret_from_the_moment_it_is_issued():
    application = load_application(
        "examples/service_app/application.yaml",
        {"SERVICE_APP_CLIENT_SECRET": "Svc-app-secret-4d2f9a", "ISSUER_PORT": "0"},
    )
    server, _ = start_stand_in(application)
    try:
        answer = requests.post(
            server.issuer + "/connect/token",
            data={"grant_type": "client_credentials", "scope": application.scope, "tenant_id": application.tenant_id},
            auth=(application.client_id, "Svc-app-secret-4d2f9a"),
            timeout=10,
        )
    finally:
        server.stop()
    token = answer.json()["access_token"]
    shown = f"the service's own outcome: called the API with Bearer {token}"
    assert token not in REDACTOR.scrub(shown)
