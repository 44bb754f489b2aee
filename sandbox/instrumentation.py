"""What the sandbox offers to whoever tests a client against it: a log of every request,
faults injected at run time, a mock Visma API, and CORS so that single-page apps can call the
token endpoint, the API and the discovery documents from a browser."""

import base64
import json
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Flask, Response, g, request
from joserfc import jwt
from joserfc.jwk import KeySet

from sandbox.faults import ID_TOKEN_FAULTS, RECENT_EXPIRY, Faults
from sandbox.mock_api import API_PREFIX, register_mock_api
from sandbox.recording import NOTES_KEY, RecordingMiddleware, RequestLog
from sandbox.tokens import TokenStore

# Cross-origin reads a browser app needs; the authorization endpoint is a navigation, not a fetch.
CORS_PATHS = ("/.well-known/", "/connect/token", "/connect/userinfo", "/connect/revocation", API_PREFIX + "/")
# As Visma Connect (Duende IdentityServer) answers an allowed origin: its CorsPolicyProvider builds the policy
# WithOrigins(origin).AllowAnyHeader().AllowAnyMethod() and never AllowCredentials(), so a preflight gets the
# method and headers it asked for and no answer carries Access-Control-Allow-Credentials: a fetch with
# credentials: 'include' (keycloak-js 26's token request) is kept from the page, as it is there.


def extended_issuer(issuer: str) -> str:
    """The issuer the wrong-iss faults name: this one with a path segment after it. An unrelated issuer was
    refused by comparisons by prefix, by host or by containment too, so a client that compared that way passed;
    this one they accept, and only the exact comparison OpenID Connect Core 1.0 section 3.1.3.7 step 2 ("MUST
    exactly match") and RFC 9207 section 2.4 ("simple string comparison") ask for refuses it."""
    return f"{issuer.rstrip('/')}/evil"


def instrument(
    app: Flask, issuer: str, keys: KeySet, tokens: TokenStore, recording: RequestLog, faults: Faults
) -> None:
    """Called after every other WSGI wrapper is in place: the log wraps them all. `tokens`: what the
    sandbox issued, whose access tokens alone the mock API accepts."""
    register_mock_api(app, issuer, keys, tokens)
    # Flask's documented way to put middleware around the application (mypy sees a method replaced)
    app.wsgi_app = RecordingMiddleware(app.wsgi_app, recording)  # type: ignore[method-assign]

    @app.after_request
    def note_and_allow_cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and request.path.startswith(CORS_PATHS):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers.add("Vary", "Origin")
            asked = request.headers.get("Access-Control-Request-Method")
            if request.method == "OPTIONS" and asked:  # a preflight: any method, any header
                response.headers["Access-Control-Allow-Methods"] = asked
                if request.headers.get("Access-Control-Request-Headers"):
                    response.headers["Access-Control-Allow-Headers"] = request.headers["Access-Control-Request-Headers"]
        request.environ[NOTES_KEY] = g.get("notes", {})  # for the log (RecordingMiddleware)
        return response


def redirect_parameters(response: Response) -> list[tuple[str, str]] | None:
    """A redirect's parameters, from the query of its Location; None when it has no Location."""
    location = response.headers.get("Location")
    return parse_qsl(urlsplit(location).query, keep_blank_values=True) if location else None


def redirect_with(response: Response, parameters: list[tuple[str, str]], in_fragment: bool = False) -> Response:
    """The response, its Location now carrying `parameters` (in its fragment, with in_fragment)."""
    parts = urlsplit(response.headers["Location"])
    encoded = urlencode(parameters)
    parts = parts._replace(query="", fragment=encoded) if in_fragment else parts._replace(query=encoded)
    response.headers["Location"] = urlunsplit(parts)
    return response


def apply_callback_faults(response: Response, faults: Faults, issuer: str, user: str | None = None) -> Response:
    """The authorization response to `user`'s sign-in, with the callback fault armed for it applied
    to its Location."""
    query = redirect_parameters(response)
    if query is None:
        return response
    if faults.take("callback-state-wrong", user):  # a state the client never sent, even if it sent none
        query = [(k, v) for k, v in query if k != "state"] + [("state", secrets.token_urlsafe(24))]
    if faults.take("callback-state-missing", user):
        query = [(k, v) for k, v in query if k != "state"]
    if faults.take("callback-iss-wrong", user):
        query = [(k, v) for k, v in query if k != "iss"] + [("iss", extended_issuer(issuer))]
    if faults.take("callback-iss-missing", user):  # authorization_response_iss_parameter_supported stays true
        query = [(k, v) for k, v in query if k != "iss"]
    return redirect_with(response, query)


def short_lived_token_wanted(faults: Faults) -> None:
    """Called before a token is issued: the fault armed for the user it is issued for (or for no
    user) shortens its lifetime (tokens.py asks once it knows the user)."""
    g.access_token_lifetime = lambda user: (
        faults.short_lifetime if faults.armed("short-lived-access-token", user) else None
    )


def token_issued(response: Response, faults: Faults) -> None:
    """The token was issued for `g.token_user` (tokens.py): the log notes whom, and a shortened
    lifetime used up its fault."""
    # a redemption the sandbox refused (a wrong verifier, an expired code) is still that code's user's
    if user := g.get("token_user") or g.get("code_user"):
        g.notes = {**g.get("notes", {}), "user": user}
    if g.get("token_shortened") and response.status_code == 200:
        faults.take("short-lived-access-token", g.get("token_user"))


def apply_id_token_faults(response: Response, faults: Faults, keys: KeySet) -> None:
    """The armed ID token fault applied to a successful token response that carries an ID token:
    one claim changed, and the token signed again with the sandbox's key, so that only the check
    of that claim can tell."""
    body = response.get_json(silent=True) or {}
    if response.status_code != 200 or "id_token" not in body:
        return
    # whose token it is, read without a key: a defect switch may sign it with a key the set lacks
    user = _unverified_claims(body["id_token"]).get("sub")
    fault = next((name for name in ID_TOKEN_FAULTS if faults.take(name, user)), None)
    if fault is None:
        return
    issued = jwt.decode(body["id_token"], keys)  # the sandbox's own, just signed
    claims = dict(issued.claims)
    if fault == "id-token-iss-wrong":
        claims["iss"] = extended_issuer(claims["iss"])
    elif fault == "id-token-aud-wrong":
        claims["aud"] = ["another-client"]
    elif fault in ("id-token-aud-suffixed", "id-token-aud-prefixed"):  # one that merely contains the client's id
        client = _client_of(claims)
        claims["aud"] = f"{client}-evil" if fault == "id-token-aud-suffixed" else f"x{client}"
    elif fault == "id-token-aud-other-azp":  # azp names the client, aud does not
        claims["aud"], claims["azp"] = ["another-client"], _client_of(claims)
    elif fault == "id-token-expired":
        claims["iat"], claims["exp"] = int(time.time()) - 7200, int(time.time()) - 3600
    elif fault == "id-token-expired-recently":  # issued 5 minutes before it expired
        claims["iat"], claims["exp"] = int(time.time()) - RECENT_EXPIRY - 300, int(time.time()) - RECENT_EXPIRY
    elif fault == "id-token-nonce-missing":
        claims.pop("nonce", None)
    else:
        claims["nonce"] = secrets.token_urlsafe(16)
    body["id_token"] = jwt.encode(issued.header, claims, keys)
    response.set_data(json.dumps(body))


def _client_of(claims: dict) -> str:
    """The client an ID token was issued to: its aud (one value, or the first of a list)."""
    audience = claims.get("aud")
    return str(audience[0] if isinstance(audience, list) and audience else audience)


def _unverified_claims(token: str) -> dict:
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}
