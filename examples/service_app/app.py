"""A reference service application on `requests`: fetches a token with client_credentials (form
body, HTTP Basic with the client id and secret form-urlencoded first, as RFC 6749 section 2.3.1
asks), names its tenant, and calls the Visma API with it.

Configuration from the environment: VISMA_CONNECT_ISSUER, VISMA_API_BASE_URL,
SERVICE_APP_CLIENT_ID, SERVICE_APP_CLIENT_SECRET, SERVICE_APP_TENANT_ID, and with cache-token
SERVICE_APP_TOKEN_CACHE, the folder its token is kept in (default: the user's cache,
$XDG_CACHE_HOME or ~/.cache, visma-connect-reference-service; a test gives it a temporary one).
REFERENCE_APP_DEFECTS (comma-separated) switches on defects:

    no-tenant-id       the token request leaves out tenant_id
    no-scope           (no defect) the token request leaves out scope: Visma Connect grants the registered scopes
                       (RFC 6749 section 3.3's default), so the tenant is still needed (with no-tenant-id: APPC-13)
    json-body          the token request is sent as JSON instead of a form
    secret-in-url      the client secret goes in the token request's URL
    basic-not-encoded  the client id and secret go into HTTP Basic as they are, not form-urlencoded
    get-request        the token request is a GET with its parameters in the URL
    params-in-query    grant_type, scope and tenant_id go in the URL query, the form body stays empty
    two-auth-methods   the token request authenticates twice: HTTP Basic and client_secret in the body
    secret-logged      the service prints its configuration, client secret included
    cache-token        (no defect) the service keeps its token in a file of its own (mode 0600) between runs
                       and fetches a new one only once it expires, by expires_in, as RFC 6749 section 1.5 allows
    ignore-expiry      with cache-token: the service keeps using its cached token after it expired
    token-in-url       the Visma API is called with the access token in its URL (?access_token=...), which the
                       API refuses: the service exits 1, its output all there (APPC-28 still reads it)
    no-api-call        (no defect, no evidence) the service fetches its token and exits 0 without calling the API:
                       the rules judged on its API calls could not be checked, and the run is incomplete
"""

import hashlib
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote_plus

import requests

ISSUER = os.environ["VISMA_CONNECT_ISSUER"]
API = os.environ["VISMA_API_BASE_URL"]
CLIENT_ID = os.environ.get("SERVICE_APP_CLIENT_ID", "reference-service")
SECRET = os.environ["SERVICE_APP_CLIENT_SECRET"]
TENANT = os.environ.get("SERVICE_APP_TENANT_ID", "af1140c1-52e0-46c7-b684-df894d4b8a5a")
SCOPE = "visma_api:read"
DEFECTS = set(filter(None, os.environ.get("REFERENCE_APP_DEFECTS", "").split(",")))


# Seconds before its expiry a cached token is renewed: a request sent with it must reach the API before it expires
RENEWAL_MARGIN = 1.0


def token_cache() -> Path:
    """The cached token's file: one per issuer, client and secret (several certifications go on at once)."""
    key = hashlib.sha256(f"{ISSUER} {CLIENT_ID} {SECRET}".encode()).hexdigest()[:24]
    folder = Path(
        os.environ.get("SERVICE_APP_TOKEN_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "visma-connect-reference-service"
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"{key}.json"


def cached_token(http: requests.Session) -> str:
    """The token kept from an earlier run while it has not expired (with ignore-expiry: whatever its
    age), else a new one, kept for the next run."""
    cache = token_cache()
    try:
        kept = json.loads(cache.read_text())
        if "ignore-expiry" in DEFECTS or kept["expires_at"] - RENEWAL_MARGIN > time.time():
            return str(kept["access_token"])
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none kept yet, or unreadable: fetch one
    token, expires_in = fetch_token(http)
    descriptor = os.open(cache, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump({"access_token": token, "expires_at": time.time() + expires_in}, file)
    return token


def fetch_token(http: requests.Session) -> tuple[str, float]:
    """A new access token and the seconds it lives (expires_in)."""
    token_endpoint = http.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()["token_endpoint"]
    form = {"grant_type": "client_credentials", "scope": SCOPE}
    if "no-scope" in DEFECTS:
        del form["scope"]
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
    answer = response.json()
    return answer["access_token"], float(answer.get("expires_in") or 0)


def main() -> int:
    if "secret-logged" in DEFECTS:
        print(f"configuration: issuer {ISSUER}, client {CLIENT_ID}, secret {SECRET}")
    with requests.Session() as http:
        token = cached_token(http) if "cache-token" in DEFECTS else fetch_token(http)[0]
        if "no-api-call" in DEFECTS:
            print("fetched an access token; the Visma API not called")
            return 0
        if "token-in-url" in DEFECTS:
            answer = http.get(f"{API}/v1/companies", params={"access_token": token}, timeout=10)
        else:
            answer = http.get(f"{API}/v1/companies", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    print(f"Visma API answered HTTP {answer.status_code}")
    return 0 if answer.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
