"""What the sandbox knows: registered applications, the test user and tenant approvals.

Mirrors the four application types of the Visma Developer Portal
(docs.connect.visma.com "create your application"):

    service  client_credentials only, confidential
    web      authorization_code (PKCE optional) + refresh_token, confidential
    spa      authorization_code + PKCE, public, never a refresh token
    native   authorization_code + PKCE, public
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin

GRANT_TYPES = {
    "service": ("client_credentials",),
    "web": ("authorization_code", "refresh_token"),
    "spa": ("authorization_code",),
    "native": ("authorization_code",),
}

# Scopes every interactive application may ask for (OpenID Connect standard scopes).
INTERACTIVE_SCOPES = ("openid", "profile", "email", "offline_access")

# Seconds the access tokens of the standalone server's short-lived web app live (environments/sandbox.yaml)
SHORT_LIFETIME = 5


@dataclass
class Application(ClientMixin):
    client_id: str
    app_type: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_uris: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    approved_tenants: tuple[str, ...] = ()
    # Seconds its access tokens live, where it is registered with a lifetime of its own (real servers
    # let a client's registration shorten it); None: the documented 3600 (sandbox.tokens)
    access_token_lifetime: int | None = None
    # The sandbox's defect switches; the client checks read the ones about client authentication.
    defects: frozenset = frozenset()
    # Every client's secret, for the switch that accepts any of them ("secret-of-any-client-accepted")
    issued_secrets: frozenset = field(default=frozenset(), repr=False)

    @property
    def is_public(self) -> bool:
        return self.client_secret is None

    @property
    def client_metadata(self) -> dict:
        return {}  # no signed userinfo, no per-client ID token algorithm

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str | None) -> str:
        return " ".join(s for s in (scope or "").split() if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if self.app_type == "service" and "service-client-signs-in" in self.defects:
            return True  # it has none registered: any is taken
        if "redirect-uri-loosely-matched" in self.defects:  # scheme, port and what follows the path ignored
            wanted = urlsplit(redirect_uri)
            return any(
                (wanted.hostname, wanted.path[: len(urlsplit(r).path)]) == (urlsplit(r).hostname, urlsplit(r).path)
                for r in self.redirect_uris
            )
        if "#" in redirect_uri:
            return False  # RFC 6749 section 3.1.2: "The endpoint URI MUST NOT include a fragment component."
        if redirect_uri in self.redirect_uris:
            return True
        # RFC 8252 section 7.3: "The authorization server MUST allow any port to be specified at the time
        # of the request for loopback IP redirect URIs, to accommodate clients that obtain an available
        # ephemeral port from the operating system at the time of the request." RFC 9700 section 2.1 keeps
        # exact matching "except for port numbers in localhost redirection URIs of native apps".
        portless = _localhost_without_port(redirect_uri) if self.app_type == "native" else None
        return portless is not None and any(_localhost_without_port(r) == portless for r in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret is None:
            return False
        if "secret-of-any-client-accepted" in self.defects and client_secret in self.issued_secrets:
            return True  # the secret is one the server issued, to whichever client
        if "secret-case-insensitive" in self.defects:
            return client_secret.lower() == self.client_secret.lower()
        return client_secret == self.client_secret or "wrong-secret-accepted" in self.defects

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        if method == "client_secret_basic" and "basic-auth-refused" in self.defects:
            return False
        if self.app_type == "web" and method == "none":
            return endpoint == "token"  # only with PKCE: the grant decides (sandbox.grants._authenticate_web_app)
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        if self.app_type == "service" and "service-client-signs-in" in self.defects:
            return response_type == "code"
        return response_type == "code" and "authorization_code" in GRANT_TYPES[self.app_type]

    def check_grant_type(self, grant_type: str) -> bool:
        # an SPA or native app given refresh tokens (refresh-for-spa, refresh-for-native) may also use them
        given = grant_type == "refresh_token" and f"refresh-for-{self.app_type}" in self.defects
        return grant_type in GRANT_TYPES[self.app_type] or given


# RFC 8252 section 7.3: "http://127.0.0.1:{port}/{path}" for IPv4, and "http://[::1]:{port}/{path}" for
# IPv6; and `localhost`, of which section 8.3 says it functions "similarly to loopback IP redirects" though
# "NOT RECOMMENDED": RFC 9700 section 2.1 exempts the port of every "localhost redirection URI of native apps"
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "localhost")


def _localhost_without_port(uri: str) -> str | None:
    """A localhost redirection URI (a loopback IP literal or localhost) with its port taken out, character for
    character otherwise (no normalisation: the rest is matched exactly); None for any other URI."""
    scheme, sep, rest = uri.partition("://")
    if scheme != "http" or not sep:
        return None
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    authority, tail = rest[:end], rest[end:]
    for host in LOOPBACK_HOSTS:
        if authority == host or re.fullmatch(re.escape(host) + r":[0-9]{1,5}", authority):
            return f"http://{host}{tail}"
    return None


@dataclass
class User:
    username: str
    password: str = field(repr=False)
    name: str = "Sandbox Test User"
    # One address per user, as an identity provider has it: a relying party that keeps emails unique
    # (django-allauth by default) signs in only the first of several users that share one.
    email: str = ""

    def __post_init__(self) -> None:
        self.email = self.email or f"{self.username}@sandbox.invalid"

    def get_user_id(self) -> str:
        return self.username


@dataclass
class Registry:
    applications: dict[str, Application] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    # Scopes of tenant-based APIs: a token for them names one tenant (`tenant_id`).
    tenant_scopes: tuple[str, ...] = ("visma_api:read", "visma_api:write")

    def add(self, application: Application) -> None:
        self.applications[application.client_id] = application

    def add_user(self, user: User) -> None:
        self.users[user.username] = user

    def all_scopes(self) -> list[str]:
        scopes = set(INTERACTIVE_SCOPES) | set(self.tenant_scopes)
        for application in self.applications.values():
            scopes.update(application.scopes)
        return sorted(scopes)


def default_registry() -> Registry:
    """The registrations `environments/sandbox.yaml` describes, for the standalone server."""
    registry = Registry()
    registry.add(
        Application(
            client_id="sandbox-service",
            app_type="service",
            client_secret="sandbox-service-secret",
            scopes=("visma_api:read", "connect_api:read"),  # the second of an API that is not tenant-based
            approved_tenants=("af1140c1-52e0-46c7-b684-df894d4b8a5a",),
        )
    )
    for role, secret in (
        ("web", "sandbox-web-secret"),
        ("web-other", "sandbox-web-other-secret"),
        ("web-short-lived", "sandbox-web-short-lived-secret"),
        ("spa", None),
        ("native", None),
    ):
        app_type = "web" if role.startswith("web") else role
        registry.add(
            Application(
                client_id=f"sandbox-{role}",
                app_type=app_type,
                client_secret=secret,
                # the other web app's carries a query, so that AUTH-05 can change it
                redirect_uris=(f"https://{role}.app.local/callback" + ("?app=other" if role == "web-other" else ""),),
                scopes=INTERACTIVE_SCOPES,
                access_token_lifetime=SHORT_LIFETIME if role == "web-short-lived" else None,
            )
        )
    registry.add_user(User("test.user", "sandbox-password"))
    return registry
