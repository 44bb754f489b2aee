"""Starts the embedded sandbox with the registrations an environment file describes."""

import logging

from sandbox import Application, Registry, SandboxServer, User
from sandbox.registry import INTERACTIVE_SCOPES


def start_sandbox(environment) -> SandboxServer:
    registry = Registry()
    for client in environment.clients.values():
        app_type = "web" if client.role == "other_web" else client.role
        approved = (client.tenant_id,) if client.tenant_id else ()
        scopes = tuple(client.scope.split()) if app_type == "service" else INTERACTIVE_SCOPES
        registry.add(Application(
            client_id=client.client_id, app_type=app_type, client_secret=client.client_secret,
            redirect_uris=(client.redirect_uri,) if client.redirect_uri else (),
            scopes=scopes, approved_tenants=approved))
    if environment.login:
        registry.add_user(User(environment.login.username, environment.login.password))
    # Its request and OAuth debug logs would only repeat, with secrets, the exchanges the suite
    # attaches to the report.
    for name in ("werkzeug", "authlib", "sandbox"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return SandboxServer(registry, environment.sandbox_defects).start()
