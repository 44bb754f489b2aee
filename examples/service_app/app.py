"""A reference service application on `requests`: fetches a token with client_credentials (form
body, HTTP Basic with the client id and secret form-urlencoded first, as RFC 6749 section 2.3.1
asks), names its tenant, and calls the Visma API with it.

Configuration from the environment: VISMA_CONNECT_ISSUER, VISMA_API_BASE_URL,
SERVICE_APP_CLIENT_ID, SERVICE_APP_CLIENT_SECRET, SERVICE_APP_TENANT_ID.
REFERENCE_APP_DEFECTS (comma-separated) switches on defects:

    no-tenant-id       the token request leaves out tenant_id
    json-body          the token request is sent as JSON instead of a form
    secret-in-url      the client secret goes in the token request's URL
    basic-not-encoded  the client id and secret go into HTTP Basic as they are, not form-urlencoded
    get-request        the token request is a GET with its parameters in the URL
    params-in-query    grant_type, scope and tenant_id go in the URL query, the form body stays empty
    two-auth-methods   the token request authenticates twice: HTTP Basic and client_secret in the body
    secret-logged      the service prints its configuration, client secret included
"""

import os
import sys
from urllib.parse import quote_plus

import requests

ISSUER = os.environ["VISMA_CONNECT_ISSUER"]
API = os.environ["VISMA_API_BASE_URL"]
CLIENT_ID = os.environ.get("SERVICE_APP_CLIENT_ID", "reference-service")
SECRET = os.environ["SERVICE_APP_CLIENT_SECRET"]
TENANT = os.environ.get("SERVICE_APP_TENANT_ID", "af1140c1-52e0-46c7-b684-df894d4b8a5a")
SCOPE = "visma_api:read"
DEFECTS = set(filter(None, os.environ.get("REFERENCE_APP_DEFECTS", "").split(",")))


def fetch_token(http: requests.Session) -> str:
    token_endpoint = http.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()["token_endpoint"]
    form = {"grant_type": "client_credentials", "scope": SCOPE}
    if "no-tenant-id" not in DEFECTS:
        form["tenant_id"] = TENANT
    if "two-auth-methods" in DEFECTS:
        form["client_secret"] = SECRET  # and HTTP Basic below
    # RFC 6749 section 2.3.1: each form-urlencoded, then joined with ":" and base64-encoded (by requests,
    # which writes str credentials as latin-1: the encoded ones are ASCII)
    basic = (quote_plus(CLIENT_ID), quote_plus(SECRET))
    if "basic-not-encoded" in DEFECTS:
        basic = (CLIENT_ID.encode(), SECRET.encode())  # as they are, in UTF-8
    if "get-request" in DEFECTS:
        response = http.get(token_endpoint, params=form, auth=basic, timeout=10)
    elif "params-in-query" in DEFECTS:
        response = http.post(
            token_endpoint,
            params=form,
            data=b"",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=basic,
            timeout=10,
        )
    elif "secret-in-url" in DEFECTS:
        response = http.post(
            token_endpoint, params={"client_id": CLIENT_ID, "client_secret": SECRET}, data=form, timeout=10
        )
    elif "json-body" in DEFECTS:
        response = http.post(token_endpoint, json=form, auth=basic, timeout=10)
    else:
        response = http.post(token_endpoint, data=form, auth=basic, timeout=10)
    if response.status_code != 200:
        error = (
            response.json().get("error")
            if response.headers.get("Content-Type", "").startswith("application/json")
            else ""
        )
        sys.exit(f"token request refused: HTTP {response.status_code} {error}")
    return response.json()["access_token"]


def main() -> int:
    if "secret-logged" in DEFECTS:
        print(f"configuration: issuer {ISSUER}, client {CLIENT_ID}, secret {SECRET}")
    with requests.Session() as http:
        token = fetch_token(http)
        answer = http.get(f"{API}/v1/companies", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    print(f"Visma API answered HTTP {answer.status_code}")
    return 0 if answer.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
