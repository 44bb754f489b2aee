"""Applications on client libraries the reference applications do not use, certified with a secret
of every character class: a service on requests-oauthlib's OAuth2Session (client_credentials
through oauthlib's BackendApplicationClient, over the stand-in's HTTPS) and one on httpx. Clean,
each must be conformant; with one defect, exactly the rule that owns it fails, naming it."""

import json
import os
import sys
import textwrap

import pytest
from run import certify_forked

from appside.matrix import special_secret
from appside.record import UNCHECKED
from appside.stand_in import free_port

pytest.importorskip("requests_oauthlib", reason="requests-oauthlib (requirements.txt) is not installed")
pytest.importorskip("httpx", reason="httpx (requirements.txt) is not installed")

TENANT = "af1140c1-52e0-46c7-b684-df894d4b8a5a"

REQUESTS_OAUTHLIB_SERVICE = """
import os, sys
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

issuer, client_id, secret = os.environ["VISMA_CONNECT_ISSUER"], "third-party-service", os.environ["TP_SECRET"]
session = OAuth2Session(client=BackendApplicationClient(client_id=client_id, scope=["visma_api:read"]))
token_endpoint = session.get(issuer + "/.well-known/openid-configuration").json()["token_endpoint"]
if os.environ.get("TP_DEFECT") == "library-default-basic":
    # requests-oauthlib's default: HTTP Basic from the id and secret as they are (RFC 6749 2.3.1 encodes them)
    session.fetch_token(token_endpoint, client_id=client_id, client_secret=secret, tenant_id="{tenant}")
else:  # client_secret_post: the secret in the form body, which the library form-encodes
    session.fetch_token(token_endpoint, client_id=client_id, client_secret=secret, include_client_id=True,
                        tenant_id="{tenant}")
answer = session.get(os.environ["VISMA_API_BASE_URL"] + "/v1/companies")
print("Visma API answered", answer.status_code)
sys.exit(answer.status_code != 200)
""".replace("{tenant}", TENANT)

HTTPX_SERVICE = """
import os, sys
from urllib.parse import quote_plus
import httpx

issuer, client_id, secret = os.environ["VISMA_CONNECT_ISSUER"], "third-party-service", os.environ["TP_SECRET"]
form = {"grant_type": "client_credentials", "scope": "visma_api:read", "tenant_id": "{tenant}"}
with httpx.Client(verify=os.environ.get("VISMA_CONNECT_CA_BUNDLE", True)) as http:
    token_endpoint = http.get(issuer + "/.well-known/openid-configuration").json()["token_endpoint"]
    auth = httpx.BasicAuth(quote_plus(client_id), quote_plus(secret))  # RFC 6749 section 2.3.1
    if os.environ.get("TP_DEFECT") == "get-with-secret":  # as curl -G --data-urlencode client_secret=... does
        response = http.get(token_endpoint, params={**form, "client_id": client_id, "client_secret": secret})
    elif os.environ.get("TP_DEFECT") == "params-in-query":
        response = http.post(token_endpoint, params=form, auth=auth,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        response = http.post(token_endpoint, data=form, auth=auth)
    if response.status_code != 200:
        sys.exit(f"token refused: HTTP {response.status_code}")
    answer = http.get(os.environ["VISMA_API_BASE_URL"] + "/v1/companies",
                      headers={"Authorization": "Bearer " + response.json()["access_token"]})
print("Visma API answered", answer.status_code)
sys.exit(answer.status_code != 200)
""".replace("{tenant}", TENANT)


# Authlib's OAuth2Session as its documentation shows it for client_credentials: its default leeway (60 s) takes
# the stand-in's 3-second service tokens as expired already, so every API call raises InvalidTokenError
# (docs/client-libraries.md); TP_DEFECT=never-exits: it then waits for ever
AUTHLIB_SERVICE = """
import os, time
from authlib.integrations.requests_client import OAuth2Session

issuer = os.environ["VISMA_CONNECT_ISSUER"]
session = OAuth2Session("third-party-service", os.environ["TP_SECRET"], scope="visma_api:read",
                        token_endpoint_auth_method="client_secret_post")
session.verify = os.environ.get("VISMA_CONNECT_CA_BUNDLE", True)
token_endpoint = session.get(issuer + "/.well-known/openid-configuration", withhold_token=True).json()["token_endpoint"]
session.fetch_token(token_endpoint, grant_type="client_credentials", tenant_id="{tenant}")
if os.environ.get("TP_DEFECT") == "never-exits":
    time.sleep(3600)
print("Visma API answered", session.get(os.environ["VISMA_API_BASE_URL"] + "/v1/companies").status_code)
""".replace("{tenant}", TENANT)


def _certify(tmp_path, client: str, secret: str, defect: str = "", tls: bool = True, timeout: int = 20) -> dict:
    (tmp_path / "client.py").write_text(client)
    (tmp_path / "application.yaml").write_text(
        textwrap.dedent(f"""\
        name: third-party service
        application:
          type: service
          client_id: third-party-service
          client_secret: ${{TP_SECRET}}
          scope: visma_api:read
          tenant_id: {TENANT}
        issuer: {{tls: {"true" if tls else "false"}}}
        drive: {{mode: command, command: {sys.executable} {tmp_path / "client.py"}, timeout: {timeout}}}
        """)
    )
    completed = certify_forked(
        f"--app={tmp_path / 'application.yaml'}",
        f"--compliance={tmp_path / 'record.json'}",
        "-q",
        "-p",
        "no:cacheprovider",
        environ={**os.environ, "TP_SECRET": secret, "TP_DEFECT": defect},
        timeout=300,
    )
    assert (tmp_path / "record.json").exists(), completed.stdout[-2000:] + completed.stderr[-2000:]
    return json.loads((tmp_path / "record.json").read_text())


def _reason(record: dict, rule_id: str) -> str:
    return next(r for r in record["rules"] if r["rule_id"] == rule_id)["scenarios"][0]["reason"]


@pytest.mark.timeout(300)
def test_a_requests_oauthlib_service_with_a_secret_of_every_character_class_is_conformant(tmp_path):
    record = _certify(tmp_path, REQUESTS_OAUTHLIB_SERVICE, special_secret())
    assert record["verdict"] == "conformant", record["failed_rules"]
    rule = next(r for r in record["rules"] if r["rule_id"] == "APPC-12")
    assert rule["scenarios"][0]["client_authentication"] == "client_secret in the form body"


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "secret, named",
    [
        (
            "ASCII+secret%41with:all;that&ascii?has~" + "x" * 20,
            "without the application/x-www-form-urlencoded encoding",
        ),
        ("latin-1-secret-" + "\u00e9" * 3 + "x" * 20, "not UTF-8"),  # requests writes str credentials as latin-1
    ],
    ids=["percent-and-plus", "latin-1"],
)
def test_requests_oauthlibs_default_basic_fails_appc_12_by_rfc_6749_2_3_1_when_the_secret_needs_encoding(
    tmp_path, secret, named
):
    """requests-oauthlib's default HTTP Basic joins the id and secret as they are: the stand-in,
    reading the header as Visma Connect does, gets another secret ("%41" is "A", "+" a space), or
    bytes that are not UTF-8. (A secret beyond latin-1 makes requests itself fail before sending.)"""
    record = _certify(tmp_path, REQUESTS_OAUTHLIB_SERVICE, secret, "library-default-basic")
    # its runs exited 1 (the token refused): the rules that judge what the token request carried are judged on
    # it (APPC-13, APPC-24 pass), those that need a working token are blocked by APPC-12
    assert (record["failed_rules"], record["blocked_rules"]) == (["APPC-12"], ["APPC-20", "APPC-26", "APPC-28"])
    assert named in _reason(record, "APPC-12") and "RFC 6749 section 2.3.1" in _reason(record, "APPC-12")


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "client, tls, named",
    [
        (REQUESTS_OAUTHLIB_SERVICE, False, ["InsecureTransportError", "OAUTHLIB_INSECURE_TRANSPORT=1"]),
        ("raise SystemExit(1)", True, ["exited 1 and printed nothing", "VISMA_CONNECT_ISSUER"]),
    ],
    ids=["requests-oauthlib-over-http", "exits-at-once"],
)
def test_a_service_that_sends_no_request_could_not_be_checked_naming_its_error_and_the_fix(
    tmp_path, client, tls, named
):
    """requests-oauthlib refuses an issuer on plain http before it sends its token request, a command
    may fail before any: no request breaks no sentence of APPC-12, and is no evidence for it either."""
    record = _certify(tmp_path, client, special_secret(), tls=tls)
    assert record["verdict"].startswith("incomplete"), record["verdict"]
    assert (record["failed_rules"], record["blocked_rules"]) == ([], [])
    assert {"APPC-11", "APPC-12", "APPC-13", "APPC-24"} <= set(record["unchecked_rules"])
    reason = _reason(record, "APPC-12")
    assert reason.startswith(UNCHECKED) and "no token request and no API call" in reason
    assert all(words in reason for words in named), reason


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "defect, said",
    [("", ["exited 1", "InvalidTokenError"]), ("never-exits", ["did not finish within 4 s"])],
    ids=["authlib-exits-1", "never-exits"],
)
def test_a_service_whose_every_run_fails_passes_no_rule(tmp_path, defect, said):
    """An Authlib service that fetched its token and then failed every run (InvalidTokenError: it never called
    the API), or that never finished, was certified CONFORMANT, APPC-20 "passed": a failed run is no evidence
    that a rule holds. Each rule judged on what the run did after its token request could not be checked, saying
    how the run ended, and the record's notices say it once. What the token request carried is there all the
    same (APPC-11, -12, -13, -24 judge it), and APPC-33 judges a run of its own."""
    record = _certify(tmp_path, AUTHLIB_SERVICE, special_secret(), defect, timeout=4)
    assert record["verdict"].startswith("incomplete"), record["verdict"]
    passed = [rule["rule_id"] for rule in record["rules"] if rule["status"] == "passed"]
    assert set(passed) <= {"APPC-11", "APPC-12", "APPC-13", "APPC-24", "APPC-33"}, passed
    assert record["failed_rules"] == [], record["failed_rules"]
    assert {"APPC-26", "APPC-28"} <= set(record["unchecked_rules"])
    reason = _reason(record, "APPC-20")  # a warning-level rule: could not be checked too
    assert reason.startswith(UNCHECKED) and "the service's run(s) failed" in reason, reason
    assert all(words in reason for words in said), reason
    assert any(all(words in notice for words in said) for notice in record["notices"]), record["notices"]


@pytest.mark.timeout(300)
def test_an_httpx_service_encoding_basic_per_the_rfc_is_conformant(tmp_path):
    record = _certify(tmp_path, HTTPX_SERVICE, special_secret())
    assert record["verdict"] == "conformant", record["failed_rules"]


@pytest.mark.timeout(300)
def test_an_httpx_service_sending_its_parameters_in_the_url_fails_appc_12(tmp_path):
    record = _certify(tmp_path, HTTPX_SERVICE, special_secret(), "params-in-query")
    assert (record["failed_rules"], record["blocked_rules"]) == (
        ["APPC-12"],
        ["APPC-13", "APPC-20", "APPC-26", "APPC-28"],
    )
    assert "grant_type, scope, tenant_id in the URL query with an empty form body" in _reason(record, "APPC-12")


@pytest.mark.timeout(300)
def test_a_token_request_sent_with_get_fails_appc_11_once_and_blocks_appc_12(tmp_path):
    """A GET puts the secret in the URL with every parameter: one choice, one failure (APPC-11, whose
    message names the GET), APPC-12 blocked by it, as a secret in a POST's URL is."""
    record = _certify(tmp_path, HTTPX_SERVICE, special_secret(), "get-with-secret")
    assert record["failed_rules"] == ["APPC-11"] and "APPC-12" in record["blocked_rules"], record["failed_rules"]
    assert "a token request sent with GET" in _reason(record, "APPC-11")
    assert _reason(record, "APPC-12").startswith("blocked by APPC-11: ")  # its own account stays in its Allure case


REQUESTS_OAUTHLIB_WEB = """
import base64, json, os, secrets, time
import requests
from flask import Flask, redirect, request, session
from markupsafe import escape
from requests_oauthlib import OAuth2Session

os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # the stand-in and the app are on http loopback
ISSUER, API = os.environ["VISMA_CONNECT_ISSUER"], os.environ["VISMA_API_BASE_URL"]
PORT, CLIENT_ID, SECRET = int(os.environ["TP_PORT"]), "third-party-web", os.environ["TP_SECRET"]
REDIRECT_URI = f"http://127.0.0.1:{PORT}/callback"
META = requests.get(ISSUER + "/.well-known/openid-configuration", timeout=10).json()
PENDING, TOKENS = {}, {}
app = Flask(__name__)
app.secret_key = secrets.token_bytes(32)


def page(body, status=200):
    return f"<!doctype html><title>third-party web app</title><body>{body}</body>", status


def oauth(state=None):
    return OAuth2Session(CLIENT_ID, redirect_uri=REDIRECT_URI, scope=["openid", "profile", "email"], pkce="S256",
                         state=state)


@app.get("/login")
def login():
    nonce, client = secrets.token_urlsafe(24), oauth()
    url, state = client.authorization_url(META["authorization_endpoint"], nonce=nonce)
    PENDING[state], session["state"] = (client._code_verifier, nonce), state
    return redirect(url)


@app.get("/callback")
def callback():
    if request.args.get("error"):
        return page(f"<p>Sign-in failed: {escape(request.args['error'])}</p>", 400)
    if request.args.get("iss") != META["issuer"]:  # RFC 9207: the issuer advertises the parameter
        return page("<p>Sign-in failed: another issuer</p>", 400)
    state = session.pop("state", None)
    if not state or request.args.get("state") != state:
        return page("<p>Sign-in failed: state</p>", 400)
    verifier, nonce = PENDING.pop(state)
    client = oauth(state)
    client._code_verifier = verifier
    token = client.fetch_token(META["token_endpoint"], authorization_response=request.url, client_secret=SECRET,
                               include_client_id=True)  # client_secret_post: the library form-encodes the body
    payload = token["id_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if os.environ.get("TP_DEFECT") != "id-token-not-validated" and not (
        claims.get("iss") == META["issuer"] and CLIENT_ID in [claims.get("aud")] + list(claims.get("aud") or [])
        and claims.get("exp", 0) > time.time() and claims.get("nonce") == nonce
    ):
        return page("<p>Sign-in failed: the ID token is not valid</p>", 400)
    session["sid"] = secrets.token_urlsafe(16)
    TOKENS[session["sid"]] = token
    if session.pop("next", None):
        return redirect("/profile")
    return page(f"<p>Signed in. Hello {escape(claims.get('name', 'you'))}.</p>")  # no call at sign-in


@app.get("/profile")
def profile():
    token = TOKENS.get(session.get("sid", ""))
    if not token or token["expires_at"] <= time.time():
        session["next"] = "/profile"
        return redirect("/login")
    answer = requests.get(API + "/v1/me", headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10)
    return page(f"<p>Signed in. The Visma API says: {escape(answer.text)}</p>")


app.run("127.0.0.1", PORT)
"""


def _certify_web(tmp_path, defect: str = "", *options) -> dict:
    port = str(free_port())
    (tmp_path / "webapp.py").write_text(REQUESTS_OAUTHLIB_WEB)
    (tmp_path / "application.yaml").write_text(
        textwrap.dedent(f"""\
        name: third-party web app (Flask, requests-oauthlib)
        application:
          type: web
          client_id: third-party-web
          client_secret: ${{TP_SECRET}}
          redirect_uris: ["http://127.0.0.1:{port}/callback"]
          scope: openid profile email
          pkce: true
        drive:
          mode: browser
          launch: {sys.executable} {tmp_path / "webapp.py"}
          sign_in_url: http://127.0.0.1:{port}/login
          signed_in: {{text: "Signed in."}}
          use_api_url: http://127.0.0.1:{port}/profile
          settle: 1
        """)
    )
    completed = certify_forked(
        f"--app={tmp_path / 'application.yaml'}",
        f"--compliance={tmp_path / 'record.json'}",
        "-q",
        "-p",
        "no:cacheprovider",
        *options,
        environ={**os.environ, "TP_SECRET": special_secret(), "TP_DEFECT": defect, "TP_PORT": port},
        timeout=400,
    )
    assert (tmp_path / "record.json").exists(), completed.stdout[-2000:] + completed.stderr[-2000:]
    return json.loads((tmp_path / "record.json").read_text())


@pytest.mark.timeout(400)
def test_a_requests_oauthlib_web_app_that_calls_nothing_at_sign_in_is_conformant(tmp_path):
    record = _certify_web(tmp_path)
    assert record["verdict"] == "conformant", [(r["rule_id"], r["scenarios"][0]["reason"]) for r in record["rules"]]


@pytest.mark.timeout(400)
def test_a_requests_oauthlib_web_app_that_accepts_any_id_token_fails_appc_21(tmp_path):
    """It calls nothing at sign-in, so no missing call shows a refusal: its signed-in page does."""
    record = _certify_web(tmp_path, "id-token-not-validated", "--rule=APPC-21")
    assert record["failed_rules"] == ["APPC-21"]
    assert all("showed the text 'Signed in.'" in s["reason"] for r in record["rules"] for s in r["scenarios"])
