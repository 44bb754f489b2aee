"""A reference server-side web application on Authlib's Flask client, signing in with Visma
Connect: authorization code with PKCE S256 and the client secret (HTTP Basic), offline_access,
refresh on expiry, the ID token validated by Authlib (its aud asked for explicitly: id_token_checks), RFC 9207's
iss checked.

Configuration from the environment: VISMA_CONNECT_ISSUER, VISMA_API_BASE_URL, WEB_APP_PORT,
WEB_APP_CLIENT_ID, WEB_APP_CLIENT_SECRET, WEB_APP_SCOPE (without offline_access it gets no refresh
token, and signs in again when its access token expired), WEB_APP_REDIRECT_PATH (its callback's path, /callback;
with /, its redirect URI is its root, which also shows its home page where a load carries no code nor error, as
many applications' is: application.yaml reads the same variable). REFERENCE_APP_DEFECTS (comma-separated) switches on
defects, to prove the certification catches them:

    no-response-type       the authorization request carries no response_type
    redirect-uri-changed   the code is redeemed with a redirect_uri other than the authorization request's
    no-state               the authorization request carries no state (and the callback is not checked)
    short-state            the state is 64 random bits: APPC-04's bar, below the 128 APPC-29 warns of
    guessable-state        the state is 48 random bits, below APPC-04's 64
    fixed-state            every sign-in uses the same state
    state-not-checked      the callback's state is not compared with the one sent
    oauth-only             no defect alone: the scope without openid, an OAuth 2.0 client with no ID token (the
                           matrix sets WEB_APP_SCOPE for it, which application.yaml reads too)
    no-pkce                no PKCE, though the application declares it
    no-nonce               the authorization request carries no nonce, and the ID token's is not checked
                           (with no-pkce, only the state protects the callback: APPC-03 to APPC-05 judge it)
    plain-pkce             PKCE with the plain method
    wrong-verifier         the code is redeemed with another code_verifier
    no-secret              token requests carry no client secret (a code redemption relies on PKCE)
    iss-not-checked        RFC 9207's iss on the callback is not compared with the issuer
    callback-iss-prefix    RFC 9207's iss on the callback is compared by prefix (iss.startswith(issuer)), not
                           by the simple string comparison RFC 9207 section 2.4 asks for
    old-refresh-token      after a refresh, the first refresh token is kept and used again
    id-token-not-validated the ID token is accepted without checking it
    iss-prefix             the ID token's iss is compared by prefix (an Authlib validate callable doing
                           iss.startswith(issuer)), not "exactly" as OpenID Connect Core 3.1.3.7 step 2 asks
    nonce-presence-not-checked  the ID token's nonce is compared only when it carries one (an ID token
                           without nonce is accepted, as npm @axa-fr/oidc-client 7 does)
    secret-in-url          the token request carries the client secret in its URL
    expired-token-used     the access token is used without looking at its expiry, and the API's refusal
                           of the expired token is shown: never renewed
    refresh-on-401         no defect alone: the access token is used without looking at its expiry (as
                           @badgateway/oauth2-client's OAuth2Fetch without expiresAt); the API's 401 makes it
                           refresh the token and retry the call (RFC 6750 section 3.1 allows it)
    token-kept-after-refresh  the access token is refreshed ahead of its expiry (within 30 s of it, as Apache
                           mod_auth_openidc's OIDCRefreshAccessTokenBeforeExpiry 30), but the Visma API is
                           called with the first token the profile page saw, kept "to save calls" (as a
                           backend behind mod_auth_openidc that caches OIDC_access_token): once a refreshed
                           token expires too, the API refuses it and the refusal is shown
    error-crashes          a callback with an error (access_denied) crashes the application (HTTP 500)
    basic-not-encoded      the client id and secret go into HTTP Basic as they are, not form-urlencoded
    response-type-token    the authorization request asks for response_type=token (the implicit flow)
    no-openid              the authorization request asks for its scope without openid (profile email
                           offline_access), though the application registers it: an OAuth-only sign-in, no ID
                           token (Visma's example request asks for openid; APPC-34 warns)
    comma-scope            the scopes are joined with commas (scope=openid,profile,...), as npm grant does by
                           default: Visma Connect refuses the request with invalid_scope
    redirect-uri-unregistered  the authorization request names a redirect_uri that is not registered
    short-verifier         the PKCE code_verifier has 20 characters (RFC 7636 asks for 43 to 128)
    greeting-only          no defect alone: the sign-in greets the user from the ID token and calls
                           nothing (the API only on /profile), so only its signed-in page tells
                           whether it accepted an ID token (with id-token-not-validated: it does)
    form-post              no defect alone: asks for response_mode=form_post and takes the authorization
                           response as a POST to its callback (ASP.NET Core's OpenID Connect handler's
                           default; Visma Connect advertises form_post)
    restart-on-failure     no defect alone: a callback it refuses (another state, no state, another iss, a
                           bad ID token, an error) sends the browser back to /login, which starts a new
                           sign-in, as passport-openidconnect's README sets it up (failureRedirect: '/login')
    userinfo-first         no defect alone: userinfo is asked with the access token before the ID token
                           is validated (django-allauth's order); a faulty ID token is refused all the
                           same (with id-token-not-validated: it is not)
    fixed-pkce             every sign-in uses the same code_verifier, so the same code_challenge
    code-redeemed-twice    the code is redeemed, then redeemed again (the second answer is ignored)
    log-refused-tokens     a sign-in refused for its ID token prints the token response it got (debugging
                           left on, as an outside partner's passport app did): real tokens, in a refused sign-in
    log-refresh            a refresh prints the token response it got (debugging left on)
    refresh-in-query       a refresh sends grant_type, refresh_token, client_id and client_secret in the token
                           endpoint's URL query, with an empty body and no HTTP Basic (as an outside partner's
                           hapi app did)
    two-auth-methods       token requests carry the secret twice: HTTP Basic and client_secret in the body
    iss-missing-accepted   RFC 9207's iss is compared only when the callback carries one
    token-in-api-url       the Visma API is called with the access token in the URL too (?access_token=)
    token-in-api-query     the Visma API is called with the access token in the URL only (Authlib's
                           token_placement "uri"); the API, which reads only the header, refuses it,
                           and the refusal is shown (with greeting-only: the API is used on /profile
                           only, as an application that calls it when a page needs it)
    token-in-page          the profile page shows the access token
    id-token-as-bearer     the Visma API is called with the ID token as the bearer token, not the access token
                           (an outside partner's "the ID token is a JWT too"); the API refuses it as no access
                           token, and the refusal is shown
    refresh-token-to-api   after its call, the refresh token is posted to the Visma API too ("so that the API
                           can renew the session"): a resource server, where only the access token may go
                           (RFC 6749 section 10.4)
    refresh-token-in-header  after its call, the Visma API is called again with the refresh token in a header
                           of its own, X-Refresh-Token, beside the access token (as an Apache mod_auth_openidc
                           backend that passes on OIDC_refresh_token did): a resource server all the same
    token-logged           the token response is printed to the application's output
    token-in-page-url      after the sign-in the browser is sent to /profile?access_token=...
    tokens-in-session-cookie  the access and refresh tokens are kept in Flask's session too: a cookie
                           signed, not encrypted, which the browser can read
    wrong-secret           the application authenticates with another secret than the registered one (a
                           deployment given the wrong secret)
    auth-retry             no defect alone: a code redemption the token endpoint refuses with a 401 is sent
                           again, the same code, with the secret in the form body instead of HTTP Basic
                           (golang.org/x/oauth2's AuthStyleAutoDetect): the refused one redeemed nothing
                           (with basic-not-encoded the retry signs in; with wrong-secret both are refused)
    global-state-store     the callback's state is checked against every state this server issued (a
                           server-wide list), not the one kept in this browser's session; the verifier and
                           nonce are still this browser's (with no-pkce,no-nonce only the state protects
                           the callback, and a state issued to another browser passes)
    verifier-by-state      the callback's state is looked up in a server-wide table of every sign-in started
                           here, and the PKCE verifier and nonce are taken from that table, not from this
                           browser's session: another browser's code and state are redeemed with that
                           browser's verifier and nonce (login CSRF, APPC-31)
    fixed-nonce            every sign-in sends the same nonce, "a super secret nonce" (go-oidc's old example),
                           with a new random state (with no-pkce the state alone protects the callback)
    timestamp-nonce        the OpenID Connect nonce is "acme-" and the time in milliseconds: new in each
                           sign-in, and guessable (with no-pkce and fixed-state nothing unguessable
                           protects the callback: APPC-05 judges the state)
    aud-through-azp        the ID token's aud is left to Authlib's default: checked only through azp, so an
                           aud naming another client passes where azp names this one
    aud-substring          the ID token's aud passes where it contains the client's id ("client_id in aud"),
                           so "<client_id>-evil" and "x<client_id>" pass
    id-token-leeway        the ID token is validated with a leeway of 30 minutes ("clock skew on customers'
                           servers"): one that expired 15 minutes ago passes
    ignore-token-errors    a code redemption the token endpoint refuses with invalid_grant is taken for a sign-in
                           all the same ("the code was used already, so the user must have signed in", as a
                           callback loaded twice would have it): the signed-in page greets an unknown user, with
                           no token

Its HTTP Basic credentials are form-urlencoded first, as RFC 6749 section 2.3.1 asks (Authlib's
own client_secret_basic joins them as they are, and as latin-1), so any secret works.
"""

import base64
import contextlib
import hashlib
import json
import os
import secrets
import time
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.oidc.core import CodeIDToken
from flask import Flask, redirect, request, session, url_for
from markupsafe import escape

ISSUER = os.environ["VISMA_CONNECT_ISSUER"]
API = os.environ["VISMA_API_BASE_URL"]
PORT = int(os.environ.get("WEB_APP_PORT", "5081"))
REDIRECT_PATH = os.environ.get("WEB_APP_REDIRECT_PATH") or "/callback"
REDIRECT_URI = f"http://127.0.0.1:{PORT}{REDIRECT_PATH}"
DEFECTS = set(filter(None, os.environ.get("REFERENCE_APP_DEFECTS", "").split(",")))
SCOPE = os.environ.get("WEB_APP_SCOPE") or "openid profile email offline_access"  # as application.yaml's
if "no-openid" in DEFECTS:
    SCOPE = " ".join(scope for scope in SCOPE.split() if scope != "openid")
if "comma-scope" in DEFECTS:
    SCOPE = ",".join(SCOPE.split())
TOKENS: dict[str, dict] = {}  # server-side token store, by session id
# global-state-store, verifier-by-state: every sign-in started, by its state, whichever browser it went to
ISSUED_STATES: dict[str, dict] = {}
KEPT_TOKENS: dict[str, str] = {}  # token-kept-after-refresh: the access token kept for the API, by session id
REFRESH_AHEAD = 30  # token-kept-after-refresh: seconds before its expiry the access token is refreshed


def update_token(name, token, refresh_token=None, access_token=None):
    """Authlib calls this after a refresh: keep the rotated refresh token."""
    if "log-refresh" in DEFECTS:
        print(f"refreshed, token response: {json.dumps(dict(token))}", flush=True)
    for sid, stored in list(TOKENS.items()):
        if stored.get("refresh_token") == refresh_token:
            if "old-refresh-token" in DEFECTS:
                token["refresh_token"] = stored.get("first_refresh_token") or refresh_token
                token["first_refresh_token"] = token["refresh_token"]
            TOKENS[sid] = token


def client_secret_basic_encoded(client, method, uri, headers, body):
    """HTTP Basic as RFC 6749 section 2.3.1 has it: client id and secret each form-urlencoded, then joined."""
    if "refresh-in-query" in DEFECTS and "grant_type=refresh_token" in uri:  # its credentials are in the URL
        return uri, headers, body
    if "basic-not-encoded" in DEFECTS:
        user_id, password = client.client_id, client.client_secret
    else:
        user_id, password = quote_plus(client.client_id), quote_plus(client.client_secret)
    headers["Authorization"] = "Basic " + base64.b64encode(f"{user_id}:{password}".encode()).decode()
    return uri, headers, body


def refresh_in_query(session) -> None:
    """refresh-in-query: every parameter of a refresh, the client's credentials too, moved into the URL's query."""

    def hook(url, headers, body):
        query = [*parse_qsl(body), ("client_id", session.client_id), ("client_secret", session.client_secret)]
        return f"{url}?{urlencode(query)}", headers, ""

    session.register_compliance_hook("refresh_token_request", hook)


app = Flask(__name__)
app.secret_key = secrets.token_bytes(32)
oauth = OAuth(app, update_token=update_token)
SECRET = os.environ["WEB_APP_CLIENT_SECRET"] + ("-not-the-registered-one" if "wrong-secret" in DEFECTS else "")
oauth.register(
    "visma",
    client_id=os.environ.get("WEB_APP_CLIENT_ID", "reference-web"),
    client_secret=SECRET,
    access_token_url=f"{ISSUER}/connect/token?{urlencode({'client_secret': SECRET})}"
    if "secret-in-url" in DEFECTS
    else None,
    client_auth_methods=[("client_secret_basic_encoded", client_secret_basic_encoded)],
    server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
    compliance_fix=refresh_in_query if "refresh-in-query" in DEFECTS else None,
    client_kwargs={
        "scope": SCOPE,
        "token_placement": "uri" if "token-in-api-query" in DEFECTS else "header",
        "code_challenge_method": (None if "no-pkce" in DEFECTS else "plain" if "plain-pkce" in DEFECTS else "S256"),
        "token_endpoint_auth_method": "none" if "no-secret" in DEFECTS else "client_secret_basic_encoded",
    },
)
# auth-retry: the same client with the secret in the form body, for the retry after a refused HTTP Basic
oauth.register(
    "visma_form",
    client_id=oauth.visma.client_id,
    client_secret=SECRET,
    server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
    client_kwargs={**oauth.visma.client_kwargs, "token_endpoint_auth_method": "client_secret_post"},
)
# two-auth-methods: Authlib authenticates with HTTP Basic, and the code redemption's body gets the secret too
EXTRA_TOKEN_PARAMETERS = {"client_secret": SECRET} if "two-auth-methods" in DEFECTS else {}
FIXED_VERIFIER = secrets.token_urlsafe(48)  # fixed-pkce: one verifier for every sign-in of this process


def page(body: str, status: int = 200):
    return f"<!doctype html><title>Reference web app</title><body>{body}</body>", status


@app.route("/", methods=["GET", "POST"] if REDIRECT_PATH == "/" else ["GET"])
def home():
    if REDIRECT_PATH == "/" and {"code", "error"} & set(request.values):  # the callback, at the root
        if ("form-post" in DEFECTS) != (request.method == "POST"):  # as the callback's route at /callback
            return page("<p>Method not allowed.</p>", 405)
        return callback()
    return page('<p>Not signed in.</p><a href="/login">Sign in with Visma</a>')


@app.get("/login")
def login():
    session["sid"] = secrets.token_urlsafe(16)
    state = {
        "short-state": secrets.token_hex(8),
        "guessable-state": secrets.token_hex(6),
        "fixed-state": "reference-web-app-state-always-the-same",
    }
    extra = {}
    for name in DEFECTS & state.keys():  # at most one of them is on
        extra["state"] = state[name]
    if "fixed-pkce" in DEFECTS:
        extra["code_verifier"] = FIXED_VERIFIER
    if "timestamp-nonce" in DEFECTS:
        extra["nonce"] = f"acme-{time.time_ns() // 1_000_000}"
    if "fixed-nonce" in DEFECTS:
        extra["nonce"] = "a super secret nonce"
    if "plain-pkce" in DEFECTS:  # Authlib itself only makes S256 challenges
        verifier = secrets.token_urlsafe(48)
        extra.update(code_verifier=verifier, code_challenge=verifier, code_challenge_method="plain")
    if DEFECTS & {"short-verifier", "response-type-token"}:  # Authlib makes no challenge for response_type=token
        verifier = secrets.token_urlsafe(15 if "short-verifier" in DEFECTS else 48)  # 20 or 64 characters
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        extra.update(code_verifier=verifier, code_challenge=challenge, code_challenge_method="S256")
    if "response-type-token" in DEFECTS:
        extra["response_type"] = "token"
    if "form-post" in DEFECTS:
        extra["response_mode"] = "form_post"
    redirect_uri = f"http://127.0.0.1:{PORT}/signed-in" if "redirect-uri-unregistered" in DEFECTS else REDIRECT_URI
    authorization = oauth.visma.create_authorization_url(redirect_uri, **extra)
    if "no-nonce" in DEFECTS:  # Authlib adds one for scope openid; without it, it checks none in the ID token
        authorization.pop("nonce", None)
        authorization["url"] = _without(authorization["url"], "nonce")
    oauth.visma.save_authorize_data(redirect_uri=redirect_uri, **authorization)
    session["last_state"] = authorization["state"]
    ISSUED_STATES[authorization["state"]] = authorization
    url = authorization["url"]
    for defect, parameter in (("no-state", "state"), ("no-response-type", "response_type")):
        if defect in DEFECTS:
            url = _without(url, parameter)
    return redirect(url)


def _without(url: str, parameter: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != parameter])))


def callback():
    metadata = oauth.visma.load_server_metadata()
    if (
        metadata.get("authorization_response_iss_parameter_supported")
        and "iss-not-checked" not in DEFECTS
        and ("iss" in request.values or "iss-missing-accepted" not in DEFECTS)
        and not _same_issuer(request.values.get("iss") or "", metadata["issuer"], "callback-iss-prefix" in DEFECTS)
    ):
        return refused("<p>Sign-in failed: the response does not come from Visma Connect (iss).</p>")
    if "error-crashes" in DEFECTS and request.values.get("error"):
        raise RuntimeError(f"unexpected callback: {request.values['error']}")
    try:
        if DEFECTS & {
            "state-not-checked",
            "no-state",
            "wrong-verifier",
            "redirect-uri-changed",
            "code-redeemed-twice",
            "global-state-store",
            "verifier-by-state",
        }:
            token = _redeem_by_hand()
        else:  # checks state and the ID token (Authlib)
            token = oauth.visma.authorize_access_token(**EXTRA_TOKEN_PARAMETERS, **id_token_checks())
            if "no-nonce" in DEFECTS and "id_token" in token:  # Authlib validates it only where it kept a nonce
                token["userinfo"] = oauth.visma.parse_id_token(token, nonce=None, **id_token_checks())
    except AuthlibBaseError as error:
        if "ignore-token-errors" in DEFECTS and error.error == "invalid_grant":
            return page("<p id=signed-in>Signed in. Hello, unknown user.</p>")
        return refused(f"<p>Sign-in failed: {escape(error.error)}.</p>")
    if "token-logged" in DEFECTS:
        print(f"signed in, token response: {json.dumps(token)}", flush=True)
    TOKENS[session["sid"]] = token
    if "tokens-in-session-cookie" in DEFECTS:
        session["tokens"] = {name: token[name] for name in ("access_token", "refresh_token") if name in token}
    if "token-in-page-url" in DEFECTS:  # in the browser's history, and in this server's access log
        return redirect(url_for("profile", access_token=token["access_token"]))
    if "greeting-only" in DEFECTS:  # the user from the ID token's claims, no call at sign-in
        name = (token.get("userinfo") or {}).get("name") or "you"
        return page(f"<p id=signed-in>Signed in. Hello {escape(name)}.</p>")
    return redirect(url_for("profile"))


# form-post: by POST only, as the response mode has it (OAuth 2.0 Form Post Response Mode, section 2); at the root,
# home() hands it the loads that carry a response
if REDIRECT_PATH != "/":
    app.add_url_rule(REDIRECT_PATH, view_func=callback, methods=["POST"] if "form-post" in DEFECTS else ["GET"])


def refused(message: str):
    """A callback refused: an error page, or (restart-on-failure) a new sign-in."""
    if "restart-on-failure" in DEFECTS:
        return redirect(url_for("login"))
    return page(message, 400)


def _redeem_by_hand():
    """The defects: whatever state came back, use the verifier of the last sign-in started here;
    or check the state but send another verifier or another redirect_uri."""
    issued = None
    # one callback per sign-in started here, as Authlib's own path clears its state: loaded again (a reload), it
    # redeems nothing (RFC 6749 section 4.1.2), whatever the defect does with the state
    pending = session.pop("last_state", None)
    if pending is None:
        raise MismatchingStateError()
    if DEFECTS & {"global-state-store", "verifier-by-state"}:  # any state it issued, to any browser, once
        issued = ISSUED_STATES.pop(request.values.get("state", ""), None)
        if issued is None:
            raise MismatchingStateError()
    elif not DEFECTS & {"state-not-checked", "no-state"} and request.values.get("state") != pending:
        raise MismatchingStateError()
    data = oauth.visma.framework.get_state_data(session, pending) or {}
    if "verifier-by-state" in DEFECTS:  # the sign-in's verifier and nonce, whichever browser started it
        data = issued or {}
    verifier = secrets.token_urlsafe(48) if "wrong-verifier" in DEFECTS else data.get("code_verifier")
    redirect_uri = REDIRECT_URI + "/" if "redirect-uri-changed" in DEFECTS else REDIRECT_URI
    token = oauth.visma.fetch_access_token(
        code=request.values["code"], redirect_uri=redirect_uri, code_verifier=verifier
    )
    if "code-redeemed-twice" in DEFECTS:
        with contextlib.suppress(AuthlibBaseError):  # "invalid_grant": the first redemption's tokens are kept
            oauth.visma.fetch_access_token(
                code=request.values["code"], redirect_uri=redirect_uri, code_verifier=verifier
            )
    if "id_token" in token:  # what authorize_access_token would do after the state check
        token["userinfo"] = oauth.visma.parse_id_token(token, nonce=data.get("nonce"), **id_token_checks())
    return token


def id_token_checks() -> dict:
    """What Authlib's client is asked to check in the ID token beside its signature, nonce and expiry: the issuer
    (its own default, which it drops once given claims_options) and the audience. Authlib checks aud only through
    azp (CodeIDToken.validate_azp: an aud naming another client passes where azp names this one), so the client's
    id is asked of aud itself (OpenID Connect Core 1.0 section 3.1.3.7 steps 2 and 3)."""
    issuer = oauth.visma.load_server_metadata()["issuer"]
    claims_options: dict[str, dict] = {
        "iss": {"values": [issuer]},
        "aud": {"values": [oauth.visma.client_id]},
    }
    checks: dict = {"claims_options": claims_options}
    if "iss-prefix" in DEFECTS:
        claims_options["iss"] = {"essential": True, "validate": lambda claims, iss: _same_issuer(iss, issuer, True)}
    if "aud-through-azp" in DEFECTS:  # Authlib's default: the issuer alone
        del claims_options["aud"]
    if "aud-substring" in DEFECTS:
        claims_options["aud"] = {"essential": True, "validate": lambda claims, aud: oauth.visma.client_id in str(aud)}
        checks["claims_cls"] = _AzpNotAsked
    if "id-token-leeway" in DEFECTS:
        checks["leeway"] = 30 * 60
    return checks


def _same_issuer(iss: str, issuer: str, by_prefix: bool = False) -> bool:
    """The iss compared with the issuer: exactly, or (callback-iss-prefix, iss-prefix) by prefix."""
    return iss.startswith(issuer) if by_prefix else iss == issuer


class _AzpNotAsked(CodeIDToken):
    """aud-substring: an aud other than the client's id asks for no azp (Authlib asks for one that names it)."""

    def validate_azp(self):
        return None


def _claims_unchecked(token, nonce, claims_options=None, claims_cls=None, leeway=120):
    """The defect id-token-not-validated: the ID token's claims read, nothing about them checked."""
    payload = token["id_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _nonce_only_where_present(parse_id_token):
    """The defect nonce-presence-not-checked: Authlib checks the nonce it is given, so it is given none
    when the ID token carries none; the other claims are still checked."""

    def parse(token, nonce, **options):
        payload = token["id_token"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return parse_id_token(token, nonce if "nonce" in claims else None, **options)

    return parse


def _retried_in_form_after_401(fetch_access_token):
    """The switch auth-retry, as golang.org/x/oauth2's AuthStyleAutoDetect: HTTP Basic first; refused for
    the client's authentication, the same request (the same code) again with the secret in the form body."""

    def fetch(*args, **kwargs):
        try:
            return fetch_access_token(*args, **kwargs)
        except OAuthError as error:
            if error.error != "invalid_client":
                raise
        return oauth.visma_form.fetch_access_token(*args, **kwargs)

    return fetch


if "auth-retry" in DEFECTS:
    oauth.visma.fetch_access_token = _retried_in_form_after_401(oauth.visma.fetch_access_token)
if "id-token-not-validated" in DEFECTS:
    oauth.visma.parse_id_token = _claims_unchecked
if "nonce-presence-not-checked" in DEFECTS:
    oauth.visma.parse_id_token = _nonce_only_where_present(oauth.visma.parse_id_token)


def _after_userinfo(parse_id_token):
    """userinfo-first: userinfo asked with the new access token before the ID token is checked, as
    django-allauth's OpenID Connect provider does; a faulty ID token is refused all the same."""

    def parse(token, *args, **kwargs):
        # a plain request, as allauth makes it (Authlib's own userinfo() would refresh a token that
        # expires at once, and the rotated refresh token would be lost before the sign-in stores it)
        userinfo = oauth.visma.load_server_metadata()["userinfo_endpoint"]
        requests.get(userinfo, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
        return parse_id_token(token, *args, **kwargs)

    return parse


if "userinfo-first" in DEFECTS:
    oauth.visma.parse_id_token = _after_userinfo(oauth.visma.parse_id_token)


def _logged_when_refused(parse_id_token):
    """log-refused-tokens: the token response of a sign-in whose ID token is refused, printed before the refusal."""

    def parse(token, *args, **kwargs):
        try:
            return parse_id_token(token, *args, **kwargs)
        except Exception:
            print(f"sign-in refused, token response: {json.dumps(dict(token))}", flush=True)
            raise

    return parse


if "log-refused-tokens" in DEFECTS:
    oauth.visma.parse_id_token = _logged_when_refused(oauth.visma.parse_id_token)


def _refreshed(token: dict) -> dict:
    """refresh-on-401: a refresh of the token the API refused, whatever its expiry said; the rotated
    refresh token kept."""
    client = oauth.visma._get_oauth_client()
    endpoint = oauth.visma.load_server_metadata()["token_endpoint"]
    fresh = dict(client.refresh_token(endpoint, refresh_token=token["refresh_token"]))
    fresh.setdefault("refresh_token", token["refresh_token"])
    TOKENS[session["sid"]] = fresh
    return fresh


@app.get("/profile")
def profile():
    token = TOKENS.get(session.get("sid", ""))
    if not token:
        return redirect(url_for("login"))
    try:
        # token-in-api-url: the header as well, so that the API (which reads only the header) answers
        in_url = {"access_token": token["access_token"]} if "token-in-api-url" in DEFECTS else None
        if "token-kept-after-refresh" in DEFECTS:
            if token.get("expires_at", 0) - time.time() < REFRESH_AHEAD and "refresh_token" in token:
                token = _refreshed(token)
            kept = KEPT_TOKENS.setdefault(session["sid"], token["access_token"])
            answer = requests.get(f"{API}/v1/me", headers={"Authorization": f"Bearer {kept}"}, timeout=10)
            if answer.status_code == 401:
                return page(f"<p>The Visma API refused the call: {escape(answer.text)}</p>", 502)
        elif "id-token-as-bearer" in DEFECTS:
            answer = requests.get(f"{API}/v1/me", headers={"Authorization": f"Bearer {token['id_token']}"}, timeout=10)
            if answer.status_code == 401:  # shown: a new sign-in would be refused the same way
                return page(f"<p>The Visma API refused the call: {escape(answer.text)}</p>", 502)
        elif DEFECTS & {"expired-token-used", "refresh-on-401"}:
            answer = requests.get(
                f"{API}/v1/me", headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10
            )
            if answer.status_code == 401 and "expired-token-used" in DEFECTS:  # shown, not renewed
                return page(f"<p>The Visma API refused the call: {escape(answer.text)}</p>", 502)
            if answer.status_code == 401 and "refresh_token" in token:  # renewed, then the call again
                token = _refreshed(token)
                answer = oauth.visma.get(f"{API}/v1/me", token=token, timeout=10)
        else:
            answer = oauth.visma.get(f"{API}/v1/me", token=token, params=in_url, timeout=10)
            if "refresh-token-to-api" in DEFECTS:  # the newest tokens, as a refresh in the call above kept them
                newest = TOKENS.get(session["sid"], token)
                requests.post(
                    f"{API}/v1/me/session",
                    headers={"Authorization": f"Bearer {newest['access_token']}"},
                    json={"refresh_token": newest.get("refresh_token")},
                    timeout=10,
                )
            if "refresh-token-in-header" in DEFECTS:  # "so that the API can renew it for us"
                newest = TOKENS.get(session["sid"], token)
                requests.get(
                    f"{API}/v1/me",
                    headers={
                        "Authorization": f"Bearer {newest['access_token']}",
                        "X-Refresh-Token": newest.get("refresh_token") or "",
                    },
                    timeout=10,
                )
    except AuthlibBaseError:  # expired and nothing to refresh it with: sign in again
        return redirect(url_for("login"))
    if answer.status_code == 401 and "token-in-api-query" in DEFECTS:  # a new sign-in would be refused the same way
        return page(f"<p>The Visma API refused the call: {escape(answer.text)}</p>", 502)
    if answer.status_code == 401:
        return redirect(url_for("login"))
    shown = (
        f"<p>Your access token: <code>{escape(token['access_token'])}</code></p>" if "token-in-page" in DEFECTS else ""
    )
    return page(f"<p id=signed-in>Signed in. The Visma API says: {escape(answer.text)}</p>{shown}")


if __name__ == "__main__":
    from werkzeug.serving import make_server

    make_server("127.0.0.1", PORT, app, threaded=True).serve_forever()
