"""Environment files: which server to certify, with which clients, and what to expect of it.

`load_environment("sandbox")` reads environments/sandbox.yaml; a path reads a partner's own
file. Every problem is collected and raised as one `ConfigurationError` that names the file,
the key and the fix, so a user sees all causes at once and no traceback.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema
import yaml

from .environment_schema import HINTS, SCHEMA, SECRET_KEYS

ENVIRONMENTS_DIR = Path(__file__).resolve().parent.parent / "environments"
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

VISMA_ENDPOINT_PATHS = {
    "authorization_endpoint": "/connect/authorize",
    "token_endpoint": "/connect/token",
    "userinfo_endpoint": "/connect/userinfo",
    "revocation_endpoint": "/connect/revocation",
    "introspection_endpoint": "/connect/introspect",
    "jwks_uri": "/.well-known/openid-configuration/jwks",
}


class ConfigurationError(Exception):
    """The environment file cannot be used; `problems` are one line each."""

    def __init__(self, path, problems: list[str]):
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

    @property
    def is_public(self) -> bool:
        return self.client_secret is None


@dataclass(frozen=True)
class BrowserAction:
    kind: str          # fill, click or wait
    selector: str
    value: str = ""    # for fill: text, with {username} and {password} filled in


@dataclass(frozen=True)
class BrowserPage:
    url: str           # a regular expression searched in the page's URL
    when: str | None
    actions: tuple[BrowserAction, ...]

    @property
    def fills(self) -> bool:
        return any(a.kind == "fill" for a in self.actions)


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
    endpoint_paths: dict = field(default_factory=lambda: dict(VISMA_ENDPOINT_PATHS))


@dataclass(frozen=True)
class HttpSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retries: int = 2               # further attempts after the first, when a retry is safe
    backoff: float = 0.5           # seconds before the first retry; doubles each time
    max_retry_wait: float = 30.0   # the longest wait, whatever Retry-After says
    verify_tls: bool = True
    ca_bundle: str | None = None


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
    if not is_sandbox:
        problems += _inline_secrets(raw)
    resolved = _resolve_variables(raw, environ, problems)
    problems = problems or [p + " (after ${VAR} substitution)" for p in _schema_problems(resolved)]
    if problems:
        raise ConfigurationError(path, problems)
    return _build(path, resolved)


def available_environments() -> list[str]:
    return sorted(p.stem for p in ENVIRONMENTS_DIR.glob("*.yaml"))


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        known = ", ".join(available_environments())
        raise ConfigurationError(path, [f"no such environment file. Known environments: {known}; "
                                        "or pass the path of your own file"])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigurationError(path, [f"not valid YAML{where}: {getattr(error, 'problem', error)}"]) from None
    if not isinstance(raw, dict):
        raise ConfigurationError(path, ["the file must be a YAML mapping (key: value lines); "
                                        "see environments/partner-template.yaml"])
    return raw


def _schema_problems(raw: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(raw), key=lambda e: list(map(str, e.path))):
        problems.append(_describe(error))
    return problems


def _describe(error: jsonschema.ValidationError) -> str:
    key = ".".join(map(str, error.absolute_path)) or "(top level)"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return f"{_join(key, unknown[0])}: unknown key. Allowed here: {', '.join(allowed)}"
    if error.validator == "required":
        missing = error.message.split("'")[1]
        hint = HINTS.get(missing, "")
        return f"{_join(key, missing)}: missing. Add it{': ' + hint if hint else ''}"
    if error.validator == "oneOf":
        return ("give exactly one of `issuer:` (a real server) or `sandbox:` "
                "(the embedded sandbox)")
    leaf = str(error.absolute_path[-1]) if error.absolute_path else ""
    hint = HINTS.get(leaf)
    expected = {"type": f"must be of type {error.validator_value}",
                "enum": f"must be one of {', '.join(map(str, error.validator_value))}",
                "pattern": "has the wrong form",
                "minLength": "must not be empty"}.get(error.validator, error.message)
    return f"{key}: {expected} (found {error.instance!r}){'. Write ' + hint if hint else ''}"


def _join(prefix: str, key: str) -> str:
    return key if prefix == "(top level)" else f"{prefix}.{key}"


def _inline_secrets(raw: dict, prefix="") -> list[str]:
    problems = []
    for key, value in raw.items():
        where = f"{prefix}{key}"
        if isinstance(value, dict):
            problems += _inline_secrets(value, where + ".")
        elif key in SECRET_KEYS and isinstance(value, str) and not VARIABLE.fullmatch(value.strip()):
            variable = "VISMA_" + re.sub(r"[^A-Z0-9]+", "_", where.upper())
            problems.append(f"{where}: a secret is written inline. Write `{key}: ${{{variable}}}` "
                            f"and export {variable} instead (secrets never go into files for real servers)")
    return problems


def _resolve_variables(node, environ, problems, where=""):
    if isinstance(node, dict):
        return {k: _resolve_variables(v, environ, problems, f"{where}{k}.") for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve_variables(v, environ, problems, where) for v in node]
    if not isinstance(node, str):
        return node

    def substitute(match):
        name = match.group(1)
        if not environ.get(name):
            problems.append(f"{where.rstrip('.')}: environment variable {name} is not set. "
                            f"Export it (export {name}=...) before running the suite")
            return ""
        return environ[name]

    return VARIABLE.sub(substitute, node)


def _login(settings: dict) -> Login:
    browser = settings.get("browser", {})
    pages = tuple(
        BrowserPage(page["url"], page.get("when"), tuple(_action(a) for a in page["actions"]))
        for page in browser.get("pages", []))
    plain = {k: v for k, v in settings.items() if k not in ("form", "browser")}
    return Login(**plain, **settings.get("form", {}), browser_pages=pages,
                 browser_timeout=browser.get("timeout", 15.0))


def _action(action: dict) -> BrowserAction:
    kind = next(k for k in ("fill", "click", "wait") if k in action)
    return BrowserAction(kind, action[kind], action.get("value", ""))


def _build(path: Path, raw: dict) -> Environment:
    clients = {role: Client(role=role, **fields) for role, fields in raw["clients"].items()}
    login = _login(raw["login"]) if "login" in raw else None
    expectations = dict(raw.get("expectations", {}))
    if "refresh_token_app_types" in expectations:
        expectations["refresh_token_app_types"] = tuple(expectations["refresh_token_app_types"])
    if "endpoint_paths" in expectations:
        expectations["endpoint_paths"] = {**VISMA_ENDPOINT_PATHS, **expectations["endpoint_paths"]}
    sandbox = raw.get("sandbox")
    return Environment(
        name=raw["name"], path=path, issuer=raw.get("issuer"),
        clients=clients, login=login, expectations=Expectations(**expectations),
        http=HttpSettings(**raw.get("http", {})),
        tenants_supported=raw.get("capabilities", {}).get("tenants", True),
        sandbox_defects=tuple(sandbox.get("defects", [])) if sandbox is not None else None,
    )
