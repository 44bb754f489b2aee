"""Which client a scenario plays, and what the environment must offer for it to apply."""

import pytest
from pytest_bdd import given, parsers

from suite.configuration.environment import display_path
from suite.verdict.checks import skip_for_missing_data

# Clients that are not the application's own role but data the suite needs to test it: missing,
# they leave the run incomplete, where a missing role (no SPA) only narrows what is certified.
AUXILIARY_ROLES = ("other_web",)


def client_of(environment, role):
    client = environment.clients.get(role)
    if client is None and role in AUXILIARY_ROLES:
        skip_for_missing_data(
            f"clients.{role}",
            f"no '{role}' client is configured in {display_path(environment.path)}; add one to run this rule",
        )
    if client is None:
        pytest.skip(
            f"no '{role}' client is configured in {display_path(environment.path)} "
            f"(clients.{role}); add one to run this rule"
        )
    return client


@given(parsers.parse('the "{role}" client of the environment'))
def the_client(state, environment, role):
    state.client = client_of(environment, role)


@given(parsers.parse('the "{role}" client of the environment as the other client'))
def the_other_client(state, environment, role):
    state.other_client = client_of(environment, role)


# The roles whose secret is another client's than the service client's, in the order one is taken
CONFIDENTIAL_ROLES = ("web", "other_web", "short_lived")


@given("another client of the environment with a secret of its own")
def another_client_with_a_secret(state, environment):
    """A confidential client besides the scenario's, registered with a secret that is not the scenario client's."""
    for role in CONFIDENTIAL_ROLES:
        other = environment.clients.get(role)
        if (
            other is not None
            and other.client_secret
            and other.client_id != state.client.client_id
            and other.client_secret != state.client.client_secret
        ):
            state.other_client = other
            return
    pytest.skip(
        f"no 'web' client with a secret of its own is configured in {display_path(environment.path)} "
        "(clients.web.client_secret); add one to run this rule"
    )


@given("the environment has tenants")
def tenants_supported(environment):
    if not environment.tenants_supported:
        pytest.skip(f"{environment.name} declares no tenants (capabilities.tenants: false)")
    if not environment.clients["service"].tenant_id:
        pytest.skip(f"{environment.name} names no tenant for the service client (clients.service.tenant_id)")


@given("the environment names a tenant that has not approved the client")
def unapproved_tenant(state, environment):
    if not state.client.unapproved_tenant_id:
        skip_for_missing_data(
            "clients.service.unapproved_tenant_id", f"{environment.name} names no tenant that has not approved the app"
        )


@given("the environment names a scope not granted to the client")
def ungranted_scope(state, environment):
    if not state.client.ungranted_scope:
        skip_for_missing_data(
            "clients.service.ungranted_scope", f"{environment.name} names no scope the client was not granted"
        )
