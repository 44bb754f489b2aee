"""Run the suite against Debian's glewlwyd and compare its failing rules with the documented
differences: python scripts/glewlwyd.py [--secrets-of-every-character-class] [--code-lifetime=SECONDS]
[pytest arguments ...]

Glewlwyd (Debian package `glewlwyd`, a C OAuth 2.0 / OpenID Connect server nobody here wrote) is
started on a free loopback port from a temporary folder: glewlwyd/glewlwyd.conf, a fresh SQLite
database made from the package's own schema, fresh secrets. Its admin API then replaces the
default admin password, adds the scopes, the test user, the clients of
environments/glewlwyd.yaml, the user's consent to them and an OpenID Connect plugin instance set
as close to the Visma contract as it allows. The features run with environments/glewlwyd.yaml,
the server stops, the folder goes. Exit 0 when the rules that failed are exactly those in
glewlwyd/known_differences.yaml and glewlwyd still needs the one adaptation of the clients'
scope (no `openid`, see still_requires_nonce); 1 when not; 3 when glewlwyd is not installed or
does not start; the suite's own code for environment or configuration problems. `--code-lifetime`
gives its authorization codes another lifetime than 60 s (the file's declared one, in a copy):
CODE-04 waits it out, so a shorter one makes a shorter run."""

import json
import os
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from string import Template
from urllib.parse import parse_qs, urlsplit

import requests
from joserfc.jwk import RSAKey
from real_server import (
    CODE_LIFETIME,
    ROOT,
    declaring_code_lifetime,
    fresh_secret,
    run_suite,
    split_awkward_argument,
    split_code_lifetime_argument,
    split_record_argument,
    verdict,
    wait_until_serving,
)

KNOWN_DIFFERENCES = ROOT / "glewlwyd" / "known_differences.yaml"
CONFIG_TEMPLATE = ROOT / "glewlwyd" / "glewlwyd.conf"
SCHEMA = Path("/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3")  # the package's own
WEBAPP = Path("/usr/share/glewlwyd/webapp")  # its login pages
# The package links webapp/config.json to this folder instead of the file in it, so the login page
# never loads ("Loading..."); the run serves a copy of the webapp with that file in place.
WEBAPP_CONFIG = Path("/etc/glewlwyd/config-2.7.json/config.json")
DEFAULT_ADMIN = ("admin", "password")  # what that schema creates; replaced before anything else
PLUGIN = "oidc"  # the plugin instance's name is its path: /api/oidc/...
INSTALL_HINT = "install it with: apt-get install glewlwyd (Debian 12 has 2.7.5)"

SECRETS = ("GLEWLWYD_SERVICE_SECRET", "GLEWLWYD_WEB_SECRET", "GLEWLWYD_WEB_OTHER_SECRET", "GLEWLWYD_TEST_PASSWORD")
USER_SCOPES = ["openid", "profile", "email", "offline_access"]
API_SCOPES = ["visma_api:read", "visma_api:write"]


def clients(environ: dict) -> list[dict]:
    """The clients of environments/glewlwyd.yaml, in glewlwyd's client properties."""

    def interactive(client_id, redirect_uri, secret=None):
        confidential = {
            "confidential": True,
            "client_secret": secret,
            "token_endpoint_auth_method": ["client_secret_post", "client_secret_basic"],
            "authorization_type": ["code", "refresh_token"],
        }
        public = {"confidential": False, "token_endpoint_auth_method": ["none"], "authorization_type": ["code"]}
        return {
            "client_id": client_id,
            "name": client_id,
            "enabled": True,
            "scope": [],
            "redirect_uri": [redirect_uri],
            **(confidential if secret else public),
        }

    return [
        # Service integration: client_credentials only; `scope` lists what it may be granted.
        {
            "client_id": "gl-service",
            "name": "gl-service",
            "enabled": True,
            "confidential": True,
            "client_secret": environ["GLEWLWYD_SERVICE_SECRET"],
            "authorization_type": ["client_credentials"],
            "token_endpoint_auth_method": ["client_secret_post", "client_secret_basic"],
            "scope": ["visma_api:read"],
            "redirect_uri": [],
        },
        interactive("gl-web", "https://web.app.local/callback", environ["GLEWLWYD_WEB_SECRET"]),
        interactive(
            "gl-web-other", "https://web-other.app.local/callback?app=other", environ["GLEWLWYD_WEB_OTHER_SECRET"]
        ),
        interactive("gl-spa", "https://spa.app.local/callback"),
        interactive("gl-native", "https://native.app.local/callback"),
    ]


def oidc_plugin(issuer: str, code_lifetime: int = CODE_LIFETIME) -> dict:
    """The OpenID Connect plugin instance (parameters as in glewlwyd's docs/OIDC.md)."""
    kid = secrets.token_hex(8)
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "alg": "RS256", "use": "sig"})
    return {
        "module": "oidc",
        "name": PLUGIN,
        "display_name": "OpenID Connect",
        "enabled": True,
        "parameters": {
            "iss": issuer,
            "allowed-scope": USER_SCOPES + API_SCOPES,  # scopes_supported in discovery
            "jwks-private": json.dumps({"keys": [key.as_dict(private=True)]}),
            "default-kid": kid,
            "jwks-show": True,
            "jwt-type": "rsa",
            "jwt-key-size": "256",
            "access-token-duration": 3600,
            "refresh-token-duration": 1209600,
            "code-duration": code_lifetime,  # expectations.authorization_code_lifetime: CODE-04 waits it out
            "refresh-token-rolling": False,
            "refresh-token-one-use": "always",  # Visma's "one time" refresh tokens
            "allow-non-oidc": True,  # client_credentials is OAuth 2.0, not OpenID Connect
            "auth-type-code-enabled": True,
            "auth-type-client-enabled": True,
            "auth-type-refresh-enabled": True,
            "auth-type-token-enabled": False,
            "auth-type-password-enabled": False,
            "auth-type-device-enabled": False,
            "auth-type-none-enabled": False,
            "auth-type-code-revoke-replayed": True,
            "pkce-allowed": True,
            "pkce-method-plain-allowed": False,
            "pkce-required": False,
            "pkce-required-public-client": True,
            "introspection-revocation-allowed": True,
            "introspection-revocation-allow-target-client": True,
            "oauth-as-iss-id": True,  # RFC 9207 iss on the callback
            "subject-type": "public",
            "name-claim": "on-demand",
            "email-claim": "on-demand",
            "scope-claim": "no",
            # The name and email claims for the profile and email scopes too, not only when the claims
            # parameter asks for them: Visma's documented request asks for them by `email profile`.
            "name-claim-scope": ["profile"],
            "email-claim-scope": ["email"],
            "request-parameter-allow": False,
            "session-management-allowed": False,
        },
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def webapp(folder: Path) -> Path:
    """A copy of glewlwyd's login pages with config.json the file the package meant. A copy, not
    links: glewlwyd serves no file whose real path lies outside its static folder."""
    served = folder / "webapp"
    shutil.copytree(WEBAPP, served, ignore=shutil.ignore_patterns("config.json"))
    shutil.copyfile(WEBAPP_CONFIG, served / "config.json")
    return served


def start_server(folder: Path, port: int) -> subprocess.Popen:
    database = folder / "glewlwyd.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.executescript(SCHEMA.read_text(encoding="utf-8"))
    config = folder / "glewlwyd.conf"
    config.write_text(
        Template(CONFIG_TEMPLATE.read_text(encoding="utf-8")).substitute(
            port=port, database=database, webapp=webapp(folder)
        )
    )
    log = folder / "glewlwyd.log"  # a file, not a pipe: nobody reads a pipe during the run, and
    with log.open("w") as output:  # a full one would stop the server mid-run
        server = subprocess.Popen(
            [shutil.which("glewlwyd"), f"--config-file={config}"], cwd=folder, stdout=output, stderr=subprocess.STDOUT
        )
    wait_until_serving(f"http://127.0.0.1:{port}/api/glewlwyd/", server, "glewlwyd", log=log)
    return server


def signed_in(api: str, username: str, password: str):
    """A function calling glewlwyd's API in a session of that user; it raises on any other answer
    than the one expected."""
    session = requests.Session()

    def call(method, path, body=None, expect=200):
        response = session.request(method, f"{api}{path}", json=body, timeout=10)
        if response.status_code != expect:
            raise RuntimeError(f"glewlwyd API {method} {path}: HTTP {response.status_code} {response.text[:300]}")

    call("POST", "/auth/", {"username": username, "password": password})
    return call


def configure(api: str, issuer: str, environ: dict, code_lifetime: int = CODE_LIFETIME) -> None:
    """Through the admin API: a fresh admin password, then scopes, test user, clients, plugin."""
    admin = signed_in(api, *DEFAULT_ADMIN)
    admin("PUT", "/profile/password", {"old_password": DEFAULT_ADMIN[1], "password": secrets.token_urlsafe(24)})
    # Every user-facing scope needs the password, so no code is issued before the user signed in.
    admin(
        "PUT",
        "/scope/openid",
        {
            "display_name": "Open ID",
            "description": "OpenID Connect",
            "password_required": True,
            "password_max_age": 0,
            "scheme": {},
        },
    )
    for scope in USER_SCOPES[1:] + API_SCOPES:
        admin(
            "POST",
            "/scope/",
            {
                "name": scope,
                "display_name": scope,
                "description": scope,
                "password_required": True,
                "password_max_age": 0,
                "scheme": {},
            },
        )
    admin(
        "POST",
        "/user/",
        {
            "username": "test.user",
            "password": environ["GLEWLWYD_TEST_PASSWORD"],
            "name": "Test User",
            "email": "test.user@example.com",
            "enabled": True,
            "scope": [*USER_SCOPES, "g_profile"],
        },
    )  # g_profile: to give consent below
    for client in clients(environ):
        admin("POST", "/client/", client)
    admin("POST", "/mod/plugin/", oidc_plugin(issuer, code_lifetime))
    admin("DELETE", "/auth/")
    # The user's consent, given once: glewlwyd's grant screen changes the login page without a
    # navigation, which the browser method cannot tell from a page that went nowhere. Consent
    # is optional in the Visma contract; signing in is still required on every authorization.
    user = signed_in(api, "test.user", environ["GLEWLWYD_TEST_PASSWORD"])
    for client in clients(environ):
        if client["redirect_uri"]:
            user("PUT", f"/auth/grant/{client['client_id']}", {"scope": " ".join(USER_SCOPES)})
    user("DELETE", "/auth/")


def still_requires_nonce(api: str, issuer: str, environ: dict) -> bool:
    """Whether glewlwyd still refuses an authorization request with `openid` and no `nonce`, the
    reason the clients of environments/glewlwyd.yaml leave `openid` out of their scope."""
    session = requests.Session()
    session.post(
        f"{api}/auth/", json={"username": "test.user", "password": environ["GLEWLWYD_TEST_PASSWORD"]}, timeout=10
    ).raise_for_status()
    answer = session.get(
        f"{issuer}/auth",
        params={
            "response_type": "code",
            "client_id": "gl-web",
            "redirect_uri": "https://web.app.local/callback",
            "scope": "openid",
            "state": "nonce-probe",
            "g_continue": "",
        },  # what its login page's Continue button adds: go on with this session
        allow_redirects=False,
        timeout=10,
    )
    session.delete(f"{api}/auth/", timeout=10)
    error = parse_qs(urlsplit(answer.headers.get("location", "")).query)
    return error.get("error") == ["invalid_request"] and "nonce" in error.get("error_description", [""])[0]


def main() -> int:
    arguments, awkward = split_awkward_argument(sys.argv[1:])
    arguments, code_lifetime = split_code_lifetime_argument(arguments)
    pytest_args, record = split_record_argument(arguments, ROOT / "reports" / "glewlwyd" / "compliance.json")
    if not shutil.which("glewlwyd") or not SCHEMA.exists():
        print(f"ERROR: environment problem\nglewlwyd is not installed; {INSTALL_HINT}", file=sys.stderr)
        return 3
    port = free_port()
    environ = {
        **os.environ,
        "GLEWLWYD_PORT": str(port),
        **{name: fresh_secret(awkward) for name in SECRETS if name.endswith("_SECRET")},
        "GLEWLWYD_TEST_PASSWORD": secrets.token_urlsafe(24),
    }
    with tempfile.TemporaryDirectory(prefix="glewlwyd-") as folder:
        try:
            server = start_server(Path(folder), port)
        except RuntimeError as problem:
            print(f"ERROR: environment problem\n{problem}", file=sys.stderr)
            return 3
        try:
            api, issuer = f"http://127.0.0.1:{port}/api", f"http://127.0.0.1:{port}/api/{PLUGIN}"
            configure(api, issuer, environ, code_lifetime)
            nonce_required = still_requires_nonce(api, issuer, environ)
            environment = declaring_code_lifetime("glewlwyd", code_lifetime, Path(folder))
            code, summary = run_suite(environment, environ, record, pytest_args)
        finally:
            server.terminate()
            server.wait(timeout=10)
    stale = (
        []
        if nonce_required
        else [
            "glewlwyd no longer requires a nonce with openid: put openid back in the "
            "clients' scope in environments/glewlwyd.yaml and docs/certify-server.md"
        ]
    )
    return verdict("glewlwyd", code, summary, KNOWN_DIFFERENCES, stale)


if __name__ == "__main__":
    sys.exit(main())
