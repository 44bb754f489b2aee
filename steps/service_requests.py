"""Service requests the documentation implies without spelling out (SVC-15..17): no secret at all,
an unknown grant_type, and tenant_id left out where no tenant-based API is asked for."""

from pytest_bdd import given, parsers, then, when

from suite.verdict.checks import check, skip_for_missing_data
from suite.verdict.token_response import granted_scope
from suite.wire.token_requests import post_token


@given("the environment names a scope that is not tenant-based")
def non_tenant_scope(state, environment):
    if not state.client.non_tenant_scope:
        skip_for_missing_data(
            "clients.service.non_tenant_scope", f"{environment.name} names no scope of an API that is not tenant-based"
        )


@when("the client requests a token for its tenant without any client secret")
def request_without_secret(state, discovery):
    form = {"grant_type": "client_credentials", "scope": state.client.scope}
    if state.client.tenant_id:
        form["tenant_id"] = state.client.tenant_id
    post_token(state, discovery, form, authentication="none")


@when(parsers.parse('the client requests a token with grant_type "{grant_type}"'))
def request_unknown_grant_type(state, discovery, grant_type):
    post_token(state, discovery, {"grant_type": grant_type, "scope": state.client.scope})


@when("the client requests a token for that scope without tenant_id")
def request_non_tenant_scope(state, discovery):
    post_token(state, discovery, {"grant_type": "client_credentials", "scope": state.client.non_tenant_scope})


@then("the granted scope includes that scope")
def granted_scope_includes(state):
    granted = granted_scope(state.tokens)
    wanted = state.client.non_tenant_scope
    # RFC 6749 section 5.1: scope may be left out when it is exactly what was asked for.
    check(
        granted is None or wanted in granted,
        f"the granted scope is {state.tokens.get('scope')!r}; it does not include {wanted!r} (tenant_id is "
        "optional for APIs that are not tenant-based, Service Integrations: Request Parameters)",
    )
