"""Why an application never read the stand-in's answer to its token request, where the evidence shows it: it
sent the request to a path that is not the token endpoint (the stand-in answered 404 there, as Visma Connect
does), or the browser kept the answer from the page by CORS (its console says so). Either is the cause of a
sign-in that did not finish, not the signed-in marker (drive.signed_in). And why the Visma API never answered
it with data: it sent its ID token as the bearer token (id_token_as_bearer)."""

import re
from urllib.parse import urlsplit

from appside.observed import Observed, carried_tokens
from sandbox.app import PATHS
from sandbox.mock_api import API_PREFIX
from suite.secrets.redaction import REDACTOR

# Chromium's console error for a cross-origin answer it kept from the page (whose fetch then fails)
CORS_BLOCKED = re.compile(
    r"Access to fetch at '(?P<url>[^']*)' from origin '(?P<origin>[^']*)' has been blocked by CORS policy: (?P<why>.*)"
)
CREDENTIALS_INCLUDE = "credentials mode is 'include'"
KNOWN_PATHS = (*PATHS.values(), "/.well-known/", API_PREFIX + "/", "/account/")
DISCOVERY = "/.well-known/openid-configuration"


def answer_unread(sign_in, observed: Observed, quoted: bool = True) -> str:
    """The cause, as one clause ("" where the evidence shows none): the misdirected token request first,
    since the browser's CORS error about its 404 is only what followed from it; then an ID token sent to the
    API as the bearer token. `quoted`: with the console's error (left out where the page's errors are quoted
    beside it)."""
    return (
        token_request_misdirected(observed)
        or blocked_by_cors(sign_in, observed, quoted)
        or id_token_as_bearer(observed)
    )


# What makes an ID token no bearer token for the API, whatever the application's library calls it
ID_TOKEN_IS_NO_ACCESS_TOKEN = (
    "the ID token is for the client (OpenID Connect Core 1.0 section 2: its aud is the client's client_id), and a "
    "bearer token is an access token (RFC 6750 section 1.2; RFC 6749 section 7: the client accesses protected "
    "resources by presenting the access token)"
)


def id_token_as_bearer(observed: Observed) -> str:
    """Where the application sent the Visma API or userinfo an ID token the stand-in issued as its bearer token
    and never got an answer with its access token: the calls, the API's refusal (401 invalid_token: not an
    access token, as Visma Connect's API refuses it) and why. "" where it sent none, or where a call with an
    access token the stand-in gave it was answered."""
    id_tokens = observed.id_tokens
    calls = [call for call in observed.api_calls + observed.userinfo_calls if carried_tokens(call) & id_tokens]
    if not calls:
        return ""
    access_tokens = observed.tokens_of([r for r in observed.token_requests if r.status == 200]) - id_tokens
    if any(
        call.status < 400 and carried_tokens(call) & access_tokens
        for call in observed.api_calls + observed.userinfo_calls
    ):
        return ""
    paths = ", ".join(sorted({f"{call.method} {call.path}" for call in calls}))
    answers = ", ".join(sorted({f"HTTP {call.status}" for call in calls}))
    return (
        f"the application sent its ID token as the bearer token ({len(calls)} call(s): {paths}), and the stand-in's "
        f"API answered {answers}: it is not an access token ({ID_TOKEN_IS_NO_ACCESS_TOKEN}), so the application "
        "never called the API with its access token; send the token response's access_token"
    )


def token_request_misdirected(observed: Observed) -> str:
    """A token request (grant_type or code in a POST) to a path of the stand-in that is not the token endpoint,
    with the stand-in's answer and the token_endpoint the discovery document names."""
    for entry in observed.entries:
        if entry.path.startswith(KNOWN_PATHS) or entry.method != "POST":
            continue
        if entry.param("grant_type") is None and entry.param("code") is None:
            continue
        grant = entry.param("grant_type")
        return (
            f"its token request{f' (grant_type {grant})' if grant else ''} went to POST "
            f"{observed.issuer}{REDACTOR.scrub(entry.path)[:200]}, which is not the token endpoint, and the "
            f"stand-in answered HTTP {entry.status} there, as Visma Connect answers a path it does not serve: the "
            f"discovery document ({observed.issuer}{DISCOVERY}) names token_endpoint "
            f"{observed.issuer}{PATHS['token_endpoint']}; take the endpoints from it rather than building them"
        )
    return ""


def blocked_by_cors(sign_in, observed: Observed, quoted: bool = True) -> str:
    """The browser's console error for an answer of the stand-in it kept from the application, quoted, with
    what makes a browser do so and the fix where the request asked for credentials."""
    stand_in = urlsplit(observed.issuer).netloc if observed.issuer else None
    for error in getattr(sign_in, "page_errors", None) or []:
        match = CORS_BLOCKED.search(error)
        if match is None or (stand_in is not None and urlsplit(match["url"]).netloc != stand_in):
            continue
        url = REDACTOR.scrub(match["url"])[:200]
        what = "its token request" if urlsplit(match["url"]).path == PATHS["token_endpoint"] else "a request"
        said = REDACTOR.scrub(error.removeprefix("console error: ").rstrip("."))
        console = f'; the console said "{said}"' if quoted else ""
        if CREDENTIALS_INCLUDE not in match["why"]:
            return f"the browser kept the stand-in's answer to {what} ({url}) from the application by CORS{console}"
        return (
            f"the browser kept the stand-in's answer to {what} ({url}) from the application by CORS: the request "
            "was sent with credentials mode 'include' (fetch's credentials: 'include'), which needs "
            "Access-Control-Allow-Credentials: true in the answer, and Visma Connect never sends it (Duende "
            "IdentityServer's CORS policy allows a registered origin with any header and method, not credentials), "
            f"nor does the stand-in{console}; fix: send it without credentials (credentials: 'omit' or "
            "'same-origin'), a token request needs no cookie (keycloak-js 26: docs/client-libraries.md)"
        )
    return ""
