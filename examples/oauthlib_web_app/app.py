"""A reference server-side web application on Flask and requests-oauthlib (OAuth2Session), signing
in with Visma Connect as the requests-oauthlib documentation's web application flow shows it:
authorization code with the state kept in the session and handed back to OAuth2Session, PKCE S256
(oauthlib's WebApplicationClient makes the verifier and the challenge), the client secret in the
form body as Visma Connect's documentation shows it (include_client_id=True), offline_access and
automatic refresh (auto_refresh_url, token_updater). requests-oauthlib leaves OpenID Connect to the
application: the ID token is validated with joserfc against the issuer's keys (iss, aud, exp, nonce,
signature), and RFC 9207's iss on the callback is compared with the issuer.

Configuration from the environment: VISMA_CONNECT_ISSUER, VISMA_API_BASE_URL, OAUTHLIB_WEB_APP_PORT,
OAUTHLIB_WEB_APP_CLIENT_ID, OAUTHLIB_WEB_APP_CLIENT_SECRET (the stand-in's certificate authority
comes in REQUESTS_CA_BUNDLE). REFERENCE_APP_DEFECTS (comma-separated) switches on defects:

    redirect-uri-changed   the code is redeemed with a redirect_uri other than the authorization request's
    short-state            the state is 64 random bits
    fixed-state            every sign-in uses the same state
    state-not-checked      the callback's OAuth2Session is not given the state from the session
    no-pkce                no PKCE, though the application declares it
    plain-pkce             PKCE with the plain method
    challenge-dropped      PKCE asked for with create_code_challenge(verifier, "plain"), which returns None in
                           oauthlib 4.0.1: the authorization request carries no code_challenge, the token
                           request a code_verifier (a real bug of this stack)
    wrong-verifier         the code is redeemed with another code_verifier
    no-secret              token requests carry no client secret
    secret-in-url          the token request carries the client secret in its URL
    force-querystring      the code is redeemed with fetch_token(force_querystring=True): every parameter, the
                           client secret too, in the token URL's query and the body empty (aiohttp-oauthlib's
                           and requests-oauthlib's option), which authenticates nothing
    iss-not-checked        RFC 9207's iss on the callback is not compared with the issuer
    id-token-not-validated the ID token's claims are read without checking them
    old-refresh-token      after a refresh, the first refresh token is kept and used again
    expired-token-used     the access token is used without looking at its expiry, and the API's refusal
                           of the expired token is shown: never renewed
    tls-unverified         every request is sent with verify=False ("the staging server's certificate"):
                           the authorization server's certificate is not validated
    callback-replayable    its callback answers whatever sign-in its session started last, however many times
                           it is loaded: a reload of it redeems the code again
    tls-session-unverified every session of requests is made with verify = False, the Session's attribute (as an
                           application sets it on the session it shares): requests lets REQUESTS_CA_BUNDLE and
                           CURL_CA_BUNDLE override that attribute (psf/requests#3829), not a call's verify=False
    error-crashes          a callback with an error (access_denied) crashes the application (HTTP 500)
    ignore-token-errors    a code redemption the token endpoint refuses with invalid_grant is taken for a sign-in
                           all the same ("the code was used already, so the user must have signed in", as a
                           callback loaded twice would have it): the signed-in page greets an unknown user, with
                           no token
    token-plain-http       the code is redeemed at the token endpoint as http://, its client secret with it, on the
                           https issuer's port (an application that wrote the issuer's scheme wrong)
"""

import base64
import json
import os
import secrets

import requests
from flask import Flask, redirect, request, session, url_for
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from markupsafe import escape
from oauthlib.oauth2 import OAuth2Error, WebApplicationClient
from requests_oauthlib import OAuth2Session

# oauthlib refuses any http:// URL, the callback's too; this application's callback is on the
# loopback interface (RFC 8252 section 7.3), where the requests-oauthlib documentation sets this.
# Visma Connect itself is reached over HTTPS.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

ISSUER = os.environ["VISMA_CONNECT_ISSUER"]
API = os.environ["VISMA_API_BASE_URL"]
PORT = int(os.environ.get("OAUTHLIB_WEB_APP_PORT", "5084"))
REDIRECT_URI = f"http://127.0.0.1:{PORT}/callback"
CLIENT_ID = os.environ.get("OAUTHLIB_WEB_APP_CLIENT_ID", "reference-oauthlib-web")
SECRET = os.environ["OAUTHLIB_WEB_APP_CLIENT_SECRET"]
SCOPE = ["openid", "profile", "email", "offline_access"]
DEFECTS = set(filter(None, os.environ.get("REFERENCE_APP_DEFECTS", "").split(",")))
if "tls-unverified" in DEFECTS:  # as verify=False on every call: every session of requests, OAuth2Session's too
    _send = requests.Session.request
    requests.Session.request = lambda self, *args, **kwargs: _send(self, *args, **{**kwargs, "verify": False})  # type: ignore[method-assign]
if "tls-session-unverified" in DEFECTS:
    _made = requests.Session.__init__

    def _unverified_session(self: requests.Session) -> None:
        _made(self)
        self.verify = False

    requests.Session.__init__ = _unverified_session  # type: ignore[method-assign]
METADATA = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()
TOKEN_URL = METADATA["token_endpoint"] + (f"?client_secret={SECRET}" if "secret-in-url" in DEFECTS else "")
if "token-plain-http" in DEFECTS:
    TOKEN_URL = TOKEN_URL.replace("https://", "http://", 1)
CREDENTIALS = {"client_id": CLIENT_ID} if "no-secret" in DEFECTS else {"client_id": CLIENT_ID, "client_secret": SECRET}
TOKENS: dict[str, dict] = {}  # server-side token store, by session id

app = Flask(__name__)
app.secret_key = secrets.token_bytes(32)


def page(body: str, status: int = 200):
    return f"<!doctype html><title>Reference requests-oauthlib web app</title><body>{body}</body>", status


@app.get("/")
def home():
    return page('<p>Not signed in.</p><a href="/login">Sign in with Visma</a>')


@app.get("/login")
def login():
    session["sid"] = secrets.token_urlsafe(16)
    oauthlib_client = WebApplicationClient(CLIENT_ID)
    verifier = oauthlib_client.create_code_verifier(64)
    pkce = {}
    if "plain-pkce" in DEFECTS:  # oauthlib's default method is plain (named, it returns None: see below)
        pkce = {"code_challenge": oauthlib_client.create_code_challenge(verifier), "code_challenge_method": "plain"}
    elif "challenge-dropped" in DEFECTS:  # oauthlib 4.0.1 makes no challenge for a method named "plain"
        challenge = oauthlib_client.create_code_challenge(verifier, "plain")  # None: both parameters left out
        pkce = {"code_challenge": challenge, "code_challenge_method": "plain"}
    elif "no-pkce" not in DEFECTS:
        pkce = {
            "code_challenge": oauthlib_client.create_code_challenge(verifier, "S256"),
            "code_challenge_method": "S256",
        }
    state = {"short-state": secrets.token_hex(8), "fixed-state": "reference-oauthlib-app-state-always-the-same"}
    visma = OAuth2Session(CLIENT_ID, client=oauthlib_client, redirect_uri=REDIRECT_URI, scope=SCOPE)
    nonce = secrets.token_urlsafe(24)
    url, session["oauth_state"] = visma.authorization_url(
        METADATA["authorization_endpoint"],
        state=next((state[d] for d in DEFECTS if d in state), None),
        nonce=nonce,
        **pkce,
    )
    session.update(code_verifier=verifier, nonce=nonce, pending=True)
    return redirect(url)


@app.get("/callback")
def callback():
    # a callback answers one sign-in started here, once: loaded again (reload, back), it would redeem a code used
    # already (RFC 6749 section 4.1.2: "The client MUST NOT use the authorization code more than once")
    pending = session.get("pending") if "callback-replayable" in DEFECTS else session.pop("pending", None)
    if not pending:
        return page("<p>Sign-in failed: no sign-in is pending here.</p>", 400)
    if (
        METADATA.get("authorization_response_iss_parameter_supported")
        and "iss-not-checked" not in DEFECTS
        and request.args.get("iss") != METADATA["issuer"]
    ):
        return page("<p>Sign-in failed: the response does not come from Visma Connect (iss).</p>", 400)
    visma = OAuth2Session(
        CLIENT_ID,
        state=None if "state-not-checked" in DEFECTS else session.get("oauth_state"),
        redirect_uri=REDIRECT_URI + "/" if "redirect-uri-changed" in DEFECTS else REDIRECT_URI,
        scope=SCOPE,
    )
    verifier = secrets.token_urlsafe(48) if "wrong-verifier" in DEFECTS else session.get("code_verifier")
    try:
        token = visma.fetch_token(
            TOKEN_URL,
            authorization_response=request.url,
            include_client_id=True,
            client_secret=CREDENTIALS.get("client_secret"),
            code_verifier=None if "no-pkce" in DEFECTS else verifier,
            force_querystring="force-querystring" in DEFECTS,
            timeout=10,
        )
        claims = id_token_claims(token["id_token"], session.get("nonce"))
    except OAuth2Error as error:
        if "error-crashes" in DEFECTS:
            raise
        app.logger.warning("sign-in failed: %s %s", error.error, error.description)
        if "ignore-token-errors" in DEFECTS and error.error == "invalid_grant":
            return page("<p id=signed-in>Signed in as an unknown user.</p>")
        return page(f"<p>Sign-in failed: {escape(error.error)}.</p>", 400)
    except JoseError as error:
        app.logger.warning("sign-in failed: the ID token is not valid: %s", error)
        return page(f"<p>Sign-in failed: the ID token is not valid ({escape(error.error)}).</p>", 400)
    TOKENS[session["sid"]] = {**token, "name": claims.get("name")}
    return redirect(url_for("profile"))


def id_token_claims(id_token: str, nonce: str | None) -> dict:
    """OpenID Connect Core 3.1.3.7: signature, iss, aud, exp and nonce."""
    if "id-token-not-validated" in DEFECTS:
        payload = id_token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    keys = KeySet.import_key_set(requests.get(METADATA["jwks_uri"], timeout=10).json())
    decoded = jwt.decode(id_token, keys, algorithms=METADATA.get("id_token_signing_alg_values_supported"))
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": METADATA["issuer"]},
        aud={"essential": True, "value": CLIENT_ID},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce or ""},  # none kept: no nonce matches
    ).validate(decoded.claims)
    return decoded.claims


def save_token(token: dict) -> None:
    """requests-oauthlib's token_updater: keep what the refresh returned (a rotated refresh token)."""
    stored = TOKENS[session["sid"]]
    if "old-refresh-token" in DEFECTS:
        token["refresh_token"] = stored["refresh_token"]
    TOKENS[session["sid"]] = {**stored, **token}


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
            visma = OAuth2Session(
                CLIENT_ID,
                token=token,
                auto_refresh_url=TOKEN_URL,
                auto_refresh_kwargs=CREDENTIALS,
                token_updater=save_token,
            )
            answer = visma.get(f"{API}/v1/me", timeout=10)
    except OAuth2Error:  # the refresh was refused: sign in again
        return redirect(url_for("login"))
    if answer.status_code == 401 and "expired-token-used" in DEFECTS:  # shown, never renewed
        return page(f"<p>The Visma API refused the call: {escape(answer.text)}</p>", 502)
    if answer.status_code == 401:
        return redirect(url_for("login"))
    return page(
        f"<p id=signed-in>Signed in as {escape(token.get('name'))}. The Visma API says: {escape(answer.text)}</p>"
    )


if __name__ == "__main__":
    from werkzeug.serving import make_server

    make_server("127.0.0.1", PORT, app, threaded=True).serve_forever()
