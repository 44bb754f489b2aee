"""A reference service application on httpx with Authlib's httpx client (OAuth2Client): fetches a
token with client_credentials, the client secret in the form body as Visma Connect's documentation
shows it (client_secret_post), names its tenant, and calls the Visma API with the token.

Configuration from the environment: VISMA_CONNECT_ISSUER, VISMA_API_BASE_URL,
HTTPX_SERVICE_APP_CLIENT_ID, HTTPX_SERVICE_APP_CLIENT_SECRET, HTTPX_SERVICE_APP_TENANT_ID.
REFERENCE_APP_DEFECTS (comma-separated) switches on defects:

    no-tenant-id     the token request leaves out tenant_id
    secret-in-url    the client id and secret go in the token request's URL, not in the form
"""

import os
import sys
from urllib.parse import urlencode

import httpx
from authlib.integrations.httpx_client import OAuth2Client, OAuthError

ISSUER = os.environ["VISMA_CONNECT_ISSUER"]
API = os.environ["VISMA_API_BASE_URL"]
CLIENT_ID = os.environ.get("HTTPX_SERVICE_APP_CLIENT_ID", "reference-httpx-service")
SECRET = os.environ["HTTPX_SERVICE_APP_CLIENT_SECRET"]
TENANT = os.environ.get("HTTPX_SERVICE_APP_TENANT_ID", "af1140c1-52e0-46c7-b684-df894d4b8a5a")
SCOPE = "visma_api:read"
DEFECTS = set(filter(None, os.environ.get("REFERENCE_APP_DEFECTS", "").split(",")))


def main() -> int:
    token_endpoint = httpx.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()["token_endpoint"]
    extra = {} if "no-tenant-id" in DEFECTS else {"tenant_id": TENANT}
    if "secret-in-url" in DEFECTS:
        token_endpoint += "?" + urlencode({"client_id": CLIENT_ID, "client_secret": SECRET})
    with OAuth2Client(
        CLIENT_ID,
        SECRET,
        scope=SCOPE,
        token_endpoint_auth_method="none" if "secret-in-url" in DEFECTS else "client_secret_post",
        # Authlib takes a token as expired 60 s before its expires_in by default: a token that lives less (the
        # stand-in's service tokens live 3 s) would be refused as expired before its first use
        leeway=0,
        timeout=10,
    ) as client:
        try:
            client.fetch_token(token_endpoint, grant_type="client_credentials", **extra)
        except OAuthError as error:
            sys.exit(f"token request refused: {error.error}")
        answer = client.get(f"{API}/v1/companies")
    print(f"Visma API answered HTTP {answer.status_code}")
    return 0 if answer.status_code == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
