"""The sandbox's request log keeps a body however the client framed it: with a Content-Length, or chunked
(RFC 9112 section 7.1: node:https's request without a Content-Length sends one so), at every endpoint that
takes a body (token, revocation, userinfo by POST, the API). A log that kept a chunked code redemption empty
saw no redemption at all: the rules on the code and its verifier could not be checked (APPC-08, APPC-16), and
a code redeemed twice went unseen (APPC-23)."""

import io
import json
from urllib.parse import urlencode

import pytest
import requests
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Response

from sandbox import SandboxServer, default_registry
from sandbox.recording import MAX_RECORDED_BODY, RecordingMiddleware, RequestLog

SERVICE = {"client_id": "sandbox-service", "client_secret": "sandbox-service-secret"}
TOKEN_REQUEST = {
    "grant_type": "client_credentials",
    "scope": "visma_api:read",
    "tenant_id": "af1140c1-52e0-46c7-b684-df894d4b8a5a",
    **SERVICE,
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def chunked(body: bytes):
    """A body requests sends chunked (a generator has no length): one chunk per 7 bytes, as a stream sends it."""
    return (body[start : start + 7] for start in range(0, len(body), 7))


@pytest.fixture(scope="module")
def sandbox():
    server = SandboxServer(default_registry()).start()
    yield server
    server.stop()


def _last(sandbox, path: str):
    return next(entry for entry in reversed(sandbox.recording.entries()) if entry.path == path)


def _access_token(sandbox) -> str:
    return requests.post(sandbox.url + "/connect/token", data=TOKEN_REQUEST, timeout=5).json()["access_token"]


def test_a_chunked_token_request_is_recorded_with_its_form_and_answered():
    sandbox = SandboxServer(default_registry()).start()
    try:
        body = urlencode(TOKEN_REQUEST).encode()
        answer = requests.post(sandbox.url + "/connect/token", data=chunked(body), headers=FORM, timeout=5)
        entry = _last(sandbox, "/connect/token")
    finally:
        sandbox.stop()
    assert answer.status_code == 200, answer.text
    assert entry.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in entry.headers
    assert entry.body == body.decode()
    assert entry.param("grant_type") == "client_credentials" and entry.param("tenant_id") == TOKEN_REQUEST["tenant_id"]


@pytest.mark.parametrize(
    "path, form",
    [
        ("/connect/revocation", lambda token: {"token": token, **SERVICE}),
        ("/connect/userinfo", lambda token: {"access_token": token}),
        ("/api/v1/invoices", lambda token: {"note": "chunked"}),
    ],
)
def test_a_chunked_body_is_recorded_at_every_endpoint_that_takes_one(sandbox, path, form):
    token = _access_token(sandbox)
    body = urlencode(form(token)).encode()
    headers = {**FORM, "Authorization": f"Bearer {token}"} if path.startswith("/api") else FORM
    requests.post(sandbox.url + path, data=chunked(body), headers=headers, timeout=5)
    entry = _last(sandbox, path)
    assert entry.body == body.decode()
    assert entry.form == tuple(form(token).items())


def test_a_chunked_body_too_long_to_keep_still_reaches_the_application_whole():
    log = RequestLog()
    application = RecordingMiddleware(
        lambda environ, start: Response(str(len(environ["wsgi.input"].read())))(environ, start), log
    )
    body = b"x" * (MAX_RECORDED_BODY * 2 + 3)
    # as werkzeug's server hands a chunked body on: a stream that ends where the body does, and no Content-Length
    environ = EnvironBuilder(method="POST", input_stream=io.BytesIO(body), headers={"Transfer-Encoding": "chunked"})
    answered = run_wsgi_app(application, {**environ.get_environ(), "wsgi.input_terminated": True})
    assert b"".join(answered[0]) == str(len(body)).encode()
    assert log.entries()[0].body == ""


def test_a_body_with_a_content_length_is_recorded_as_before(sandbox):
    answer = requests.post(sandbox.url + "/connect/token", data=TOKEN_REQUEST, timeout=5)
    entry = _last(sandbox, "/connect/token")
    assert answer.status_code == 200
    assert entry.headers["Content-Length"] == str(len(entry.body)) and entry.param("scope") == "visma_api:read"


def test_the_json_body_defect_reads_a_chunked_json_body_as_one_with_a_content_length():
    # json-body-accepted (SVC-14's switch) turns a JSON body into the form: a chunked one was read as empty
    sandbox = SandboxServer(default_registry(), ["json-body-accepted"]).start()
    try:
        body = json.dumps(TOKEN_REQUEST).encode()
        answer = requests.post(
            sandbox.url + "/connect/token", data=chunked(body), headers={"Content-Type": "application/json"}, timeout=5
        )
    finally:
        sandbox.stop()
    assert answer.status_code == 200, answer.text
