"""Environment files: which server to certify, with which clients, and what to expect of it.

`load_environment("sandbox")` reads environments/sandbox.yaml; a path reads a partner's own
file. Every problem is collected and raised as one `ConfigurationError` that names the file,
the key and the fix, so a user sees all causes at once and no traceback.
"""

import ipaddress
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

import jsonschema
import yaml

from suite.configuration.environment_schema import HINTS, SCHEMA, SECRET_KEYS
from suite.configuration.waivers import Waiver, load_waivers

ENVIRONMENTS_DIR = Path(__file__).resolve().parents[2] / "environments"
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_FILE_BYTES = 256 * 1024  # the template, fully filled in, is under 10 KB
MAX_NODES = 20_000  # values in the file after YAML aliases are expanded
MAX_SHOWN = 60  # characters of a value quoted in a message

VISMA_ENDPOINT_PATHS = {
    "authorization_endpoint": "/connect/authorize",
    "token_endpoint": "/connect/token",
    "userinfo_endpoint": "/connect/userinfo",
    "revocation_endpoint": "/connect/revocation",
    "introspection_endpoint": "/connect/introspect",
    "jwks_uri": "/.well-known/openid-configuration/jwks",
}


PUBLIC_ROLES = ("spa", "native")


class ConfigurationError(Exception):
    """The environment file cannot be used; `problems` are one line each."""

    def __init__(self, path, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{display_path(path)}: {p}" for p in problems))


def display_path(path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


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
    # browser method: what to do on which page
    browser_pages: tuple[BrowserPage, ...] = ()
    browser_timeout: float = 15.0
    max_pages: int = 10


@dataclass(frozen=True)
class Expectations:
    access_token_lifetime: int = 3600
    refresh_token_app_types: tuple[str, ...] = ("web",)
    refresh_token_rotation: str = "one_time"
    plain_pkce: str = "refused"
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


def load_environment(name_or_path: str, environ=os.environ) -> Environment:
    path = resolve_path(name_or_path)
    raw = _read_yaml(path)
    problems = _schema_problems(raw)
    if problems:
        raise ConfigurationError(path, problems)
    is_sandbox = "sandbox" in raw
    problems += _public_client_secrets(raw)
    if not is_sandbox:
        problems += _inline_secrets(raw)
    resolved = _resolve_variables(raw, environ, problems)
    problems = problems or [p + " (after ${VAR} substitution)" for p in _schema_problems(resolved)]
    problems = problems or _meaning_problems(resolved)
    waivers, waiver_problems = _waivers(path, resolved.get("waivers", []))
    problems += waiver_problems
    if problems:
        raise ConfigurationError(path, problems)
    return _build(path, resolved, waivers)


def _waivers(path: Path, value) -> tuple[list[Waiver], list[str]]:
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
    """The file as data, or one problem: missing, unreadable, too big, not UTF-8, not YAML,
    duplicate keys, aliases that expand past MAX_NODES, numbers that are not finite."""
    if not path.exists():
        known = ", ".join(available_environments())
        raise ConfigurationError(
            path, [f"no such environment file. Known environments: {known}; or pass the path of your own file"]
        )
    try:
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ConfigurationError(
            path, [f"cannot be read ({error.strerror or error}). Check the path and the file's permissions"]
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigurationError(path, [f"larger than {MAX_FILE_BYTES // 1024} KB: not an environment file"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigurationError(path, [f"not UTF-8 text (byte {error.start}). Save the file as UTF-8"]) from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = _shorten(str(getattr(error, "problem", None) or error), 200)
        kind = "refused" if isinstance(error, _Refused) else "not valid YAML"
        raise ConfigurationError(path, [f"{kind}{where}: {problem}"]) from None
    if not isinstance(raw, dict):
        raise ConfigurationError(
            path, ["the file must be a YAML mapping (key: value lines); see environments/partner-template.yaml"]
        )
    return raw


class _Refused(yaml.constructor.ConstructorError):
    """Valid YAML that an environment file must not contain."""


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses what would silently change the meaning or blow up:
    a key given twice (the last would win), aliases that expand past MAX_NODES values, .nan and .inf."""

    def construct_document(self, node):
        _count_nodes(node, {}, [0])
        return super().construct_document(node)

    def construct_mapping(self, node, deep: bool = False):
        seen = set()
        for key_node, _ in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key in seen:
                raise _Refused(
                    None,
                    None,
                    f"the key {_cut(key)} is given twice (one would silently replace the other)",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _Refused(None, None, f"{_shorten(node.value)} is not a finite number", node.start_mark)
        return value


_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)


def _count_nodes(node, sizes: dict[int, int], total: list) -> int:
    """How many values `node` stands for once every alias is expanded; each distinct node is
    counted once (memoised), so a deep alias bomb is measured without being expanded."""
    if id(node) in sizes:
        size = sizes[id(node)]
    else:
        sizes[id(node)] = 1  # a node reached again while being counted: a recursive alias
        children = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else (node.value if isinstance(node, yaml.SequenceNode) else [])
        )
        size = 1 + sum(_count_nodes(child, sizes, total) for child in children)
        sizes[id(node)] = size
    if size > MAX_NODES:
        raise _Refused(
            None, None, f"more than {MAX_NODES} values once its aliases (*name) are expanded", node.start_mark
        )
    return size


def _schema_problems(raw: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.path))):
        problems.append(_describe(error))
    return problems


def _describe(error: jsonschema.ValidationError) -> str:
    key = ".".join(map(str, error.absolute_path)) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(cast(dict, error.schema).get("properties", {}))  # a schema of an object here
        unknown = sorted(map(str, set(cast(dict, error.instance)) - set(allowed)))
        return f"{_join(key, _shorten(unknown[0]))}: unknown key. Allowed here: {', '.join(allowed)}"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        hint = HINTS.get(missing, "")
        return f"{_join(key, missing)}: missing. Add it{': ' + hint if hint else ''}"
    if error.validator == "oneOf" and not error.absolute_path:
        return "give exactly one of `issuer:` (a real server) or `sandbox:` (the embedded sandbox)"
    leaf = str(error.absolute_path[-1]) if error.absolute_path else ""
    hint = HINTS.get(leaf, "")
    bound = error.validator_value
    expected = {
        "type": f"must be of type {bound}",
        "enum": f"must be one of {', '.join(map(str, bound)) if isinstance(bound, list) else bound}",
        "pattern": "has the wrong form",
        "minLength": "must not be empty",
        "minimum": f"must be at least {bound}",
        "exclusiveMinimum": f"must be more than {bound}",
        "maximum": f"must be at most {bound}",
        "minProperties": "must not be empty",
        "maxItems": f"must have at most {bound} entries",
        "minItems": f"must have at least {bound} entries",
    }.get(str(error.validator), "is not allowed here")
    found = (
        "found a value of type " + type(error.instance).__name__
        if leaf in SECRET_KEYS
        else f"found {_cut(error.instance)}"
    )  # never print a secret, whatever its type
    return f"{key}: {expected} ({found}){'. Write ' + hint if hint else ''}"


def _cut(value) -> str:
    """A value as quoted in a message: its repr, at most MAX_SHOWN characters."""
    return _shorten(repr(value))


def _shorten(text: str, limit: int = MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _meaning_problems(raw: dict) -> list[str]:
    """What the schema cannot say: URLs that parse, an http:// issuer only on loopback, a CA
    bundle that exists, two roles that are really two clients."""
    problems = []
    if "issuer" in raw:
        problems += _url_problems("issuer", raw["issuer"], issuer=True)
    for role, client in raw["clients"].items():
        if "redirect_uri" in client:
            problems += _url_problems(f"clients.{role}.redirect_uri", client["redirect_uri"])
    for number, origin in enumerate(raw.get("http", {}).get("trusted_origins", [])):
        problems += _url_problems(f"http.trusted_origins.{number}", origin, issuer=True)
    bundle = raw.get("http", {}).get("ca_bundle")
    if bundle and not Path(bundle).is_file():
        problems.append(f"http.ca_bundle: no such file {_cut(bundle)}. Give the path of a PEM file of CA certificates")
    for number, page in enumerate(raw.get("login", {}).get("browser", {}).get("pages", [])):
        try:
            re.compile(page["url"])
        except re.error as error:
            problems.append(
                f"login.browser.pages.{number}.url: not a regular expression ({error}): {_cut(page['url'])}"
            )
    clients = raw["clients"]
    if "web" in clients and "other_web" in clients and clients["web"]["client_id"] == clients["other_web"]["client_id"]:
        problems.append(
            "clients.other_web.client_id: the same as clients.web.client_id. other_web must be a "
            "second, separately registered web app (it proves codes and tokens are bound to their client)"
        )
    return problems


def _url_problems(key: str, url: str, issuer: bool = False) -> list[str]:
    try:
        parts = urlsplit(url)
        _ = parts.port  # read for its ValueError: a port that is not a number, or out of range
        host = parts.hostname
    except ValueError as error:
        return [f"{key}: not a usable URL ({error}): {_cut(url)}"]
    if not host:
        return [f"{key}: has no host: {_cut(url)}"]
    if issuer and (parts.query or parts.fragment):
        return [f"{key}: must not have a query or fragment (RFC 8414 section 2): {_cut(url)}"]
    if issuer and parts.scheme == "http" and not is_loopback(host):
        return [
            f"{key}: plain http:// for a server that is not on this machine: credentials would travel "
            f"unencrypted. Use https:// ({_cut(url)})"
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


def _join(prefix: str, key: str) -> str:
    return key if prefix == "(top level)" else f"{prefix}.{key}"


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
                f"and export {variable} instead (secrets never go into files for real servers)"
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


def _resolve_variables(node, environ, problems, where: str = ""):
    if isinstance(node, dict):
        return {k: _resolve_variables(v, environ, problems, f"{where}{k}.") for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_variables(v, environ, problems, where) for v in node]
    if not isinstance(node, str):
        return node

    def substitute(match):
        name = match.group(1)
        if not environ.get(name):
            problems.append(
                f"{where.rstrip('.')}: environment variable {name} is not set. "
                f"Export it (export {name}=...) before running the suite"
            )
            return ""
        return environ[name]

    return VARIABLE.sub(substitute, node)


def _login(settings: dict) -> Login:
    browser = settings.get("browser", {})
    pages = tuple(
        BrowserPage(page["url"], page.get("when"), tuple(_action(a) for a in page["actions"]))
        for page in browser.get("pages", [])
    )
    plain = {k: v for k, v in settings.items() if k not in ("form", "browser")}
    return Login(**plain, **settings.get("form", {}), browser_pages=pages, browser_timeout=browser.get("timeout", 15.0))


def _action(action: dict) -> BrowserAction:
    kind = next(k for k in ("fill", "click", "wait") if k in action)
    return BrowserAction(kind, action[kind], action.get("value", ""))


def _http_settings(settings: dict) -> HttpSettings:
    settings = dict(settings)
    if "trusted_origins" in settings:
        settings["trusted_origins"] = tuple(settings["trusted_origins"])
    return HttpSettings(**settings)


def _build(path: Path, raw: dict, waivers=()) -> Environment:
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
