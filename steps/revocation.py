"""Token revocation (RFC 7009): REV-*, and the revocation steps UINFO-03 shares."""

import secrets

import pytest
from pytest_bdd import given, then, when

from steps.refresh_tokens import first_refresh_token, refresh
from suite.secrets.redaction import excerpt
from suite.verdict.checks import ConfigurationProblem, NothingToCheck, check, require, require_not_met
from suite.wire.http import RepeatedServerError
from suite.wire.token_requests import basic_credentials, default_authentication, error_of, outside_vschar, post_token


def revoke(state, discovery, environment, token: str, hint: str | None = None, client=None):
    """POST the token to the revocation endpoint, authenticated as Visma's facts say: HTTP Basic
    for a confidential client, client_id in the form for a public one (RFC 7009 section 2.1)."""
    endpoint = revocation_endpoint(discovery, environment)
    client = client or state.client
    form = {"token": token, **({"token_type_hint": hint} if hint else {})}
    auth = basic_credentials(client.client_id, client.client_secret) if client.client_secret else None
    if auth is None:
        form["client_id"] = client.client_id
    state.revocation = state.http.send("POST", endpoint, data=form, auth=auth, idempotent=True)


def revocation_endpoint(discovery, environment) -> str:
    """The revocation endpoint, from either metadata document, as DISC-02 reads it. An endpoint the
    environment declares not offered skips the rule; one that discovery leaves out although Visma Connect
    publishes it is DISC-02's failure, and the rule is blocked by it."""
    endpoint = discovery.member("revocation_endpoint")
    reason = environment.expectations.endpoints_not_offered.get("revocation_endpoint")
    if not endpoint and reason:
        pytest.skip(f"{environment.name} offers no revocation endpoint ({reason}; expectations.endpoints_not_offered)")
    require(
        bool(endpoint),
        "discovery lists no revocation_endpoint, so nothing can be revoked (Visma Connect publishes one, "
        "Visma Connect's discovery document lists it; RFC 8414 section 2; DISC-02)",
    )
    return str(endpoint)


@given("the server offers a revocation endpoint")
def offers_revocation(discovery, environment):
    """Before anything is signed in for: a rule about revoking a refresh token is skipped where the
    environment declares no revocation endpoint, whatever an earlier step would have failed for."""
    revocation_endpoint(discovery, environment)


@when("the client revokes a token the server never issued")
def revoke_unknown_token(state, discovery, environment):
    revoke(state, discovery, environment, "never-issued-" + secrets.token_urlsafe(24))


@when("the client revokes its refresh token")
def revoke_refresh_token(state, discovery, environment):
    revoke(state, discovery, environment, first_refresh_token(state, "to revoke"), hint="refresh_token")


@when("the client revokes its access token")
def revoke_access_token(state, discovery, environment):
    revoke(state, discovery, environment, state.tokens["access_token"], hint="access_token")


@then("the revocation is answered with HTTP 200")
def revocation_ok(state, discovery):
    response = state.revocation
    if response.status_code == 401 or error_of(response) == "invalid_client":
        _secret_refused_everywhere(state, discovery)
    # RFC 7009 section 2.1: the server "first validates the client credentials"; refused, it never
    # judged the token, and the cause is the client authentication SVC-02 checks (rules.yaml `needs`):
    # blocked by it, the scenario says what the revocation met, not SVC-02's own token request
    require_not_met(
        response.status_code != 401 and error_of(response) != "invalid_client",
        lambda: (
            f"the revocation endpoint refused the client's HTTP Basic authentication (HTTP "
            f"{response.status_code} {excerpt(response.text)}), so it never judged the token; it "
            "authenticates clients as the token endpoint does (RFC 7009 section 2.1), and HTTP Basic MUST "
            "be supported (RFC 6749 section 2.3.1)" + _or_wrong_secret(state.client)
        ),
    )
    check(
        response.status_code == 200,
        lambda: (
            f"the revocation endpoint answered HTTP {response.status_code} {excerpt(response.text)}; "
            "it answers 200 when the token was revoked or was invalid to begin with (RFC 7009 section 2.2)"
        ),
    )


def _secret_refused_everywhere(state, discovery) -> None:
    """A revocation refused invalid_client while the same client's documented token request (its secret sent
    as the environment declares, for a code nobody issued) is refused invalid_client too: the server refuses
    the secret itself, and a wrong secret in the environment is far likelier than a server refusing its own
    client. A configuration problem (exit code 4), as a test user the login page refuses is; a server that
    really refuses the right secret fails APP-01, whose redemption is refused (docs/certify-server.md)."""
    client = state.client
    if not client.client_secret or not client.redirect_uri:
        return
    probe = post_token(
        state,
        discovery,
        {
            "grant_type": "authorization_code",
            "code": "never-issued-" + secrets.token_urlsafe(16),
            "redirect_uri": client.redirect_uri,
        },
        authentication=default_authentication(client),
    )
    if error_of(probe) == "invalid_client":
        raise ConfigurationProblem(
            f"clients.{client.role}.client_secret: the revocation endpoint and the token endpoint both refuse the "
            f"{client.role} client's secret (invalid_client), so the environment's client secret is most likely "
            f"wrong. Check clients.{client.role}.client_secret (and the variable it names) against the server's "
            "registration" + outside_vschar(client.client_secret)
        )


def _or_wrong_secret(client) -> str:
    """What else explains a refused secret, where the environment gives one."""
    if not getattr(client, "client_secret", None):
        return ""
    return f", or the environment's client secret is wrong (clients.{client.role}.client_secret)"


@when("the other client revokes the client's refresh token")
def other_client_revokes(state, discovery, environment):
    token = first_refresh_token(state, "for another client to revoke")
    revoke(state, discovery, environment, token, hint="refresh_token", client=state.other_client)


@then("the client's refresh token still refreshes")
def refresh_token_survives(state, discovery):
    """The server's answer to the other client is its own choice (RFC 7009 section 2.2.1 errors, or
    even 200): what matters is that the token was not revoked, so the owner's refresh still succeeds."""
    answer = state.revocation
    try:
        refresh(state, discovery, state.token_responses[0]["refresh_token"])
    except RepeatedServerError as error:
        # the owner's refresh itself fails: nothing shows whether the revocation took (RT-01's failure)
        raise NothingToCheck(
            f"the owner's refresh is answered with a server error ({error}), so whether another client's "
            "revocation took cannot be seen (RFC 6749 section 6: a refresh is granted, RT-01)"
        ) from None
    response = state.response
    check(
        response.status_code == 200,
        lambda: (
            f"after {state.other_client.client_id!r} revoked {state.client.client_id!r}'s refresh token (answered "
            f"HTTP {answer.status_code if answer is not None else None}), the owner's refresh got HTTP "
            f"{response.status_code} {excerpt(response.text)}: another client revoked it; RFC 7009 section 2.1: "
            '"the authorization server first validates the client credentials [...] and then verifies whether the '
            "token was issued to the client making the revocation request. If this validation fails, the request "
            'is refused"'
        ),
    )
