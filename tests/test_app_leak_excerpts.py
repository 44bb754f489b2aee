"""APPC-28's evidence shows the credential it found, masked, and names every one the output carried. Flask-pyoidc
logs `http_request failed: HTTPSConnectionPool(...) (Caused by SSLError(...))` with the request's headers at the end
of a line of 600 characters, and requests' http.client debug prints `send: b'POST ...\\r\\n...Authorization: Basic
...'`: the head of the line stopped before the header it leaked. Perl's Data::Dumper of a token object prints its
client secret and, lines later, its access token: only the first was named."""

import base64
import secrets
from types import SimpleNamespace

import pytest
from app_runs import one_redemption

from appside.steps.leaks import nothing_secret_in_output
from suite.secrets.redaction import REDACTOR
from suite.verdict.checks import NonConformance

CLIENT_ID = "acme-pyoidc-web"


def _application(output_file: str, client_secret: str) -> SimpleNamespace:
    drive = SimpleNamespace(use_api_url=None, output_file=output_file, command=None, url=None, mode="manual")
    return SimpleNamespace(
        client_id=CLIENT_ID, app_type="web", is_interactive=True, client_secret=client_secret, drive=drive
    )


def _reason(tmp_path, written: str, client_secret: str, access_token: str) -> str:
    output = tmp_path / "app.log"
    output.write_text(written)
    request = SimpleNamespace(config=SimpleNamespace(launched=None, output_file_start=0))
    with pytest.raises(NonConformance) as failed:
        nothing_secret_in_output(request, _application(str(output), client_secret), one_redemption(access_token))
    return str(failed.value)


def test_appc28_shows_the_masked_credential_where_it_lies_beyond_the_head_of_the_line(tmp_path):
    secret = f"Abc+def 123{secrets.token_hex(4)}"
    REDACTOR.register(secret, "application.client_secret")
    basic = base64.b64encode(f"{CLIENT_ID}:{secret.replace('+', '%2B').replace(' ', '+')}".encode()).decode()
    REDACTOR.register(basic, "Authorization credentials")
    line = (
        "ERROR:oic.oauth2.base:http_request failed: HTTPSConnectionPool(host='localhost', port=12920): Max retries "
        "exceeded with url: /connect/token (Caused by SSLError(SSLCertVerificationError(1, '[SSL: "
        "CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1000)'"
        ")))"
        + " " * 120
        + "'data': 'grant_type=authorization_code&code=c0de-4711-issued', "
        + " " * 120
        + f"'headers': {{'Authorization': 'Basic {basic}', 'Content-Type': 'application/x-www-form-urlencoded'}}"
        ", 'timeout': 5.0" + " " * 120
    )
    REDACTOR.register("c0de-4711-issued", "authorization code")  # masked too, and no credential: not the window's
    reason = _reason(tmp_path, f"started\n{line}\n", secret, secrets.token_urlsafe(32))
    assert "wrote its client secret to drive.output_file" in reason and 'line 2: "…' in reason, reason
    assert "'Authorization': 'Basic [" in reason and reason.endswith('…"'), reason
    assert secret not in reason and basic not in reason


def test_appc28_names_every_credential_the_output_carried_each_with_the_first_line_that_showed_it(tmp_path):
    secret, token = f"Pb1 secret-{secrets.token_hex(4)}", secrets.token_urlsafe(32)
    REDACTOR.register(secret, "application.client_secret")
    REDACTOR.register(token, "access_token")
    dumped = (
        "got access token, expires in 3s\n$VAR1 = bless( {\n"
        f"                 'NOP_secret_enc' => '{secret}',\n                 'expires_in' => 3,\n"
        f"                 'access_token' => '{token}',\n               }}, 'Net::OAuth2::AccessToken' );\n"
    )
    reason = _reason(tmp_path, dumped, secret, token)
    assert "wrote its client secret and access token to drive.output_file" in reason, reason
    assert "line 3: " in reason and "line 5 (issued in the sign-in " in reason, reason
    assert secret not in reason and token not in reason
