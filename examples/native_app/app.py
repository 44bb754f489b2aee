"""A reference native (desktop) application signing in with Visma Connect as RFC 8252 says a native app
does, on Authlib's requests OAuth2Session: the system browser, a loopback IP redirect on a port the operating
system gives it at each sign-in (section 7.3; registered as http://127.0.0.1/callback, without a port), PKCE
S256 (section 8.1; Visma Connect: native apps rely on PKCE) with no client secret and no refresh token
(Visma Connect: only server-side web applications get one), a state and a nonce of each sign-in's own.

Its window is a tiny local page, since the suite's browser plays the user's system browser:
  /login    starts a sign-in: a listener on 127.0.0.1, port 0, that takes that sign-in's one authorization
            response and stops (as google-auth-oauthlib's InstalledAppFlow.run_local_server does), and "opens the
            system browser" at the authorization request (the browser that asked is sent there). The listener
            compares the state, redeems the code with that sign-in's verifier, validates the ID token and keeps
            the tokens for the window that started the sign-in, then shows it (a redirect to /profile).
  /profile  calls the Visma API with the access token; an expired one (no refresh token) is a new sign-in.

Configuration from the environment: VISMA_CONNECT_ISSUER, VISMA_API_BASE_URL, NATIVE_APP_PORT,
NATIVE_APP_CLIENT_ID. REFERENCE_APP_DEFECTS (comma-separated) switches on defects:

    state-not-checked   the listener redeems whatever state the response carries (Authlib is given none)
    fixed-pkce          one code_verifier, made at start-up, for every sign-in
    no-nonce            no nonce is sent (nor then compared)
    form-post           response_mode=form_post: the listener takes the response as a POST (no defect)
"""

import os
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from flask import Flask, redirect, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from markupsafe import escape

ISSUER = os.environ["VISMA_CONNECT_ISSUER"]
API = os.environ["VISMA_API_BASE_URL"]
PORT = int(os.environ.get("NATIVE_APP_PORT", "5085"))
CLIENT_ID = os.environ.get("NATIVE_APP_CLIENT_ID", "reference-native")
SCOPE = "openid profile email"  # no offline_access: a native app gets no refresh token
DEFECTS = set(filter(None, os.environ.get("REFERENCE_APP_DEFECTS", "").split(",")))
METADATA = requests.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()
FIXED_VERIFIER = generate_token(64)  # fixed-pkce: every sign-in's
LISTENER_LIFETIME = 300  # seconds a sign-in's listener waits for its authorization response
TOKENS: dict[str, dict] = {}  # the window's tokens, by the window's session (its cookie)

app = Flask(__name__)


def page(body: str, status: int = 200) -> tuple[str, int]:
    return f"<!doctype html><title>Reference native app</title><body>{body}</body>", status


@app.get("/")
def home():
    return page('<p>Not signed in.</p><a href="/login">Sign in with Visma</a>')


@app.get("/login")
def login():
    """A new sign-in: its own listener, state, verifier and nonce; the browser sent to the authorization request."""
    window = request.cookies.get("window") or secrets.token_urlsafe(16)
    listener = LoopbackListener(window)
    answer = redirect(listener.authorization_url)
    answer.set_cookie("window", window, httponly=True, samesite="Lax")
    return answer


@app.get("/profile")
def profile():
    token = TOKENS.get(request.cookies.get("window", ""))
    if not token or token.get("expires_at", 0) <= time.time():  # no refresh token: sign in again
        return redirect("/login")
    answer = requests.get(f"{API}/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    if answer.status_code == 401:
        return redirect("/login")
    return page(f"<p id=signed-in>Signed in as {escape(token['name'])}. The Visma API says: {escape(answer.text)}</p>")


class LoopbackListener:
    """One sign-in's loopback redirect (RFC 8252 section 7.3): listens on a port the system gives it, takes one
    authorization response at /callback, by GET or (form-post) POST, and stops."""

    def __init__(self, window: str) -> None:
        self.window = window
        # a thread a connection: one the browser opened ahead and sent nothing on (Chromium's preconnect before a
        # form_post page's submission) holds none of the others, nor the response
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/callback"
        self.verifier = FIXED_VERIFIER if "fixed-pkce" in DEFECTS else generate_token(64)
        self.nonce = None if "no-nonce" in DEFECTS else generate_token(32)
        self.session = OAuth2Session(
            CLIENT_ID,
            scope=SCOPE,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="none",  # a public client: client_id in the form, no secret
            timeout=10,
        )
        extra = {"nonce": self.nonce} if self.nonce else {}
        if "form-post" in DEFECTS:
            extra["response_mode"] = "form_post"
        self.authorization_url, self.state = self.session.create_authorization_url(
            METADATA["authorization_endpoint"], code_verifier=self.verifier, **extra
        )
        self.answered, self.claimed = False, threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        deadline = time.monotonic() + LISTENER_LIFETIME
        self.server.timeout = 1
        while not self.answered and time.monotonic() < deadline:
            self.server.handle_request()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a connection that sends nothing is closed

            def do_GET(self) -> None:
                self._answer(dict(parse_qsl(urlsplit(self.path).query)))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(dict(parse_qsl(self.rfile.read(length).decode())))

            def _answer(self, params: dict[str, str]) -> None:
                if urlsplit(self.path).path != "/callback":
                    self.send_error(404)
                    return
                with listener.claimed:  # one response, once: a callback loaded again redeems nothing
                    first, listener.answered = not listener.answered, True
                status, location, text = listener.sign_in(params) if first else (400, "", "No sign-in is pending here.")
                body = f"<!doctype html><title>Reference native app</title><p>{escape(text)}</p>".encode()
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # its query is the code and state: not written
                return

        return Handler

    def sign_in(self, params: dict[str, str]) -> tuple[int, str, str]:
        """This sign-in's authorization response: the tokens kept for its window, or why it was refused."""
        if "error" in params:
            return 400, "", f"Sign-in failed: {params['error']}."
        if METADATA.get("authorization_response_iss_parameter_supported") and params.get("iss") != METADATA["issuer"]:
            return 400, "", "Sign-in failed: the response does not come from Visma Connect (iss)."
        response = f"{self.redirect_uri}?{urlencode(params)}"
        try:
            token = self.session.fetch_token(
                METADATA["token_endpoint"],
                authorization_response=response,
                state=None if "state-not-checked" in DEFECTS else self.state,
                code_verifier=self.verifier,
            )
            claims = self.id_token_claims(token)
        except (AuthlibBaseError, JoseError) as error:  # the state, the token request, the ID token
            return 400, "", f"Sign-in failed: {error.error or type(error).__name__}."
        TOKENS[self.window] = {**token, "name": claims.get("name")}
        return 302, f"http://127.0.0.1:{PORT}/profile", "Signed in: you may close this window."

    def id_token_claims(self, token: dict) -> dict:
        """OpenID Connect Core 1.0 section 3.1.3.7 as Authlib's OpenID clients check it (CodeIDToken): the signature,
        iss, aud (asked of aud itself, not only through azp), exp, the nonce sent, at_hash."""
        keys = KeySet.import_key_set(requests.get(METADATA["jwks_uri"], timeout=10).json())
        decoded = jwt.decode(token["id_token"], keys, algorithms=METADATA.get("id_token_signing_alg_values_supported"))
        options = {"iss": {"essential": True, "values": [METADATA["issuer"]]}, "aud": {"values": [CLIENT_ID]}}
        params = {"nonce": self.nonce, "client_id": CLIENT_ID, "access_token": token["access_token"]}
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        claims.validate(leeway=60)
        return claims


if __name__ == "__main__":
    from werkzeug.serving import make_server

    make_server("127.0.0.1", PORT, app, threaded=True).serve_forever()
