"""Application files: the partner's application that the suite certifies, and how to drive it.

Checked like environment files (suite.configuration.yaml_files): every problem at once, one line each,
naming the file, the key and the fix; secrets as ${VAR}. `${VAR:-default}` gives a default,
for ports a test harness chooses."""

import difflib
import itertools
import os
import re
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from appside.application_schema import (
    HINTS,
    MAX_ACCESS_TOKEN_LIFETIME,
    MIN_ACCESS_TOKEN_LIFETIME,
    MOST_AT_ONCE,
    SCHEMA,
    SECRET_KEYS,
)
from appside.output_file import not_regular
from sandbox.faults import SHORT_LIFETIME
from suite.configuration.environment import is_loopback
from suite.configuration.yaml_files import (
    DEFAULTED,
    FileSecrets,
    cut,
    describe_each,
    every_problem,
    read_mapping,
    schema_errors,
    url_problems,
)

INTERACTIVE = ("web", "spa", "native")
TYPES = (*INTERACTIVE, "service")
# drive.timeout and drive.settle, in seconds: 1e30 was accepted (a run that never ends). The server side caps
# its exchanges at 3600 s (http.exchange_timeout) and each request at 600 s
LONGEST_WAITS = {"timeout": 3600, "settle": 600}
# What a shell runs without looking for a program on PATH: its builtins and keywords (POSIX sh, dash, bash)
# fmt: off
SHELL_WORDS = frozenset((
    ".", ":", "[", "alias", "bg", "cd", "command", "echo", "eval", "exec", "exit", "export", "false", "fg",
    "getopts", "hash", "jobs", "kill", "local", "printf", "pwd", "read", "readonly", "return", "set", "shift",
    "source", "test", "times", "trap", "true", "type", "ulimit", "umask", "unalias", "unset", "wait", "if", "for",
    "while", "until", "case", "{", "!", "time",
))
# fmt: on
COMMAND_NAME = re.compile(r"[A-Za-z0-9._+-]+")  # a program named without a folder (not `(cd x && ...)`)
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")  # a shell variable set for the command: NAME=value
# the keys that may hold the client secret besides client_secret: a command may hand the application its secret
SECRET_CARRIERS = ("drive.launch", "drive.command")


@dataclass(frozen=True)
class Marker:
    text: str | None = None
    selector: str | None = None

    def describe(self) -> str:
        return f"the text {self.text!r}" if self.text else f"an element {self.selector!r}"


@dataclass(frozen=True)
class Drive:
    mode: str  # browser, manual (interactive); command, url (service)
    launch: str | None = None  # started by the suite, stopped at the end
    ready_url: str | None = None
    sign_in_url: str | None = None
    signed_in: Marker | None = None
    use_api_url: str | None = None  # a page that makes the application use its token
    # a file the application writes its output to (its log, or what a person's terminal tees there), read
    # for APPC-28 where the suite neither launches the application nor runs its command
    output_file: str | None = None
    command: str | None = None
    url: str | None = None
    timeout: float = 20.0  # longest wait for a sign-in to finish
    settle: float = 2.0  # how long a refused response is watched for follow-up requests
    sign_ins_at_once: int | None = None  # None: Application.sign_ins_at_once decides

    def shows_signed_in(self) -> str:
        """What the application shows once signed in, for a message (manual mode has no marker)."""
        return self.signed_in.describe() if self.signed_in else "that the user is signed in"


@dataclass(frozen=True)
class Application:
    name: str
    path: Path
    app_type: str
    client_id: str
    drive: Drive  # how the suite makes the application sign in or act
    client_secret: str | None = field(default=None, repr=False)
    redirect_uris: tuple[str, ...] = ()
    scope: str = ""
    tenant_id: str | None = None
    pkce_declared: bool = False
    issuer_port: int = 0
    issuer_tls: bool = False  # https, with a certificate authority the suite makes (appside.tls)
    # seconds the stand-in's short-lived access tokens live (issuer.access_token_lifetime): a service's in every
    # scenario, an interactive application's where a rule lets one expire (APPC-20, APPC-22)
    access_token_lifetime: int = SHORT_LIFETIME
    # the app types Visma Connect gives refresh tokens with offline_access (issuer.refresh_token_app_types): the
    # seed pages say web only (II-31), docs.connect.visma.com names native too; the file declares which it keeps
    refresh_token_app_types: tuple[str, ...] = ("web",)

    @property
    def is_interactive(self) -> bool:
        return self.app_type in INTERACTIVE

    @property
    def sign_ins_at_once(self) -> int:
        """How many sign-ins the suite makes at the same time (appside.concurrent): drive.sign_ins_at_once, else
        one at a time for a native application whose every redirect URI names its port: it listens on that fixed
        loopback port, which nothing forbids (RFC 8252 section 7.3 has the server accept "any port", and asks no
        ephemeral one of the app), and a second sign-in at once finds the port taken (EADDRINUSE); else
        MOST_AT_ONCE."""
        if self.drive.sign_ins_at_once is not None:
            return self.drive.sign_ins_at_once
        fixed_port = self.app_type == "native" and all(urlsplit(uri).port for uri in self.redirect_uris)
        return 1 if fixed_port and self.redirect_uris else MOST_AT_ONCE

    @property
    def uses_pkce(self) -> bool:
        """SPA and native apps must; a web app does where its file declares it."""
        return self.app_type in ("spa", "native") or (self.app_type == "web" and self.pkce_declared)


def load_application(path: Path | str, environ: Mapping[str, str] = os.environ) -> Application:
    path = Path(path)
    raw = _read(path)
    secrets = FileSecrets(raw, environ, SECRET_KEYS, SCHEMA)
    problems = [line for e in schema_errors(raw, SCHEMA) for line in describe_each(e, HINTS, SECRET_KEYS)]
    if problems:  # with the keys its type requires: a misspelt key's right spelling is missing too
        problems = [_with_type_suggestion(line, raw) for line in problems]
        raise secrets.refusal(path, problems + [line for line in _missing_keys(raw) if line not in problems])
    # a public application's secret is wrong whatever it is: say so, not how to write or export it
    public_secret = _public_secret(raw)
    if public_secret:
        raw = {**raw, "application": {k: v for k, v in raw["application"].items() if k != "client_secret"}}
    problems += public_secret or _inline_secret(raw) + secrets.too_short()
    resolved, problems = every_problem(
        _with_defaults(raw, environ),
        environ,
        problems,
        lambda filled: [line for e in schema_errors(filled, SCHEMA) for line in describe_each(e, HINTS, SECRET_KEYS)],
        lambda filled: (
            _drive_problems(filled)
            + _command_paths(path, filled["drive"])
            + _output_file(filled)
            + _lifetime_problems(filled)
        ),
        SECRET_KEYS,
        SECRET_CARRIERS,
    )
    if problems:  # with the keys its type requires, read from the file as written
        raise secrets.refusal(path, problems + [line for line in _missing_keys(raw) if line not in problems])
    return _build(path, resolved)


def _read(path: Path) -> dict:
    missing = "no such application file" + (
        "" if path.is_absolute() else f" in {Path.cwd()} (a relative path is read from the folder the suite runs in)"
    )
    missing += "; see examples/*/application.yaml"
    return read_mapping(path, "application", missing, "examples/web_app/application.yaml")


def _public_secret(raw: dict) -> list[str]:
    app = raw["application"]
    if app["type"] in ("spa", "native") and "client_secret" in app:
        return [
            f"application.client_secret: a {app['type']} application is public and has no secret (Visma Connect "
            "registers none for it, and anything in a browser or an installed app is public); remove the key"
        ]
    return []


def _inline_secret(raw: dict) -> list[str]:
    """A secret given as anything but ${NAME} alone: ${NAME:-default} would write it inline too."""
    secret = raw.get("application", {}).get("client_secret")
    if isinstance(secret, str) and not re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", secret.strip()):
        return [
            "application.client_secret: a secret is written inline. Write `client_secret: ${APP_CLIENT_SECRET}` "
            "and export APP_CLIENT_SECRET instead"
        ]
    return []


def _with_defaults(node: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: _with_defaults(v, environ) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_defaults(v, environ) for v in node]
    if isinstance(node, str):
        # a variable that is set stays ${VAR}: resolve_variables fills it in and checks its value
        return DEFAULTED.sub(lambda m: f"${{{m.group(1)}}}" if environ.get(m.group(1)) else m.group(2), node)
    return node


def _drive_problems(raw: dict) -> list[str]:
    app, drive = raw["application"], raw["drive"]
    unusable = [line for key, url in _application_urls(app, drive).items() for line in url_problems(key, url)]
    if unusable:  # what follows reads their hosts and ports
        return unusable
    problems = [
        f"drive.{key}: at most {longest} seconds, as the server side's longest waits (found {cut(drive[key])}); "
        "write the seconds the application really needs"
        for key, longest in LONGEST_WAITS.items()
        if key in drive and float(drive[key]) > longest
    ]
    mode = drive.get("mode", "browser" if app["type"] in INTERACTIVE else "command")
    if app["type"] in INTERACTIVE and mode not in ("browser", "manual"):
        problems.append(f"drive.mode: {app['type']} applications are driven by `browser` or `manual`")
    problems += _missing_keys(raw)
    try:
        port = int((raw.get("issuer") or {}).get("port", 0))
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        problems.append("issuer.port: must be a port number, 0 to 65535 (0: any free port)")
    app_ports = {key: _port(url) for key, url in _application_urls(app, drive).items()}
    shared = next((key for key, app_port in app_ports.items() if port and app_port == port), None)
    if shared:
        # the stand-in would answer the application's own URLs: every rule would fail for want of a request
        problems.append(
            f"issuer.port: {port} is the application's own port ({shared}); the stand-in and the application "
            "cannot share it: choose another (0: any free port)"
        )
    for key in ("sign_in_url", "use_api_url", "url"):
        host = urlsplit(str(drive.get(key, "http://127.0.0.1"))).hostname or ""
        if not is_loopback(host):
            problems.append(
                f"drive.{key}: {host or 'no host'} is not this machine. The suite drives the application on "
                "loopback only (127.0.0.1 or localhost): run it here, or forward its port"
            )
    return problems


def _with_type_suggestion(line: str, raw: dict) -> str:
    """application.type's problem, with the type meant where the one written is a case or spelling variant
    of one ("SPA", "webapp": did you mean spa, web?)."""
    written = (raw.get("application") or {}).get("type") if isinstance(raw.get("application"), dict) else None
    if not line.startswith("application.type:") or not isinstance(written, str):
        return line
    meant = [t for t in TYPES if t == written.strip().lower()] or difflib.get_close_matches(
        written.strip().lower(), TYPES, n=1, cutoff=0.6
    )
    return f"{line}. Did you mean {meant[0]}?" if meant else line


def _missing_keys(raw: Any) -> list[str]:
    """The keys the application's type and drive.mode require beyond the schema's (drive.sign_in_url and
    drive.signed_in of a browser-driven application, a web or service application's client_secret, a service's
    drive.command): read where the file has the application's type and a drive section, even one the schema
    refused, so that every problem of the file is named at once."""
    app, drive = (raw.get("application"), raw.get("drive")) if isinstance(raw, dict) else (None, None)
    if not isinstance(app, dict) or not isinstance(drive, dict) or app.get("type") not in TYPES:
        return []  # which keys an unknown type requires is unknown: its own problem is the one to name
    problems = []
    mode = drive.get("mode", "browser" if app["type"] in INTERACTIVE else "command")
    if app["type"] in INTERACTIVE:
        for key in ("sign_in_url", "signed_in") if mode == "browser" else ("sign_in_url",):
            if key not in drive:
                problems.append(f"drive.{key}: missing. Add it: {HINTS[key]}")
        if app["type"] == "web" and "client_secret" not in app:
            problems.append(
                "application.client_secret: missing. A web application has a secret; the sandbox "
                "registers it as Visma Connect does"
            )
    else:
        if mode not in ("command", "url") or (mode not in drive and "command" not in drive and "url" not in drive):
            problems.append(f"drive.command: missing. Add it: {HINTS['command']} (or drive.url)")
        if "client_secret" not in app:
            problems.append("application.client_secret: missing. A service application has a secret")
    return problems


def _application_urls(app: dict, drive: dict) -> dict[str, str]:
    """The application's own addresses the file names, by key."""
    urls = {
        f"drive.{key}": str(drive[key]) for key in ("sign_in_url", "ready_url", "use_api_url", "url") if drive.get(key)
    }
    for index, uri in enumerate(app.get("redirect_uris") or ()):
        urls[f"application.redirect_uris[{index}]"] = str(uri)
    return urls


def _port(url: str) -> int | None:
    try:
        parts = urlsplit(url)
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None


def _command_paths(path: Path, drive: dict) -> list[str]:
    """A command's program given as a path must exist (the shell would say "not found", and every rule
    fail for it); a relative one is looked up from the folder the suite runs in (where `make
    certify-app` or `python -m appside` is started), not the application file's. Variables set
    before it (`NAME=value program`) are the shell's, not the program."""
    problems = []
    for key in ("launch", "command"):
        try:
            words = shlex.split(str(drive.get(key) or ""))
        except ValueError:
            problems.append(f"drive.{key}: not a command a shell can read (an unclosed quote?)")
            continue
        program = list(itertools.dropwhile(ASSIGNMENT.match, words))[:1]
        if not program:
            continue
        if "/" not in program[0]:
            problems += _not_on_path(path, key, program[0])
            continue
        if Path(program[0]).exists():
            continue
        if Path(program[0]).is_absolute():
            problems.append(f"drive.{key}: {program[0]} does not exist; write the path of the program to run")
            continue
        beside = path.resolve().parent / program[0]
        hint = f"; it is at {beside}: write that path" if beside.exists() else ""
        problems.append(
            f"drive.{key}: {program[0]} does not exist from {Path.cwd()}, the folder commands run from "
            f"(the one the suite was started in){hint}, or a path from that folder"
        )
    return problems


def _not_on_path(path: Path, key: str, program: str) -> list[str]:
    """A program named without a folder is looked for on PATH only, never in the folder the shell runs
    in: `run.sh` beside the suite is "not found" (exit 127) where `./run.sh` runs."""
    if program in SHELL_WORDS or not COMMAND_NAME.fullmatch(program) or shutil.which(program):
        return []
    here, beside = Path.cwd() / program, path.resolve().parent / program
    fix = (
        f"; it is at {here}: write ./{program}"
        if here.exists()
        else f"; it is at {beside}: write that path"
        if beside.exists()
        else ": write its path from that folder, or an absolute one"
    )
    return [
        f"drive.{key}: {program} is no command on PATH, and a shell looks for a program named without a folder "
        f"on PATH only, not in {Path.cwd()}, the folder commands run from{fix}"
    ]


def _output_file(raw: dict) -> list[str]:
    """drive.output_file need not exist before the run (the application may make it), its folder must;
    a relative one is read from the folder the suite runs in, as a command's program is. One that exists
    must be a regular file (appside.output_file: not /proc/self/environ, /dev/zero or a named pipe)."""
    output = raw["drive"].get("output_file")
    if output is None:
        return []
    if kind := not_regular(output):
        return [
            f"drive.output_file: {output} is {kind}, not a regular file; write the path of the file the "
            "application's output goes to (its log, or what `my-app 2>&1 | tee -a FILE` writes)"
        ]
    if Path(output).parent.resolve().is_dir():
        return []
    return [
        f"drive.output_file: the folder {Path(output).parent} does not exist from {Path.cwd()}, the folder the "
        "suite runs in; write the path of the file the application's output goes to"
    ]


def _lifetime_problems(raw: dict) -> list[str]:
    """issuer.access_token_lifetime given by a variable: its value in range (the schema checks a number written
    in the file)."""
    lifetime = (raw.get("issuer") or {}).get("access_token_lifetime")
    if lifetime is None or MIN_ACCESS_TOKEN_LIFETIME <= int(lifetime) <= MAX_ACCESS_TOKEN_LIFETIME:
        return []
    return [f"issuer.access_token_lifetime: {HINTS['access_token_lifetime']}, not {lifetime}"]


def _build(path: Path, raw: dict) -> Application:
    app, drive = raw["application"], dict(raw["drive"])
    drive.setdefault("mode", "browser" if app["type"] in INTERACTIVE else ("url" if "url" in drive else "command"))
    if "signed_in" in drive:
        drive["signed_in"] = Marker(**drive["signed_in"])
    for key in ("timeout", "settle"):
        if key in drive:
            drive[key] = float(drive[key])
    return Application(
        name=raw["name"],
        path=path,
        app_type=app["type"],
        client_id=app["client_id"],
        client_secret=app.get("client_secret"),
        redirect_uris=tuple(app.get("redirect_uris", ())),
        scope=app["scope"],
        tenant_id=app.get("tenant_id"),
        pkce_declared=app.get("pkce", False),
        issuer_port=int((raw.get("issuer") or {}).get("port", 0)),
        issuer_tls=(raw.get("issuer") or {}).get("tls", False),
        access_token_lifetime=int((raw.get("issuer") or {}).get("access_token_lifetime", SHORT_LIFETIME)),
        refresh_token_app_types=tuple((raw.get("issuer") or {}).get("refresh_token_app_types", ("web",))),
        drive=Drive(**drive),
    )
