"""The sandbox keeps a client's connection open between requests (a connection and a thread per
request cost more than the request), drains what a request's body left unread so that it cannot
be taken for the next request, closes the connection after a body it cannot drain, and stops at
once with idle connections open."""

import contextlib
import http.client
import json
import logging
import ssl
import time

import pytest
import requests
import urllib3

from appside.tls import stand_in_tls
from sandbox import SandboxServer, default_registry
from sandbox import server as sandbox_server
from sandbox.app import MAX_REQUEST_BYTES

DISCOVERY = "/.well-known/openid-configuration"
TOKEN_REQUEST = {
    "grant_type": "client_credentials",
    "scope": "visma_api:read",
    "client_id": "sandbox-service",
    "client_secret": "sandbox-service-secret",
    "tenant_id": "af1140c1-52e0-46c7-b684-df894d4b8a5a",
}
# a request hidden in another one's body: a server that took the body for the next request would answer it
SMUGGLED = b"GET /connect/userinfo HTTP/1.1\r\nHost: sandbox\r\n\r\n"


def _start(scheme: str) -> SandboxServer:
    tls = stand_in_tls() if scheme == "https" else None
    server = SandboxServer(default_registry(), ssl_context=tls and tls.context).start()
    server.verify = str(tls.ca_path) if tls else True  # what a client trusts
    return server


@pytest.fixture(params=["http", "https"])
def sandbox(request):
    server = _start(request.param)
    yield server
    server.stop()


@pytest.fixture
def connections(monkeypatch):
    """How many TCP connections requests opens."""
    opened = []

    def create_connection(*args, **kwargs):
        opened.append(args[0])
        return connect(*args, **kwargs)

    connect = urllib3.util.connection.create_connection
    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return opened


def test_requests_of_one_session_share_one_connection(sandbox, connections):
    with requests.Session() as session:
        assert session.get(sandbox.url + DISCOVERY, verify=sandbox.verify, timeout=5).json()["issuer"] == sandbox.issuer
        assert (
            session.post(
                sandbox.url + "/connect/token", data=TOKEN_REQUEST, verify=sandbox.verify, timeout=5
            ).status_code
            == 200
        )
        assert session.get(sandbox.url + DISCOVERY, verify=sandbox.verify, timeout=5).status_code == 200
    assert len(connections) == 1


def test_a_body_the_application_left_unread_is_not_taken_for_the_next_request():
    sandbox = SandboxServer(default_registry()).start()
    try:
        connection = http.client.HTTPConnection(sandbox.url.split("//")[1], timeout=5)
        # the headers alone: the sandbox answers OPTIONS without reading the body, which comes after
        # the answer, when no read of werkzeug's is waiting for it any more
        connection.putrequest("OPTIONS", DISCOVERY)
        connection.putheader("Content-Length", str(len(SMUGGLED)))
        connection.endheaders()
        options = connection.getresponse()
        options.read()
        assert options.status == 200 and not options.will_close
        first_socket = connection.sock
        connection.send(SMUGGLED)
        connection.request("GET", DISCOVERY)
        answer = connection.getresponse()
        assert answer.status == 200 and json.loads(answer.read())["issuer"] == sandbox.issuer
        assert connection.sock is first_socket  # the same connection
        connection.close()
        assert "/connect/userinfo" not in [entry.path for entry in sandbox.recording.entries()]
    finally:
        sandbox.stop()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"x" * (MAX_REQUEST_BYTES + 1), id="larger-than-the-limit"),
        pytest.param(iter([b"grant_type=client_credentials"]), id="chunked"),
    ],
)
def test_a_body_the_server_cannot_drain_ends_its_connection_and_the_next_request_gets_a_new_one(
    sandbox, connections, body
):
    with requests.Session() as session:
        assert session.get(sandbox.url + DISCOVERY, verify=sandbox.verify, timeout=5).status_code == 200
        refused = session.post(
            sandbox.url + "/connect/token",
            data=body,
            verify=sandbox.verify,
            timeout=5,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert "close" in refused.headers["Connection"]
        assert session.get(sandbox.url + DISCOVERY, verify=sandbox.verify, timeout=5).json()["issuer"] == sandbox.issuer
    assert len(connections) == 2  # the first one until the body it could not drain


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_stop_ends_idle_connections_at_once_and_answers_nothing_more_on_them(scheme):
    sandbox = _start(scheme)
    host = sandbox.url.split("//")[1]
    connection = (
        http.client.HTTPSConnection(host, timeout=5, context=ssl.create_default_context(cafile=sandbox.verify))
        if scheme == "https"
        else http.client.HTTPConnection(host, timeout=5)
    )
    connection.request("GET", DISCOVERY)
    answer = connection.getresponse()
    answer.read()
    assert not answer.will_close  # open, and waiting for a next request
    began = time.monotonic()
    sandbox.stop()
    assert time.monotonic() - began < 1
    connection.sock.settimeout(2)  # the sandbox ends the connection, rather than leave it to its idle timeout
    # or OpenSSL's alert for the sandbox's read cut short (an ssl.SSLError is no timeout)
    with contextlib.suppress(ssl.SSLError):
        assert connection.sock.recv(1) == b""


def test_an_idle_connection_ends_after_the_idle_timeout_and_no_error_is_logged(monkeypatch, caplog):
    monkeypatch.setattr(sandbox_server._KeepAliveHandler, "timeout", 0.3)
    sandbox = _start("http")
    try:
        connection = http.client.HTTPConnection(sandbox.url.split("//")[1], timeout=5)
        connection.request("GET", DISCOVERY)
        answer = connection.getresponse()
        answer.read()
        assert not answer.will_close
        connection.sock.settimeout(3)
        assert connection.sock.recv(1) == b""
    finally:
        sandbox.stop()
    assert not [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
