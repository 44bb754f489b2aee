"""A reproduction a person can paste into a shell: the request of one exchange as a curl command.

- Secrets are `$VARIABLE` references, named as in the environment file (`${VISMA_WEB_SECRET}`
  there is `$VISMA_WEB_SECRET` here); a secret written inline (the sandbox's) gets a variable
  named after its place in the file. The snippet's first lines say what to export, and a command
  pasted without the export stops with that message (`${VAR:?...}`), not sending an empty secret.
- No cookies: a token request does not need the browser's session, and a cookie is a credential.
- Values that work once (an authorization code, the verifier that goes with it) cannot be replayed
  from the report: when the scenario's authorization request is known, the snippet makes a new
  verifier, prints that authorization request with its challenge (one sent by POST: writes it as a
  page with a form to open and submit), and reads the code the browser ends on; otherwise it says
  plainly where the value comes from.
- Tokens issued during the run (access, refresh, ID) are placeholders that say which response
  they come from: the snippet cannot mint them. A token or code the suite made up on purpose
  (MADE_UP) is sent as it was.
- The server is `$SERVER`: the issuer's origin by default, and for the embedded sandbox, whose
  random port closed with the run, one the person starts and names (`python -m sandbox`).
- A sign-in it asks for names the test user as the environment file does: its variables, or the
  user name written there."""

import base64
import re
import shlex
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from urllib.parse import parse_qsl, quote_plus, unquote_plus, urlencode, urlsplit, urlunsplit

import yaml

from suite.secrets.redaction import REDACTOR
from suite.secrets.variants import case_changed
from suite.wire.login.html_forms import post_form_page

_VARIABLE = re.compile(r"^\$\{(\w+)\}$")
_DROPPED_HEADERS = {"user-agent", "accept-encoding", "connection", "content-length", "cookie", "accept"}
# Issued during the run; the snippet names the response they come from.
TOKEN_PLACEHOLDERS = {
    "refresh_token": (
        "REFRESH_TOKEN",
        "the refresh_token of the code's token response: this snippet cannot "
        "mint one; run the scenario's code redemption snippet first",
    ),
    "token": (
        "TOKEN",
        "the token to revoke: the access_token or refresh_token of an earlier token response; "
        "this snippet cannot mint one",
    ),
    "id_token_hint": ("ID_TOKEN", "the id_token of the code's token response; this snippet cannot mint one"),
    "access_token": (
        "ACCESS_TOKEN",
        "the access_token of a token response; this snippet cannot mint one: "
        "run the scenario's token request snippet first",
    ),
}
# Values the suite makes up on purpose, issued by no server (SVC-13's refresh token, the code nobody issued
# that shows whether a client authenticates): the snippet sends them as they were sent, with no flow to run.
MADE_UP = ("made-up-", "never-issued-")
VERIFIER_COMMAND = "CODE_VERIFIER=$(openssl rand -hex 32)  # 64 characters, as RFC 7636 section 4.1 asks"
S256_COMMAND = (
    'CODE_CHALLENGE=$(printf %s "$CODE_VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A '
    "| tr '+/' '-_' | tr -d '=')"
)


@dataclass
class SecretVariables:
    """Which variable holds each secret of the environment: the REDACTOR's label -> variable."""

    file: str = "the environment file"
    names: dict = field(default_factory=dict)  # "clients.web.client_secret" -> "VISMA_WEB_SECRET"
    values: dict = field(default_factory=dict, repr=False)  # the secret -> its label
    issuer: str = ""  # the environment's issuer ("" for the embedded sandbox until it starts)
    embedded_sandbox: bool = False  # its port closes with the run: the person starts another
    test_user: str = ""  # how the environment file names the test user: "$VISMA_TEST_USERNAME", "test.user"

    def variable(self, value: str) -> tuple[str, str] | None:
        label = self.values.get(value)
        return (self.names[label], label) if label else None


SECRETS = SecretVariables()


def remember_secret_variables(environment) -> None:
    """Read once per run: the variables the environment file names its secrets by."""
    try:
        raw = yaml.safe_load(Path(environment.path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, TypeError):
        raw = {}
    path = Path(environment.path).resolve()
    root = Path(__file__).resolve().parents[2]
    SECRETS.file = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    for role, client in environment.clients.items():
        if client.client_secret:
            written = ((raw.get("clients") or {}).get(role) or {}).get("client_secret")
            _name(f"clients.{role}.client_secret", client.client_secret, written, f"{role}_CLIENT_SECRET")
    if environment.login and environment.login.password:
        written = (raw.get("login") or {}).get("password")
        _name("login.password", environment.login.password, written, "LOGIN_PASSWORD")
    SECRETS.issuer, SECRETS.embedded_sandbox = environment.issuer or "", environment.is_sandbox
    if environment.login and environment.login.username:
        written = str((raw.get("login") or {}).get("username") or "")
        match = _VARIABLE.match(written)
        SECRETS.test_user = f"${match.group(1)}" if match else environment.login.username


def _name(label: str, value: str, written, fallback: str) -> None:
    match = _VARIABLE.match(str(written or ""))
    SECRETS.names[label] = match.group(1) if match else re.sub(r"\W", "_", fallback).upper()
    SECRETS.values[value] = label


def snippet(method: str, url: str, headers: dict, body: str, authorization: object = None) -> str:
    """The shell lines that repeat this request; `authorization` is the scenario's authorization
    request (params, verifier), when there was one."""
    exports: dict[str, str] = {}
    setup, args = _server_lines(url), [f"curl -i -X {method}"]
    form = dict(parse_qsl(body, keep_blank_values=True)) if body and _is_form(headers) else None
    needs_flow = bool(form and (_issued(form.get("code")) or "code_verifier" in form))
    if needs_flow and form is not None:
        setup += _replayed_authorization(authorization, form)
    args[0] += " " + _quoted_url(url)
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in _DROPPED_HEADERS or (lowered == "content-type" and form is not None):
            continue
        if lowered == "authorization":
            args += _authorization_header(value, exports, setup)
        else:
            args.append("-H " + shlex.quote(f"{name}: {REDACTOR.scrub(value)}"))
    if form is not None:
        for key, value in form.items():
            args.append("--data-urlencode " + _form_field(key, value, authorization, exports, setup))
    elif body:
        args.append("--data-raw " + shlex.quote(REDACTOR.scrub(body)))
    lines = [f"# export {variable}=...   # {meaning}" for variable, meaning in exports.items()]
    return "\n".join(lines + setup + [" \\\n  ".join(args)])


def _is_form(headers: dict) -> bool:
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded"


def _replayed_authorization(authorization, form: dict) -> list[str]:
    if authorization is None or not authorization.params:
        return [
            "# The code and its verifier worked once and are gone; this snippet cannot replay the sign-in",
            "# that issued them. Sign in again and export AUTHORIZATION_CODE and CODE_VERIFIER.",
        ]
    params = dict(authorization.params)
    lines = ["# An authorization code works once, for minutes: sign in again to get a new one."]
    if params.get("code_challenge"):
        lines.append(VERIFIER_COMMAND)
        lines.append(
            S256_COMMAND
            if params.get("code_challenge_method") == "S256"
            else 'CODE_CHALLENGE="$CODE_VERIFIER"  # the plain method: the challenge is the verifier'
        )
        params["code_challenge"] = "CODE_CHALLENGE_HERE"
    if "nonce" in params:
        params["nonce"] = "NONCE_HERE"
    endpoint = authorization.endpoint if getattr(authorization, "endpoint", None) else "AUTHORIZATION_ENDPOINT"
    if getattr(authorization, "method", "GET") == "POST":
        return lines + _posted_authorization(endpoint, params)
    url = shlex.quote(f"{endpoint}?{urlencode(params)}")
    url = url.replace("CODE_CHALLENGE_HERE", "'\"$CODE_CHALLENGE\"'").replace(
        "NONCE_HERE", "'\"$(openssl rand -hex 16)\"'"
    )
    url = _on_server(f"{endpoint}?{urlencode(params)}", url)
    user = _test_user()
    lines += [
        f"echo {shlex.quote(f'Open this in a browser and sign in as the test user{user}:')}",
        f"echo {url}",
        "printf 'Paste the code= value of the address the browser ends on: '; read -r AUTHORIZATION_CODE",
    ]
    return lines


def _posted_authorization(endpoint: str, params: dict) -> list[str]:
    """An authorization request sent by POST (OpenID Connect Core section 3.1.2.1) is repeated as it was
    sent: a page with the request as a form, written by an unquoted here-document so that the new
    challenge, a new nonce and $SERVER go in (everything else escaped), for the person to open and submit."""
    served = _on_server(endpoint, endpoint)  # '"$SERVER"/connect/authorize' where the server is $SERVER
    page = post_form_page("ENDPOINT_HERE" if served != endpoint else endpoint, params)
    page = (
        _literal_in_here_document(page)
        .replace(
            "ENDPOINT_HERE", "${SERVER}" + _literal_in_here_document(escape(served[len('"$SERVER"') :].strip("'")))
        )
        .replace("CODE_CHALLENGE_HERE", "$CODE_CHALLENGE")
        .replace("NONCE_HERE", "$(openssl rand -hex 16)")
    )
    user = _test_user()
    return [
        "cat > authorization-request.html <<AUTHORIZATION_REQUEST",
        page,
        "AUTHORIZATION_REQUEST",
        "echo "
        + shlex.quote(
            "The authorization request goes by POST: open authorization-request.html (in this folder) in a "
            f"browser, press its button and sign in as the test user{user}."
        ),
        "printf 'Paste the code= value of the address the browser ends on: '; read -r AUTHORIZATION_CODE",
    ]


def _literal_in_here_document(text: str) -> str:
    """`text` as an unquoted here-document keeps it: no expansion, no command substitution."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")


def _quoted_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return _on_server(url, shlex.quote(REDACTOR.scrub(url)))
    query = [(k, _placeholder_name(k, v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return _on_server(url, shlex.quote(REDACTOR.scrub(urlunsplit(parts._replace(query=urlencode(query))))))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _server_lines(url: str) -> list[str]:
    """SERVER: where the request goes. The embedded sandbox's port closed with the run."""
    if SECRETS.embedded_sandbox:
        return [
            "SERVER=\"${SERVER:?the run's sandbox has stopped: start one (.venv/bin/python -m sandbox --port 8080) "
            'and export SERVER=http://127.0.0.1:8080}"'
        ]
    return [f'SERVER="${{SERVER:-{_escaped(_origin(SECRETS.issuer or url))}}}"  # the server under test']


def _on_server(url: str, quoted: str) -> str:
    """The quoted URL with the server's origin as "$SERVER": 'http://h:1/connect/token' becomes
    "$SERVER"'/connect/token' (the rest of the quoting, "$CODE_CHALLENGE" and all, as it was)."""
    origin = _origin(url)
    if not (SECRETS.embedded_sandbox or _origin(SECRETS.issuer or url) == origin):
        return quoted
    if quoted.startswith("'" + origin):
        rest = quoted[1 + len(origin) :]
        return '"$SERVER"' + ("" if rest == "'" else "'" + rest)
    if quoted.startswith(origin):
        return '"$SERVER"' + quoted[len(origin) :]
    return quoted


def _test_user() -> str:
    """ " ($VISMA_TEST_USERNAME, password $VISMA_TEST_PASSWORD from environments/x.yaml)", as the file names them."""
    if not SECRETS.test_user:
        return ""
    password = SECRETS.names.get("login.password")
    return f" {SECRETS.test_user}" + (f" (password: ${password} from {SECRETS.file})" if password else "")


def _placeholder_name(key: str, value: str) -> str:
    return f"<{TOKEN_PLACEHOLDERS[key][1]}>" if key in TOKEN_PLACEHOLDERS else value


def _authorization_header(value: str, exports: dict, setup: list) -> list[str]:
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(credentials).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return ["-H " + shlex.quote("Authorization: " + REDACTOR.scrub(value))]
        # The suite form-urlencodes both before Basic encoding (RFC 6749 section 2.3.1); curl's -u does
        # not, so a secret that the encoding changes is encoded in the snippet (jq's @uri).
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        reference = _secret_reference(secret, exports, setup)
        if quote_plus(secret, safe="") != secret:
            reference = f'$(printf %s "{reference}" | jq -sRr @uri)'
        return [f"-u {_double_quoted(_escaped(quote_plus(client_id, safe='')) + ':' + reference)}"]
    if scheme.lower() == "bearer":
        variable, meaning = TOKEN_PLACEHOLDERS["access_token"]
        exports[variable] = meaning
        return [f'-H "Authorization: Bearer {_exported(variable)}"']
    return ["-H " + shlex.quote(f"Authorization: {REDACTOR.scrub(value)}")]


def _issued(value: str | None) -> bool:
    """Whether a code or token sent was one the server issued (not one the suite made up: MADE_UP)."""
    return value is not None and not value.startswith(MADE_UP)


def _form_field(key: str, value: str, authorization, exports: dict, setup: list) -> str:
    if key in ("code", *TOKEN_PLACEHOLDERS) and not _issued(value):
        return shlex.quote(f"{key}={value}")
    if key == "code":
        return '"code=$AUTHORIZATION_CODE"'
    if key == "code_verifier":
        if authorization is not None and value == authorization.verifier:
            return '"code_verifier=$CODE_VERIFIER"'
        setup.append(
            "OTHER_VERIFIER=$(openssl rand -hex 32)  # on purpose not the verifier of the authorization request"
        )
        return '"code_verifier=$OTHER_VERIFIER"'
    if key in TOKEN_PLACEHOLDERS:
        variable, meaning = TOKEN_PLACEHOLDERS[key]
        exports[variable] = meaning
        return f'"{key}={_exported(variable)}"'
    if REDACTOR.is_secret_field(key) and value:
        return _double_quoted(f"{_escaped(key)}={_secret_reference(value, exports, setup)}")
    return shlex.quote(f"{key}={REDACTOR.scrub(value)}")


def _secret_reference(value: str, exports: dict, setup: list) -> str:
    """`$VARIABLE` for a secret of the environment. Any other value in a secret's place is a wrong
    secret the scenario sends on purpose: the snippet makes a new wrong one (a value the server
    saw as a secret is never printed)."""
    found = SECRETS.variable(value)
    if found is None and not SECRETS.values:  # no environment file in this run (the application side)
        exports["SECRET"] = "the secret that was sent here"
        return _exported("SECRET")
    if found is None:
        return _wrong_secret_reference(value, exports, setup)
    variable, label = found
    exports[variable] = f"{label} in {SECRETS.file}"
    return _exported(variable)


def _wrong_secret_reference(value: str, exports: dict, setup: list) -> str:
    """A secret of the environment with its letters' case changed (SVC-08) is made from it as the suite
    made it; any other wrong secret is a new random one."""
    original = case_changed(value)
    found = SECRETS.variable(original) if original is not None else None
    if found is None:
        line = "WRONG_SECRET=$(openssl rand -hex 16)  # on purpose not the client's secret"
        variable = "WRONG_SECRET"
    else:
        exports[found[0]] = f"{found[1]} in {SECRETS.file}"
        line = (
            f'CASE_CHANGED_SECRET=$(printf %s "{_exported(found[0])}" | tr a-zA-Z A-Za-z)  # its letters\' case changed'
        )
        variable = "CASE_CHANGED_SECRET"
    if line not in setup:
        setup.append(line)
    return f"${variable}"


def _exported(variable: str) -> str:
    """A variable the person exports: pasted without it, the command stops with this message
    instead of sending an empty secret that the server would refuse for the wrong reason."""
    return f"${{{variable}:?export {variable} first (see the lines above)}}"


def _escaped(text: str) -> str:
    """Text that stays itself inside double quotes."""
    return re.sub(r'([\\"$`])', r"\\\1", text)


def _double_quoted(text: str) -> str:
    """In double quotes, so that the $VARIABLE inside expands; the rest was escaped already."""
    return f'"{text}"'
