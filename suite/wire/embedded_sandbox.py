"""Starts the embedded sandbox with the registrations an environment file describes."""

import logging
from collections.abc import Iterable

from sandbox import Application, Registry, SandboxServer, User
from sandbox.registry import INTERACTIVE_SCOPES
from suite.configuration.environment import Environment


def start_sandbox(environment: Environment, more_defect_sets: Iterable[Iterable[str]] = ()) -> SandboxServer:
    """`more_defect_sets`: further sandboxes on the same port, for the detection matrix."""
    # Its request and OAuth debug logs would only repeat, with secrets, the exchanges the suite
    # attaches to the report.
    for name in ("werkzeug", "authlib", "sandbox"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return SandboxServer(
        registry_for(environment),
        environment.sandbox_defects,
        more_defect_sets=more_defect_sets,
        code_lifetime=environment.expectations.authorization_code_lifetime,
    ).start()


def registry_for(environment: Environment) -> Registry:
    """The clients and test user the environment file describes, registered as it says."""
    registry = Registry()
    for client in environment.clients.values():
        app_type = "web" if client.role == "other_web" else client.role
        if client.role == "short_lived":  # a web app, or an SPA when it has no secret
            app_type = "spa" if client.is_public else "web"
        approved = (client.tenant_id,) if client.tenant_id else ()
        scopes = (
            INTERACTIVE_SCOPES
            if app_type != "service"
            else tuple(client.scope.split() + ([client.non_tenant_scope] if client.non_tenant_scope else []))
        )
        registry.add(
            Application(
                client_id=client.client_id,
                app_type=app_type,
                client_secret=client.client_secret,
                redirect_uris=(client.redirect_uri,) if client.redirect_uri else (),
                scopes=scopes,
                approved_tenants=approved,
                access_token_lifetime=client.access_token_lifetime,
            )
        )
    if environment.login:
        registry.add_user(User(environment.login.username, environment.login.password))
    return registry
