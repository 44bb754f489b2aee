"""A reference server-side web application on Authlib's Flask client, signing in with Visma
Connect: authorization code with PKCE S256 and the client secret (HTTP Basic), offline_access,
refresh on expiry, the ID token validated by Authlib, RFC 9207's iss checked.

Configuration from the environment: VISMA_CONNECT_ISSUER, VISMA_API_BASE_URL, WEB_APP_PORT,
WEB_APP_CLIENT_ID, WEB_APP_CLIENT_SECRET. REFERENCE_APP_DEFECTS (comma-separated) switches on
defects, to prove the certification catches them:

    no-response-type       the authorization request carries no response_type
    redirect-uri-changed   the code is redeemed with a redirect_uri other than the authorization request's
    no-state               the authorization request carries no state (and the callback is not checked)
    short-state            the state is 64 random bits
    fixed-state            every sign-in uses the same state
    state-not-checked      the callback's state is not compared with the one sent
    no-pkce                no PKCE, though the application declares it
    plain-pkce             PKCE with the plain method
    wrong-verifier         the code is redeemed with another code_verifier
    no-secret              token requests carry no client secret (a code redemption relies on PKCE)
    iss-not-checked        RFC 9207's iss on the callback is not compared with the issuer
    old-refresh-token      after a refresh, the first refresh token is kept and used again
    id-token-not-validated the ID token is accepted without checking it
    secret-in-url          the token request carries the client secret in its URL
    expired-token-used     the access token is used without looking at its expiry
    error-crashes          a callback with an error (access_denied) crashes the application (HTTP 500)
"""

import base64
import json
import os
import secrets
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, request, session, url_for
from markupsafe import escape

ISSUER = os.environ["VISMA_CONNECT_ISSUER"]
API = os.environ["VISMA_API_BASE_URL"]
PORT = int(os.environ.get("WEB_APP_PORT", "5081"))
REDIRECT_URI = f"http://127.0.0.1:{PORT}/callback"
DEFECTS = set(filter(None, os.environ.get("REFERENCE_APP_DEFECTS", "").split(",")))
TOKENS: dict[str, dict] = {}  # server-side token store, by session id


def update_token(name, token, refresh_token=None, access_token=None):
    """Authlib calls this after a refresh: keep the rotated refresh token."""
    for sid, stored in list(TOKENS.items()):
        if stored.get("refresh_token") == refresh_token:
            if "old-refresh-token" in DEFECTS:
                token["refresh_token"] = stored.get("first_refresh_token") or refresh_token
                token["first_refresh_token"] = token["refresh_token"]
            TOKENS[sid] = token


app = Flask(__name__)
app.secret_key = secrets.token_bytes(32)
oauth = OAuth(app, update_token=update_token)
SECRET = os.environ["WEB_APP_CLIENT_SECRET"]
oauth.register(
    "visma",
    client_id=os.environ.get("WEB_APP_CLIENT_ID", "reference-web"),
    client_secret=SECRET,
    access_token_url=f"{ISSUER}/connect/token?client_secret={SECRET}" if "secret-in-url" in DEFECTS else None,
    server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
    client_kwargs={
        "scope": "openid profile email offline_access",
        "code_challenge_method": (None if "no-pkce" in DEFECTS else "plain" if "plain-pkce" in DEFECTS else "S256"),
        "token_endpoint_auth_method": "none" if "no-secret" in DEFECTS else "client_secret_basic",
    },
)


def page(body: str, status: int = 200):
    return f"<!doctype html><title>Reference web app</title><body>{body}</body>", status


@app.get("/")
def home():
    return page('<p>Not signed in.</p><a href="/login">Sign in with Visma</a>')


@app.get("/login")
def login():
    session["sid"] = secrets.token_urlsafe(16)
    state = {"short-state": secrets.token_hex(8), "fixed-state": "reference-web-app-state-always-the-same"}
    extra = {}
    for name in DEFECTS & state.keys():  # at most one of the two is on
        extra["state"] = state[name]
    if "plain-pkce" in DEFECTS:  # Authlib itself only makes S256 challenges
        verifier = secrets.token_urlsafe(48)
        extra.update(code_verifier=verifier, code_challenge=verifier, code_challenge_method="plain")
    authorization = oauth.visma.create_authorization_url(REDIRECT_URI, **extra)
    oauth.visma.save_authorize_data(redirect_uri=REDIRECT_URI, **authorization)
    session["last_state"] = authorization["state"]
    url = authorization["url"]
    for defect, parameter in (("no-state", "state"), ("no-response-type", "response_type")):
        if defect in DEFECTS:
            url = _without(url, parameter)
    return redirect(url)


def _without(url: str, parameter: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != parameter])))


@app.get("/callback")
def callback():
    metadata = oauth.visma.load_server_metadata()
    if (
        metadata.get("authorization_response_iss_parameter_supported")
        and "iss-not-checked" not in DEFECTS
        and request.args.get("iss") != metadata["issuer"]
    ):
        return page("<p>Sign-in failed: the response does not come from Visma Connect (iss).</p>", 400)
    if "error-crashes" in DEFECTS and request.args.get("error"):
        raise RuntimeError(f"unexpected callback: {request.args['error']}")
    try:
        if DEFECTS & {"state-not-checked", "no-state", "wrong-verifier", "redirect-uri-changed"}:
            token = _redeem_by_hand()
        else:
            token = oauth.visma.authorize_access_token()  # checks state and the ID token (Authlib)
    except AuthlibBaseError as error:
        return page(f"<p>Sign-in failed: {escape(error.error)}.</p>", 400)
    TOKENS[session["sid"]] = token
    return redirect(url_for("profile"))


def _redeem_by_hand():
    """The defects: whatever state came back, use the verifier of the last sign-in started here;
    or check the state but send another verifier or another redirect_uri."""
    if not DEFECTS & {"state-not-checked", "no-state"} and request.args.get("state") != session.get("last_state"):
        raise MismatchingStateError()
    data = oauth.visma.framework.get_state_data(session, session.get("last_state")) or {}
    verifier = secrets.token_urlsafe(48) if "wrong-verifier" in DEFECTS else data.get("code_verifier")
    redirect_uri = REDIRECT_URI + "/" if "redirect-uri-changed" in DEFECTS else REDIRECT_URI
    token = oauth.visma.fetch_access_token(code=request.args["code"], redirect_uri=redirect_uri, code_verifier=verifier)
    if "id_token" in token:  # what authorize_access_token would do after the state check
        token["userinfo"] = oauth.visma.parse_id_token(token, nonce=data.get("nonce"))
    return token


def _claims_unchecked(token, nonce, claims_options=None, claims_cls=None, leeway=120):
    """The defect id-token-not-validated: the ID token's claims read, nothing about them checked."""
    payload = token["id_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


if "id-token-not-validated" in DEFECTS:
    oauth.visma.parse_id_token = _claims_unchecked


@app.get("/profile")
def profile():
    token = TOKENS.get(session.get("sid", ""))
    if not token:
        return redirect(url_for("login"))
    try:
        if "expired-token-used" in DEFECTS:
            answer = requests.get(
                f"{API}/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
            )
        else:
            answer = oauth.visma.get(f"{API}/v1/me", token=token, timeout=10)
    except AuthlibBaseError:  # expired and nothing to refresh it with: sign in again
        return redirect(url_for("login"))
    if answer.status_code == 401:
        return redirect(url_for("login"))
    return page(f"<p id=signed-in>Signed in. The Visma API says: {escape(answer.text)}</p>")


if __name__ == "__main__":
    from werkzeug.serving import make_server

    make_server("127.0.0.1", PORT, app, threaded=True).serve_forever()
