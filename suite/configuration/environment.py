"""Environment files: which server to certify, with which clients, and what to expect of it.

`load_environment("sandbox")` reads environments/sandbox.yaml; a path reads a partner's own
file. Every problem is collected and raised as one `ConfigurationError` that names the file,
the key and the fix, so a user sees all causes at once and no traceback.
"""

import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema

from suite.configuration.environment_schema import HINTS, SCHEMA, SECRET_KEYS
from suite.configuration.waivers import Waiver, load_waivers
from suite.configuration.yaml_files import (
    VARIABLE,
    ConfigurationError,
    FileSecrets,
    cut,
    describe_each,
    display_path,
    every_problem,
    read_mapping,
    resolve_variables,
    schema_errors,
    url_problems,
)

ENVIRONMENTS_DIR = Path(__file__).resolve().parents[2] / "environments"

VISMA_ENDPOINT_PATHS = {
    "authorization_endpoint": "/connect/authorize",
    "token_endpoint": "/connect/token",
    "userinfo_endpoint": "/connect/userinfo",
    "revocation_endpoint": "/connect/revocation",
    "introspection_endpoint": "/connect/introspect",
    "jwks_uri": "/.well-known/openid-configuration/jwks",
}


PUBLIC_ROLES = ("spa", "native")


@dataclass(frozen=True)
class Client:
    role: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str | None = None
    scope: str = ""
    tenant_id: str | None = None
    unapproved_tenant_id: str | None = None
    ungranted_scope: str | None = None
    non_tenant_scope: str | None = None  # service: a scope of an API that is not tenant-based
    # How the confidential interactive client authenticates when it redeems a code or a refresh token:
    # client_secret_post (the documentation's examples) or client_secret_basic (RFC 6749 section 2.3.1).
    token_endpoint_auth_method: str = "client_secret_post"
    # short_lived: the seconds its access tokens live, as it is registered (UINFO-08 waits them out)
    access_token_lifetime: int | None = None

    @property
    def is_public(self) -> bool:
        """SPAs and native apps cannot keep a secret (Visma: "client secrets cannot be safely stored")."""
        return self.role in PUBLIC_ROLES or self.client_secret is None


@dataclass(frozen=True)
class BrowserAction:
    kind: str  # fill, click or wait
    selector: str
    value: str = ""  # for fill: text, with {username} and {password} filled in


@dataclass(frozen=True)
class BrowserPage:
    url: str  # a regular expression searched in the page's URL
    when: str | None
    actions: tuple[BrowserAction, ...]

    @property
    def fills(self) -> bool:
        return any(a.kind == "fill" for a in self.actions)

    @property
    def signs_in(self) -> bool:
        """It types the test user's password: running it is signing in."""
        return any(a.kind == "fill" and "{password}" in a.value for a in self.actions)


@dataclass(frozen=True)
class Login:
    method: str
    username: str = ""
    password: str = field(default="", repr=False)
    # form method: field names of the login and consent forms
    username_field: str = "username"
    password_field: str = "password"
    consent_field: str = "decision"
    consent_value: str = "allow"
    consent_deny_value: str = ""  # the consent form's refusing button; empty: consent denial is not tried
    # the refusal is the consent form sent without consent_field (a Decline button with no name, as
    # django-oidc-provider's, whose `allow` field grants whatever its value)
    consent_deny_omits_field: bool = False
    # set by CONS-01's step, never by the file: this sign-in refuses consent the way the file says
    denying_consent: bool = False
    # browser method: what to do on which page
    browser_pages: tuple[BrowserPage, ...] = ()
    # CONS-01's sign-in, which refuses consent: matched before browser_pages (login.browser.deny_consent)
    browser_deny_pages: tuple[BrowserPage, ...] = ()
    browser_timeout: float = 15.0
    max_pages: int = 10
    # origins the login pages are known to ask for (fonts, analytics): refused like any other and
    # listed in the report, but not held against the server once the password is typed
    browser_expected_elsewhere: tuple[str, ...] = ()


@dataclass(frozen=True)
class Expectations:
    access_token_lifetime: int = 3600
    # seconds below access_token_lifetime that expires_in may be: a server may give the time left when it
    # answers, counted from the token's issue (3599), and only the documentation's sample shows 3600
    access_token_lifetime_tolerance: int = 60
    refresh_token_app_types: tuple[str, ...] = ("web",)
    refresh_token_rotation: str = "one_time"
    plain_pkce: str = "refused"
    # the prompt sent with offline_access: "omitted" (Visma: the scope and the app's Offline Access setting
    # suffice) or "consent", for a server that ignores offline_access without it, as OpenID Connect Core
    # section 11 allows ("a prompt parameter value of consent MUST be used unless other conditions ... are in place")
    offline_access_prompt: str = "omitted"
    authorization_code_lifetime: int = 300  # seconds; IdentityServer's default
    access_token_revocation: str = "supported"  # RFC 7009 section 2: access tokens SHOULD be revocable
    endpoint_paths: dict = field(default_factory=lambda: dict(VISMA_ENDPOINT_PATHS))
    # endpoint name -> why this environment does not offer it (shown in the report)
    endpoints_not_offered: dict = field(default_factory=dict)
    # one_time rotation: seconds a used refresh token may still work (Visma: 5-60 s grace)
    refresh_token_reuse_grace: int = 0
    # a web app redeeming a PKCE code without its secret: "accepted" (the documentation's
    # "Required for server-side apps unless PKCE is used") or "refused" (PKCE switched off for it)
    web_pkce_without_secret: str = "accepted"
    access_token_format: str = "jwt"  # or "opaque": the JWT rule then does not apply
    # the JWT access tokens' typ header beside RFC 9068's at+jwt (application/at+jwt): a legacy value the
    # environment declares it issues (e.g. JWT), shown as such in the report
    access_token_typ: str = "at+jwt"
    # seconds of clock difference tolerated between the server and this machine for iat, exp and nbf
    clock_skew: int = 300
    # seconds past expires_in the server may still accept its access token (RFC 7519 section 4.1.4's "small
    # leeway" for clock skew, which servers apply to their own tokens too); None: clock_skew
    access_token_expiry_leeway: int | None = None
    # seconds the run may wait for an access token to expire (UINFO-08); a longer wait leaves the rule unchecked
    longest_wait_for_expiry: int = 60

    @property
    def expiry_leeway(self) -> int:
        return self.clock_skew if self.access_token_expiry_leeway is None else self.access_token_expiry_leeway


@dataclass(frozen=True)
class HttpSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retries: int = 2  # further attempts after the first, when a retry is safe
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_retry_wait: float = 30.0  # the longest wait, whatever Retry-After says
    verify_tls: bool = True
    ca_bundle: str | None = None
    exchange_timeout: float = 60.0  # one request and its whole answer, however it trickles in
    trusted_origins: tuple[str, ...] = ()  # origins besides the issuer's that may receive credentials


@dataclass
class Environment:
    name: str
    path: Path
    issuer: str | None  # None until the embedded sandbox has started
    clients: dict[str, Client]
    login: Login | None
    expectations: Expectations
    http: HttpSettings
    tenants_supported: bool = True
    sandbox_defects: tuple[str, ...] | None = None  # None: a real server, not the embedded sandbox
    waivers: tuple[Waiver, ...] = ()  # failures accepted for a while (suite/configuration/waivers.py)

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox_defects is not None


def resolve_path(name_or_path: str) -> Path:
    """`sandbox` is environments/sandbox.yaml; anything with a slash or .yaml is a path."""
    if "/" in name_or_path or name_or_path.endswith((".yaml", ".yml")):
        return Path(name_or_path)
    return ENVIRONMENTS_DIR / f"{name_or_path}.yaml"


def load_environment(name_or_path: str, environ: Mapping[str, str] = os.environ) -> Environment:
    path = resolve_path(name_or_path)
    raw = _read_yaml(path)
    secrets = FileSecrets(raw, environ, SECRET_KEYS, SCHEMA)
    problems = _schema_problems(raw)
    if problems:  # values of the wrong form as written; every unset variable with them, not after they are fixed
        raise secrets.refusal(path, problems + _unset_variables(raw, environ, problems))
    is_sandbox = "sandbox" in raw
    problems += _public_client_secrets(raw)
    if not is_sandbox:
        problems += _inline_secrets(raw)
    resolved, problems = every_problem(raw, environ, problems, _schema_problems, _meaning_problems, SECRET_KEYS)
    waivers, waiver_problems = _waivers(path, resolved.get("waivers", []))
    problems += waiver_problems
    if problems:
        raise secrets.refusal(path, problems)
    return _build(path, resolved, waivers)


def _unset_variables(raw: dict, environ: Mapping[str, str], problems: list[str]) -> list[str]:
    """The lines of each ${VAR} that is unset or empty (or holds a control character), but for keys `problems`
    name already: a mistyped variable name is as independent of a value of the wrong form as two such values
    are of each other (docs/certify-server.md: every problem in one run where one does not hide another)."""
    unresolved: list[str] = []
    resolve_variables(raw, environ, unresolved, secret_keys=SECRET_KEYS)
    named = {problem.split(":", 1)[0] for problem in problems}
    return [line for line in unresolved if line.split(":", 1)[0] not in named]


def _waivers(path: Path, value: object) -> tuple[list[Waiver], list[str]]:
    """The environment's waivers: listed in its file, or in the file it names (relative to it)."""
    if not isinstance(value, str):
        return load_waivers(value, path)
    source = path.parent / value
    if not source.is_file():
        return [], [f"waivers: no such file {display_path(source)} (a path relative to the environment file)"]
    try:
        listed = _read_yaml(source).get("waivers")
    except ConfigurationError as error:
        return [], [f"waivers: {value}: {problem}" for problem in error.problems]
    return load_waivers(listed, source)


def available_environments() -> list[str]:
    return sorted(p.stem for p in ENVIRONMENTS_DIR.glob("*.yaml"))


def _read_yaml(path: Path) -> dict:
    known = ", ".join(available_environments())
    missing = f"no such environment file. Known environments: {known}; or pass the path of your own file"
    return read_mapping(path, "environment", missing, "environments/partner-template.yaml")


def _schema_problems(raw: dict) -> list[str]:
    return [line for error in schema_errors(raw, SCHEMA) for line in _describe(error)]


def _describe(error: jsonschema.ValidationError) -> list[str]:
    """One line per problem: every unknown key of a mapping at once, each with the key it is closest to."""
    if error.validator == "oneOf" and not error.absolute_path:
        return ["give exactly one of `issuer:` (a real server) or `sandbox:` (the embedded sandbox)"]
    return describe_each(error, HINTS, SECRET_KEYS)


def _meaning_problems(raw: dict) -> list[str]:
    """What the schema cannot say: URLs that parse, an http:// issuer only on loopback, a CA
    bundle that exists, two roles that are really two clients."""
    problems = []
    if "issuer" in raw:
        problems += _url_problems("issuer", raw["issuer"], issuer=True)
    for role, client in raw["clients"].items():
        if "redirect_uri" in client and urlsplit(client["redirect_uri"]).scheme in ("http", "https"):
            # a native app's private-use scheme has no host (RFC 8252 section 7.1): the schema checked its form
            problems += _url_problems(f"clients.{role}.redirect_uri", client["redirect_uri"])
    for number, origin in enumerate(raw.get("http", {}).get("trusted_origins", [])):
        problems += _url_problems(f"http.trusted_origins.{number}", origin, issuer=True)
    for number, origin in enumerate(raw.get("login", {}).get("browser", {}).get("expected_elsewhere", [])):
        problems += url_problems(f"login.browser.expected_elsewhere.{number}", origin)
    bundle = raw.get("http", {}).get("ca_bundle")
    if bundle and Path(bundle).is_dir():  # "no such file" sent people looking for a typo in a path that exists
        problems.append(
            f"http.ca_bundle: {cut(bundle)} is a folder, not a file. Give the path of the PEM file of CA "
            "certificates itself (e.g. /etc/ssl/certs/ca-certificates.crt)"
        )
    elif bundle and not Path(bundle).is_file():
        problems.append(f"http.ca_bundle: no such file {cut(bundle)}. Give the path of a PEM file of CA certificates")
    for key in ("pages", "deny_consent"):
        for number, page in enumerate(raw.get("login", {}).get("browser", {}).get(key, [])):
            try:
                re.compile(page["url"])
            except re.error as error:
                problems.append(
                    f"login.browser.{key}.{number}.url: not a regular expression ({error}): {cut(page['url'])}"
                )
    clients = raw["clients"]
    problems += _login_problems(raw)
    if "web" in clients and "other_web" in clients and clients["web"]["client_id"] == clients["other_web"]["client_id"]:
        problems.append(
            "clients.other_web.client_id: the same as clients.web.client_id. other_web must be a "
            "second, separately registered web app (it proves codes and tokens are bound to their client)"
        )
    return problems


def _login_problems(raw: dict) -> list[str]:
    """An interactive role signs the test user in for every one of its rules: without `login` each
    of them would stop at the login page, and the run would end with failures that are the file's."""
    form = raw.get("login", {}).get("form", {})
    if form.get("consent_deny_omits_field") and "consent_deny_value" in form:
        return [
            "login.form: consent_deny_value and consent_deny_omits_field both say how consent is refused; give "
            "consent_deny_value for a refusing button with a name and value, consent_deny_omits_field: true for one "
            "that sends no consent field"
        ]
    interactive = [role for role in raw["clients"] if role != "service"]
    if "login" in raw or not interactive:
        return []
    return [
        f"login: missing, and clients.{interactive[0]} is an interactive app whose rules sign the test user in. "
        "Add a login section (method: form, username, password; see environments/partner-template.yaml), "
        f"or remove clients.{', clients.'.join(interactive)} to certify the service integration only"
    ]


def _url_problems(key: str, url: str, issuer: bool = False) -> list[str]:
    problems = url_problems(key, url)
    if problems:
        return problems
    parts = urlsplit(url)
    host = parts.hostname or ""
    if issuer and (parts.query or parts.fragment):
        return [f"{key}: must not have a query or fragment (RFC 8414 section 2): {cut(url)}"]
    if issuer and parts.scheme == "http" and not is_loopback(host):
        return [
            f"{key}: plain http:// for a server that is not on this machine: credentials would travel "
            f"unencrypted. Use https:// ({cut(url)})"
        ]
    return []


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _inline_secrets(raw: dict, prefix: str = "") -> list[str]:
    problems = []
    for key, value in raw.items():
        where = f"{prefix}{key}"
        if isinstance(value, dict):
            problems += _inline_secrets(value, where + ".")
        elif key in SECRET_KEYS and isinstance(value, str) and not VARIABLE.fullmatch(value.strip()):
            variable = "VISMA_" + re.sub(r"[^A-Z0-9]+", "_", where.upper())
            problems.append(
                f"{where}: a secret is written inline. Write `{key}: ${{{variable}}}` "
                f"and export {variable} instead (any variable name works; secrets never go into files for real servers)"
            )
    return problems


def _public_client_secrets(raw: dict) -> list[str]:
    """A secret given to a public client would be sent by nobody real; the suite never sends one."""
    return [
        f"clients.{role}.client_secret: {role} apps are public clients "
        'and have no secret (Visma: PKCE instead, "as client secrets cannot be safely stored"). Remove the '
        "key; the suite never sends a secret for this role"
        for role in PUBLIC_ROLES
        if "client_secret" in (raw.get("clients") or {}).get(role, {})
    ]


def _login(settings: dict) -> Login:
    browser = settings.get("browser", {})
    pages, deny_pages = (
        tuple(
            BrowserPage(page["url"], page.get("when"), tuple(_action(a) for a in page["actions"]))
            for page in browser.get(key, [])
        )
        for key in ("pages", "deny_consent")
    )
    plain = {k: v for k, v in settings.items() if k not in ("form", "browser")}
    return Login(
        **plain,
        **settings.get("form", {}),
        browser_pages=pages,
        browser_deny_pages=deny_pages,
        browser_timeout=browser.get("timeout", 15.0),
        browser_expected_elsewhere=tuple(browser.get("expected_elsewhere", ())),
    )


def _action(action: dict) -> BrowserAction:
    kind = next(k for k in ("fill", "click", "wait") if k in action)
    return BrowserAction(kind, action[kind], action.get("value", ""))


def _http_settings(settings: dict) -> HttpSettings:
    settings = dict(settings)
    if "read_timeout" in settings and "exchange_timeout" not in settings:
        # A file that declares how slow its server may be: an answer that drips in, each byte
        # within the read timeout, is bounded by that too (and a second more, so that a silent
        # server is still told apart by its read timeout), not by the 60 s default
        settings["exchange_timeout"] = settings["read_timeout"] + 1
    if "trusted_origins" in settings:
        settings["trusted_origins"] = tuple(settings["trusted_origins"])
    return HttpSettings(**settings)


def _build(path: Path, raw: dict, waivers: Iterable[Waiver] = ()) -> Environment:
    clients = {role: Client(role=role, **fields) for role, fields in raw["clients"].items()}
    login = _login(raw["login"]) if "login" in raw else None
    expectations = dict(raw.get("expectations", {}))
    if "refresh_token_app_types" in expectations:
        expectations["refresh_token_app_types"] = tuple(expectations["refresh_token_app_types"])
    if "endpoint_paths" in expectations:
        expectations["endpoint_paths"] = {**VISMA_ENDPOINT_PATHS, **expectations["endpoint_paths"]}
    sandbox = raw.get("sandbox")
    return Environment(
        name=raw["name"],
        path=path,
        issuer=raw.get("issuer"),
        clients=clients,
        login=login,
        expectations=Expectations(**expectations),
        http=_http_settings(raw.get("http", {})),
        tenants_supported=raw.get("capabilities", {}).get("tenants", True),
        sandbox_defects=tuple(sandbox.get("defects", [])) if sandbox is not None else None,
        waivers=tuple(waivers),
    )
