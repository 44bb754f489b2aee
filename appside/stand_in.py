"""The Visma Connect stand-in: the embedded sandbox with the application's registration and a
test user, on a loopback port. The sandbox knows nothing of this package; what it offers for
this purpose is generic (a request log, faults, a mock API)."""

import errno
import logging
import secrets
import socket

from appside.effort import EFFORT
from appside.observed import Observed, learn_secrets, token_expiries
from sandbox import Application, Registry, SandboxServer, User
from sandbox.registry import INTERACTIVE_SCOPES

TEST_USER = "test.user"
# Sign-ins that go on at once (appside.steps.concurrent) are each made by a test user of their own,
# so that the stand-in's faults and log tell them apart: test.user.1 to test.user.N, same password, each
# with an email address of its own (an application may require unique ones).
CONCURRENT_USERS = 24
# The stand-in lets an application carry on past four mistakes, so that the rules that name them
# (APPC-07, APPC-08: plain PKCE and a wrong verifier; APPC-01: no response_type; APPC-02: another
# redirect_uri at the token endpoint), not a refusal that breaks every later step, judge the
# application. Visma Connect advertises plain PKCE too. APPC-31 is the exception: there another browser's
# code is redeemed only with its own verifier (the fault code-verifier-compared), as PKCE protects it.
LENIENT = ("pkce-plain-accepted", "pkce-not-compared", "response-type-defaulted", "redirect-uri-not-compared")
# A service application's access tokens live issuer.access_token_lifetime seconds (SHORT_LIFETIME unless the
# application file sets it), in every scenario: a service may keep its token between runs until it expires
# (RFC 6749 section 1.5), so whatever token it keeps from an earlier scenario expires within seconds, and APPC-20
# sees what it does then. Visma Connect's 3600 is no contract a client may rely on: expires_in is "The lifetime
# in seconds of the access token" (section 5.1). A library that treats a token as expired some seconds early
# (Net::OAuth2 15 s) needs a lifetime above that margin.


class PublicApplication(Application):
    """A SPA or native app. Visma Connect runs IdentityServer, which skips secret validation for
    clients registered without one ("Public Client - skipping secret validation"), so a public
    app that sends a secret anyway still gets its tokens; that it sent one is what the rules
    look at, not whether the stand-in refused it."""

    def check_endpoint_auth_method(self, method, endpoint) -> bool:
        return method in ("none", "client_secret_post", "client_secret_basic")

    def check_client_secret(self, client_secret) -> bool:
        return True


class IssuedTokens:
    """When the last access token the stand-in issued expires, whichever scenario it was issued in:
    APPC-20 waits for it before it runs a service, so that a token the service kept is clearly expired."""

    def __init__(self) -> None:
        self.last_expiry = 0.0

    def note(self, entry) -> None:
        self.last_expiry = max([self.last_expiry, *token_expiries(Observed([entry])).values()])


ISSUED_TOKENS = IssuedTokens()  # one stand-in per certification


def start_stand_in(application, tls=None) -> tuple[SandboxServer, User]:
    """`tls` (appside.tls.StandInTls): serve HTTPS with its certificate."""
    registry = Registry()
    scopes = tuple(application.scope.split())
    fields = dict(
        client_id=application.client_id,
        app_type=application.app_type,
        redirect_uris=application.redirect_uris,
        scopes=tuple(dict.fromkeys(INTERACTIVE_SCOPES + scopes)) if application.is_interactive else scopes,
        approved_tenants=(application.tenant_id,) if application.tenant_id else (),
    )
    if application.app_type in ("spa", "native"):
        registry.add(PublicApplication(**fields))
    else:
        lifetime = application.access_token_lifetime if application.app_type == "service" else None
        registry.add(Application(client_secret=application.client_secret, access_token_lifetime=lifetime, **fields))
    user = User(TEST_USER, secrets.token_urlsafe(12))
    registry.add_user(user)
    for number in range(1, CONCURRENT_USERS + 1):
        registry.add_user(User(f"{TEST_USER}.{number}", user.password))
    for name in ("werkzeug", "authlib", "sandbox"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Published as localhost while the application usually runs on 127.0.0.1: browsers keep cookies
    # by host name, not port, and the stand-in's session cookie must not replace the application's.
    # an spa or native application the file declares eligible gets its refresh token (the sandbox's deviation
    # from the seed pages is the reading the file declares its Visma Connect keeps)
    declared = tuple(f"refresh-for-{kind}" for kind in ("spa", "native") if kind in application.refresh_token_app_types)
    server = _listening(registry, (*LENIENT, *declared), application.issuer_port, tls)
    server.faults.short_lifetime = application.access_token_lifetime  # an interactive application's, when a rule asks
    # Tokens and codes are secrets from the moment they are issued, before the application can show
    # them (its output, its pages, a screenshot), not only once a report attaches the request log.
    server.recording.listeners.append(lambda entry: learn_secrets([entry]))
    server.recording.listeners.append(ISSUED_TOKENS.note)
    EFFORT.stand_in_starts += 1
    return server.start(), user


# issuer.port 0 asks for any free port: the one free on 127.0.0.1 may be held on [::1] by another process (or taken
# on 127.0.0.1 before the stand-in binds it), so another is tried, PORT_ATTEMPTS times in all; a port the file
# names is the user's to change
PORT_ATTEMPTS = 5


def _listening(registry: Registry, defects: tuple, issuer_port: int, tls, attempts: int = PORT_ATTEMPTS):
    """The stand-in's sandbox on `issuer_port` (0: a free one), published as localhost. localhost is ::1 too, which
    a client may try first: it listens there as well, so that no other process listening on [::1]:port answers
    for it (one that does keeps it from starting on a port the file names)."""
    port = issuer_port or free_port()
    try:
        return SandboxServer(
            registry,
            defects,
            port=port,
            issuer=f"{'https' if tls else 'http'}://localhost:{port}",
            ssl_context=tls.context if tls else None,
            also_on=("::1",),
        )
    except OSError as error:
        if issuer_port or error.errno != errno.EADDRINUSE or attempts == 1:
            raise
    return _listening(registry, defects, issuer_port, tls, attempts - 1)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the system's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
