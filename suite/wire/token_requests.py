"""Requests to the token endpoint, authenticated the way each client type does it."""

from urllib.parse import quote_plus

import requests

from suite.configuration.environment import Client
from suite.wire.http import RepeatedServerError
from suite.wire.scenario import ScenarioState
from suite.wire.server import Discovery

WRONG_SECRET = "not-the-client-secret"


def post_token(
    state: ScenarioState,
    discovery: Discovery,
    form: dict,
    client: Client | None = None,
    authentication: str = "post",
    secret: str | None = None,
) -> requests.Response:
    """POST a form to the token endpoint. authentication: post (client_secret_post, as the
    documentation's examples), basic (HTTP Basic), or none (client_id only, public clients)."""
    client = client or state.client
    assert client is not None, "a scenario names its client (a Given step) before it asks for a token"
    secret = client.client_secret if secret is None else secret
    if client.is_public:
        secret, authentication = None, "none"  # a public client has no secret to send
    data = {**form, "client_id": client.client_id}
    auth = None
    if authentication == "post" and secret:
        data["client_secret"] = secret
    elif authentication == "basic":
        auth = basic_credentials(client.client_id, secret or "")
        data.pop("client_id")
    # A new client_credentials token changes nothing; a code or refresh token may be single use.
    idempotent = form.get("grant_type") == "client_credentials"
    try:
        response = state.http.send(
            "POST", discovery.endpoint("token_endpoint"), data=data, auth=auth, idempotent=idempotent
        )
    except RepeatedServerError as error:
        error.sentence = TOKEN_SERVED
        raise
    state.sender = client
    _remember(state, response)
    return response


# What a server error to a token request falls short of (suite/reports/results.py judges it).
TOKEN_SERVED = (
    'RFC 6749 section 5.1: "The authorization server issues an access token and optional refresh token, and '
    "constructs the response by adding the following parameters to the entity-body of the HTTP response with a "
    '200 (OK) status code"'
)


def basic_credentials(client_id: str, secret: str) -> tuple[str, str]:
    """The user-id and password of HTTP Basic client authentication: "The client identifier is encoded
    using the application/x-www-form-urlencoded encoding algorithm [...] and the encoded value is used
    as the username; the client password is encoded using the same algorithm and used as the
    password" (RFC 6749 section 2.3.1). A secret with `+`, `%`, `:` or a space sent raw is another
    secret to a server that decodes it, as IdentityServer and Authlib do."""
    return quote_plus(client_id, safe=""), quote_plus(secret, safe="")


def post_json(state: ScenarioState, discovery: Discovery, body: dict) -> requests.Response:
    response = state.http.send("POST", discovery.endpoint("token_endpoint"), json=body)
    _remember(state, response)
    return response


def error_of(response: requests.Response) -> str | None:
    """The `error` of a token endpoint's JSON answer, or None."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def default_authentication(client: Client) -> str:
    """How the client authenticates when a step does not say: as its environment file declares."""
    if client.is_public:
        return "none"
    return "basic" if client.token_endpoint_auth_method == "client_secret_basic" else "post"


def _remember(state: ScenarioState, response: requests.Response) -> None:
    state.response = response
    if response.status_code == 200:
        try:
            body = response.json()
        except ValueError:
            return
        if isinstance(body, dict) and body.get("access_token"):
            state.token_responses.append(body)


def outside_vschar(secret: str) -> str:
    """Why a server may refuse a client secret that is right: a character outside VSCHAR, where RFC 6749
    Appendix A.2 defines client_secret as *VSCHAR (%x20-7E). "" for a secret within it."""
    if all(" " <= character <= "~" for character in secret):
        return ""
    return (
        ". The secret holds characters outside VSCHAR (%x20-7E: printable ASCII), and RFC 6749 Appendix A.2 "
        "defines client_secret = *VSCHAR, so a server may refuse it even where it is the registered one: a likely "
        "cause"
    )
