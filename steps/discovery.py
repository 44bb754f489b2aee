"""Discovery document rules (DISC-*).

OpenID Connect Discovery leaves some members optional that RFC 8414 metadata may carry, so a
member missing from the first document is read from the second before anything fails, and a
member missing from both takes the default the specifications give it."""

from urllib.parse import urlsplit

import allure
import pytest
from pytest_bdd import parsers, then, when

from suite.configuration.environment import display_path
from suite.verdict.checks import check, shown_or

# What the Visma pages use: required whatever the environment says (RFC 8414 section 2,
# OpenID Connect Discovery section 3).
REQUIRED_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
# A server the environment certifies for service integrations only is no OpenID Provider for it:
# RFC 8414 section 2 requires its token_endpoint, and its authorization_endpoint only "unless no
# grant types are supported that use the authorization endpoint".
SERVICE_ONLY_REQUIRED_ENDPOINTS = ("token_endpoint",)


def interactive_roles(environment) -> list[str]:
    """The environment's clients that sign a user in (every role but the service integration)."""
    return [role for role in environment.clients if role != "service"]


# The metadata values only some roles use, and which: a server certified without them need not
# advertise them (RFC 8414 section 2 and OpenID Connect Discovery section 3 ask for what "this
# authorization server supports"); any other value is judged whatever the roles.
def _roles_needing(environment, member: str, value: str) -> tuple[list[str], tuple[str, ...]]:
    """The declared roles that need `value` in `member`, and every role that would."""
    clients = environment.clients
    if member == "code_challenge_methods_supported" or (member, value) == (
        "grant_types_supported",
        "authorization_code",
    ):
        return interactive_roles(environment), ("web", "spa", "native")
    if (member, value) == ("grant_types_supported", "refresh_token"):
        return [role for role in ("web", "other_web") if role in clients], ("web",)
    if (member, value) == ("grant_types_supported", "client_credentials"):
        return [role for role in ("service",) if role in clients], ("service",)
    if member == "token_endpoint_auth_methods_supported":
        return [role for role, client in clients.items() if not client.is_public], ("web", "service")
    return list(clients), tuple(clients)


def skip_unless_a_role_needs(environment, member: str, value: str) -> None:
    roles, would = _roles_needing(environment, member, value)
    if not roles:
        # "no 'x' client is configured" is how a skip for want of a client role reads everywhere: the
        # certificate leaves such a rule outside the certified scope (suite.reports.certificate.ABSENT_ROLE)
        named = " or ".join(filter(None, [", ".join(f"'{role}'" for role in would[:-1]), f"'{would[-1]}'"]))
        pytest.skip(
            f"not applicable: no {named} client is configured in {display_path(environment.path)}, and only one "
            f"would use {value!r} in {member}; the server need not advertise what it is not certified for "
            '(RFC 8414 section 2: the values "this authorization server supports")'
        )


# RFC 8414 section 2 and OpenID Connect Discovery section 3: the value of an omitted member.
DEFAULTS = {
    "grant_types_supported": ["authorization_code", "implicit"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
}
# RFC 8414 section 2: "If omitted, the authorization server does not support PKCE."
NO_DEFAULT = {"code_challenge_methods_supported": "omitted means PKCE is not supported"}


@when("the discovery document is read")
def read_discovery(discovery):
    check(
        discovery.status == 200,
        f"discovery answered HTTP {discovery.status}; a successful response uses the 200 "
        "OK status code (OpenID Connect Discovery 1.0 section 4.2, RFC 8414 section 3.2)",
    )


@then("its issuer is exactly the environment's issuer")
def issuer_matches(discovery, environment):
    published = discovery.metadata.get("issuer")
    check(
        published == environment.issuer,
        f"discovery publishes issuer {published!r}; the environment's issuer is {environment.issuer!r} "
        "(they must match exactly, RFC 8414 section 3.3)",
    )


@then("it lists these endpoints on the issuer's host at the expected paths")
def endpoints_listed(discovery, environment, datatable):
    issuer = urlsplit(environment.issuer)
    expected_paths = environment.expectations.endpoint_paths
    not_offered = environment.expectations.endpoints_not_offered
    service_only = not interactive_roles(environment)
    required = SERVICE_ONLY_REQUIRED_ENDPOINTS if service_only else REQUIRED_ENDPOINTS
    problems, notes = [], []
    for (name,) in datatable[1:]:
        url = discovery.member(name)
        if service_only and name == "authorization_endpoint" and not (isinstance(url, str) and url):
            notes.append(
                f"{name}: not listed; {display_path(environment.path)} declares no interactive client, and RFC 8414 "
                "section 2 requires it only where a grant type uses the authorization endpoint"
            )
            continue
        if name in not_offered and name not in required:
            notes.append(
                f"{name}: not offered by this environment ({not_offered[name]}), expectations.endpoints_not_offered"
            )
            continue
        if not (isinstance(url, str) and url):
            problems.append(
                f"{name} is missing from {discovery.url} and from the RFC 8414 metadata at "
                f"{discovery.oauth_url or '(none)'}"
                + (
                    " (required: RFC 8414 section 2, OpenID Connect Discovery section 3)"
                    if name in required
                    else " (Visma Connect's own discovery document, "
                    "https://connect.visma.com/.well-known/openid-configuration, publishes it; if this environment "
                    "does not offer it, say why in expectations.endpoints_not_offered)"
                )
            )
            continue
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (issuer.scheme, issuer.netloc):
            problems.append(
                f"{name} {url!r} is not on the issuer's host {issuer.scheme}://{issuer.netloc} "
                "(Visma Connect serves every endpoint on its issuer's host)"
            )
        elif name in expected_paths and parts.path != expected_paths[name]:
            problems.append(
                f"{name} is at {parts.path!r}; the expected path is {expected_paths[name]!r} "
                "(where Visma Connect's discovery document has it, or expectations.endpoint_paths)"
            )
    if notes:
        allure.attach("\n".join(notes), name="endpoints not offered", attachment_type=allure.attachment_type.TEXT)
    check(not problems, "; ".join(problems))


@then(parsers.parse('its "{member}" includes "{value}"'))
def member_includes(discovery, environment, member, value):
    skip_unless_a_role_needs(environment, member, value)
    values, source = discovery.member(member), "the discovery documents"
    if values is None and member in DEFAULTS:
        values, source = DEFAULTS[member], "the default of an omitted member (RFC 8414 section 2)"
    if values is None and member in NO_DEFAULT:
        check(False, f"neither discovery document lists {member} (RFC 8414 section 2: {NO_DEFAULT[member]})")
    check(isinstance(values, list), f"discovery member {member} is {shown_or(values)}, not a list (RFC 8414 section 2)")
    check(
        value in values,
        f"{member} is {values!r} by {source}; it does not include {value!r}, which the Visma documentation uses",
    )


# OpenID Connect Discovery section 3: the members an OpenID Provider's metadata MUST hold, and their types
# (token_endpoint "unless only the Implicit Flow is used", which the Visma contract never is).
REQUIRED_MEMBERS = {
    "issuer": str,
    "authorization_endpoint": str,
    "token_endpoint": str,
    "jwks_uri": str,
    "response_types_supported": list,
    "subject_types_supported": list,
    "id_token_signing_alg_values_supported": list,
}
# RFC 8414 section 2 / OpenID Connect Discovery section 3: the optional members that are JSON arrays.
ARRAY_MEMBERS = (
    "scopes_supported",
    "response_modes_supported",
    "grant_types_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "claims_supported",
    "ui_locales_supported",
)


# RFC 8414 section 2: what authorization server metadata MUST hold, for a server the environment
# certifies for service integrations only (no OpenID Provider for it, so OpenID Discovery's
# ID-token and user members do not apply); authorization_endpoint is added where a grant type uses it.
SERVICE_ONLY_REQUIRED_MEMBERS = {"issuer": str, "token_endpoint": str, "response_types_supported": list}
GRANTS_USING_THE_AUTHORIZATION_ENDPOINT = ("authorization_code", "implicit")


@then("it holds every REQUIRED member with its type, RS256 and the openid scope")
def required_members(discovery, environment):
    metadata, problems = discovery.metadata, []
    service_only = not interactive_roles(environment)
    required = dict(REQUIRED_MEMBERS)
    if service_only:
        required = dict(SERVICE_ONLY_REQUIRED_MEMBERS)
        grants = discovery.member("grant_types_supported")
        grants = DEFAULTS["grant_types_supported"] if grants is None else grants
        if isinstance(grants, list) and set(grants) & set(GRANTS_USING_THE_AUTHORIZATION_ENDPOINT):
            required["authorization_endpoint"] = str
    for name, kind in required.items():
        value = metadata.get(name)
        if value is None:
            problems.append(f"{name} is missing (REQUIRED)")
        elif not isinstance(value, kind) or (kind is list and not all(isinstance(v, str) for v in value)):
            problems.append(f"{name} is {value!r}, not {'a string' if kind is str else 'a JSON array of strings'}")
    for name in ARRAY_MEMBERS:
        value = metadata.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{name} is {value!r}, not a JSON array of strings")
    algorithms = metadata.get("id_token_signing_alg_values_supported")
    if not service_only and isinstance(algorithms, list) and "RS256" not in algorithms:
        problems.append(
            f"id_token_signing_alg_values_supported is {algorithms!r}: the algorithm RS256 MUST be included"
        )
    scopes = metadata.get("scopes_supported")
    if not service_only and isinstance(scopes, list) and "openid" not in scopes:
        problems.append(f"scopes_supported is {scopes!r}: the server MUST support the openid scope value")
    if service_only:
        allure.attach(
            f"{display_path(environment.path)} declares no interactive client: the document is judged as RFC 8414 "
            "section 2 authorization server metadata (issuer, token_endpoint, response_types_supported, and "
            "authorization_endpoint where a grant type uses it), not by OpenID Connect Discovery's ID-token members",
            name="service integrations only",
            attachment_type=allure.attachment_type.TEXT,
        )
    check(
        not problems,
        lambda: (
            f"the OpenID discovery document at {discovery.url}: "
            + "; ".join(problems)
            + f" ({'RFC 8414 section 2' if service_only else 'OpenID Connect Discovery 1.0 section 3'})"
        ),
    )


@then("the RFC 8414 document, where one is served, names the same issuer")
def oauth_metadata_issuer(discovery):
    if discovery.oauth_issuer is None:
        pytest.skip(f"no RFC 8414 metadata is served at {discovery.oauth_url}; it is OPTIONAL beside OpenID Discovery")
    check(
        discovery.oauth_issuer == discovery.metadata.get("issuer"),
        f"the RFC 8414 metadata at {discovery.oauth_url} names issuer {discovery.oauth_issuer!r}, the OpenID "
        f"discovery document {discovery.metadata.get('issuer')!r}: the issuer value returned MUST be identical to "
        "the authorization server's issuer identifier value into which the well-known URI string was inserted "
        "(RFC 8414 section 3.3); the suite reads neither document's members from the other",
    )
