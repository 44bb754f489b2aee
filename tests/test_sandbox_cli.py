"""`python -m sandbox` runs the sandbox standalone, publishing the issuer it is told."""

import base64
import subprocess
import sys
import time

import requests
from run import ROOT


def _start(*args):
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    assert "listening on http://127.0.0.1:" in line, line + process.stderr.read()
    return process, line.split("listening on ")[1].split(",")[0]


def test_standalone_sandbox_publishes_the_given_issuer():
    process, url = _start("--issuer", "https://connect.sandbox.example")
    try:
        metadata = requests.get(url + "/.well-known/openid-configuration", timeout=5).json()
        assert metadata["issuer"] == "https://connect.sandbox.example"
        assert metadata["token_endpoint"] == "https://connect.sandbox.example/connect/token"
        token = requests.post(
            url + "/connect/token",
            timeout=5,
            data={
                "grant_type": "client_credentials",
                "scope": "visma_api:read",
                "client_id": "sandbox-service",
                "client_secret": "sandbox-service-secret",
                "tenant_id": "af1140c1-52e0-46c7-b684-df894d4b8a5a",
            },
        ).json()
        assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_standalone_sandbox_with_a_defect_says_loudly_that_it_is_broken():
    process, url = _start("--defect", "no-store-missing")
    try:
        banner = "".join(process.stdout.readline() for _ in range(5))
        assert "DELIBERATELY BROKEN SANDBOX" in banner and "Defects on: no-store-missing" in banner, banner
        response = requests.post(
            url + "/connect/token",
            timeout=5,
            data={
                "grant_type": "client_credentials",
                "scope": "visma_api:read",
                "client_id": "sandbox-service",
                "client_secret": "sandbox-service-secret",
                "tenant_id": "af1140c1-52e0-46c7-b684-df894d4b8a5a",
            },
        )
        assert response.status_code == 200 and "Cache-Control" not in response.headers
        assert response.headers["X-Sandbox-Deliberately-Broken"] == "no-store-missing"
        metadata = requests.get(url + "/.well-known/openid-configuration", timeout=5).json()
        assert metadata["x_sandbox_deliberately_broken"] == ["no-store-missing"]
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    assert "DELIBERATELY BROKEN SANDBOX" in errors


def test_the_sandbox_refuses_huge_bodies_unread_and_unreadable_credentials_as_invalid_client():
    process, url = _start()
    try:
        began = time.monotonic()
        huge = requests.post(
            url + "/connect/token",
            timeout=10,
            data=iter([b"grant_type=x"] * 3),
            headers={"Content-Length": str(300 * 2**20), "Content-Type": "application/x-www-form-urlencoded"},
        )
        assert huge.status_code == 413 and time.monotonic() - began < 5
        latin1 = base64.b64encode("sändbox-service:sécret".encode("latin-1")).decode()
        for headers, data in (
            ({"Authorization": f"Basic {latin1}"}, {}),
            ({}, {"client_id": "sandbox-service", "client_secret": "sécret-ünïcode"}),
        ):
            refused = requests.post(
                url + "/connect/token",
                timeout=5,
                headers=headers,
                data={"grant_type": "client_credentials", "scope": "visma_api:read", **data},
            )
            assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text
        login = requests.post(
            url + "/account/login",
            timeout=5,
            params={"returnUrl": "/connect/authorize?x=1"},
            data={"username": "test.user", "password": "pässwörd"},
        )
        assert login.status_code == 401  # a wrong password, not a server error
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_unknown_defect_is_refused_by_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--defect", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "invalid choice: 'nope'" in result.stderr
    start = time.monotonic()
    listing = subprocess.run(
        [sys.executable, "-m", "sandbox", "--list-defects"], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert "pkce-not-compared" in listing.stdout and time.monotonic() - start < 30


def test_the_standalone_sandbox_registers_what_environments_sandbox_yaml_describes():
    """scripts/benchmark.py runs the whole contract against `python -m sandbox`: its registrations
    must be those the embedded sandbox takes from the environment file."""
    from sandbox import default_registry
    from suite.configuration.environment import load_environment
    from suite.wire.embedded_sandbox import registry_for

    embedded, standalone = registry_for(load_environment("sandbox")), default_registry()

    def registered(a):
        return a.app_type, set(a.scopes), set(a.approved_tenants), a.access_token_lifetime

    assert {i: registered(a) for i, a in embedded.applications.items()} == {
        i: registered(a) for i, a in standalone.applications.items()
    }
    # the short-lived app of UINFO-08, and no other, has a lifetime of its own
    assert {i for i, a in standalone.applications.items() if a.access_token_lifetime} == {"sandbox-web-short-lived"}
    assert set(embedded.users) == set(standalone.users)
