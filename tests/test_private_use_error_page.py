"""RFC 6749 section 4.1.2.1: a server "MUST NOT automatically redirect the user-agent to the invalid
redirection URI". A native app's private-use-scheme URI (com.example.native:/callback, RFC 8252 section
7.1) has no host, so its parent path com.example.native:/ names no server: the same-origin scripts of an
error page (LemonLDAP::NG 2.16's `/javascript/jquery/jquery.min.js`, `/psgi.js`) send the browser to its
own server, never there, and AUTH-05 passes. A page that really names the URI still fails."""

import json

import pytest
from faulty_servers import FaultyProxy
from run import run_suite, write_environment

from sandbox import SandboxServer
from sandbox.registry import INTERACTIVE_SCOPES, Application, Registry, User
from suite.wire.login.html_forms import forwards_to

NATIVE_URI = "com.example.native:/callback"

ENVIRONMENT = """name: private-use-native
issuer: {issuer}
clients:
  native:
    client_id: native-client
    redirect_uri: com.example.native:/callback
    scope: openid profile email
login:
  method: form
  username: test.user
  password: ${{T_PASSWORD}}
"""

SAME_ORIGIN_SCRIPTS = b'<script src="/javascript/jquery/jquery.min.js"></script><script src="/psgi.js"></script>'


def test_same_origin_scripts_name_no_private_use_uri_and_an_absolute_one_does():
    page = SAME_ORIGIN_SCRIPTS.decode()
    assert forwards_to(page, "com.example.native:/") is None
    assert forwards_to(
        page + '<meta http-equiv="refresh" content="0;url=com.example.native:/">', "com.example.native:/"
    )
    assert forwards_to('<form action="https://web.app.local/"></form>', "https://web.app.local/")


@pytest.mark.parametrize(
    "added, status",
    [(SAME_ORIGIN_SCRIPTS, "passed"), (b'<script>location="com.example.native:/?code=x"</script>', "failed")],
)
def test_auth05_judges_what_an_error_page_sends_to_a_private_use_uri(tmp_path, added, status):
    def with_scripts(method, path, status, headers, body):
        if path.startswith("/connect/authorize") and status == 400:
            body = body.replace(b"</body>", added + b"</body>") if b"</body>" in body else body + added
        return status, headers, body

    registry = Registry()
    registry.add(Application("native-client", "native", redirect_uris=(NATIVE_URI,), scopes=INTERACTIVE_SCOPES))
    registry.add_user(User("test.user", "sandbox-password"))
    proxy = FaultyProxy(rewrite=with_scripts)
    sandbox = SandboxServer(registry, issuer=proxy.url).start()
    proxy.target = sandbox.url
    record = tmp_path / "compliance.json"
    try:
        environment = write_environment(tmp_path, ENVIRONMENT.format(issuer=proxy.url))
        result = run_suite(
            f"--env={environment}",
            f"--compliance={record}",
            "-p",
            "no:xdist",
            "--rule=AUTH-05",
            "-k",
            "parent",
            environ={"T_PASSWORD": "sandbox-password"},
        )
    finally:
        proxy.close()
        sandbox.stop()
    (rule,) = [r for r in json.loads(record.read_text())["rules"] if r["rule_id"] == "AUTH-05"]
    assert rule["status"] == status, result.stdout[-3000:]
