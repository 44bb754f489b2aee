"""The stand-in's second certificate (appside.tls: the same key, an authority nobody trusts) served by the
sandbox's generic facility (SandboxServer.serve_alternative_tls), which APPC-33 judges on: a client that
validates the certificate breaks off the handshake, and the sandbox notes it; one that does not is
answered, and its request is noted as made over that connection; a connection kept open from before
meets the new certificate at its next request, not the old one."""

import socket
import ssl
import time

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from appside.tls import stand_in_tls
from sandbox import SandboxServer, default_registry

DISCOVERY = "/.well-known/openid-configuration"


@pytest.fixture
def stand_in():
    tls = stand_in_tls()
    server = SandboxServer(default_registry(), ssl_context=tls.context).start()
    yield server, tls
    server.stop()


def test_a_client_that_validates_refuses_the_untrusted_certificate_and_the_sandbox_notes_it(stand_in):
    server, tls = stand_in
    assert requests.get(server.url + DISCOVERY, verify=str(tls.ca_path), timeout=10).status_code == 200
    server.serve_alternative_tls(tls.untrusted)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(server.url + DISCOVERY, verify=str(tls.ca_path), timeout=10)
    deadline = time.monotonic() + 5  # the client's alert reaches the sandbox's accept() a moment later
    while not server.handshake_failures and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.handshake_failures, "the refused handshake is noted"
    assert not [e for e in server.recording.entries() if e.notes.get("tls") == "alternative"]


def test_a_client_that_does_not_validate_is_answered_and_its_request_noted(stand_in):
    server, tls = stand_in
    server.serve_alternative_tls(tls.untrusted)
    assert requests.get(server.url + DISCOVERY, verify=False, timeout=10).status_code == 200
    assert [e.notes.get("tls") for e in server.recording.entries()] == ["alternative"]
    assert not server.handshake_failures
    server.serve_alternative_tls(None)  # the stand-in's own certificate again
    assert requests.get(server.url + DISCOVERY, verify=str(tls.ca_path), timeout=10).status_code == 200
    assert server.recording.entries()[-1].notes.get("tls") is None


def test_a_kept_connection_meets_the_untrusted_certificate_at_its_next_request(stand_in):
    server, tls = stand_in
    with requests.Session() as session:  # urllib3 keeps the connection for the next request
        assert session.get(server.url + DISCOVERY, verify=str(tls.ca_path), timeout=10).status_code == 200
        server.serve_alternative_tls(tls.untrusted)
        with pytest.raises(requests.exceptions.SSLError):
            session.get(server.url + DISCOVERY, verify=str(tls.ca_path), timeout=10)


def test_the_untrusted_certificate_has_the_trusted_ones_key(stand_in):
    """The untrusted certificate differs from the stand-in's own only in who signed it: a client that refuses it
    refuses it for its authority, nothing else."""
    server, tls = stand_in
    server.serve_alternative_tls(tls.untrusted)
    host, port = server.url.removeprefix("https://").split(":")
    presented = ssl.get_server_certificate((host, int(port)))
    server.serve_alternative_tls(None)
    trusted = ssl.get_server_certificate((host, int(port)))

    def spki(pem: str) -> bytes:
        return (
            x509.load_pem_x509_certificate(pem.encode())
            .public_key()
            .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        )

    assert presented != trusted and spki(presented) == spki(trusted)


def _get(url: str, context: ssl.SSLContext, session: ssl.SSLSession | None = None) -> ssl.SSLSession | None:
    """One GET of the discovery document on a connection of its own, resuming `session` where given."""
    host, port = url.removeprefix("https://").split(":")
    with (
        socket.create_connection((host, int(port))) as raw,
        context.wrap_socket(raw, server_hostname="localhost", session=session) as connection,
    ):
        connection.sendall(f"GET {DISCOVERY} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        while connection.recv(65536):
            pass
        return connection.session


def test_a_resumed_session_is_no_evidence_and_the_stand_in_offers_none_to_resume(stand_in):
    """A client that resumes a TLS session skips the certificate: Node's fetch does, and the first version
    of APPC-33 failed a clean Node application for a session it had validated before. The stand-in issues
    no session tickets; and where a server does, a resumed connection is not noted as the alternative's."""
    server, tls = stand_in
    client = ssl.create_default_context(cafile=str(tls.ca_path))
    assert tls.context.num_tickets == 0 and tls.untrusted.num_tickets == 0
    tls.context.num_tickets = 2  # a server that offers tickets
    tls.context.options &= ~ssl.OP_NO_TICKET
    session = _get(server.url, client)
    assert session is not None and session.has_ticket
    server.serve_alternative_tls(tls.untrusted)
    _get(server.url, client, session)  # resumed: the untrusted certificate is never presented
    assert [e.notes.get("tls") for e in server.recording.entries()] == [None, None]


def test_the_suites_browser_keeps_the_stand_ins_own_certificate_on_every_new_connection(stand_in):
    """APPC-33 judges the application's own connections: the browser, the user's agent, never meets the untrusted
    certificate, and its kept connections are not ended under it. In the outsider's mod_auth_openidc runs the
    browser's new connection for the login page ended two sign-ins of four at Chromium's error page, and the rule
    read that as the application's doing. Every load here opens a new connection (a fresh browser context, whose
    connections are its own), and the kept connections are ended between loads as APPC-33 ends them; a client
    beside the browser still meets the untrusted certificate."""
    from playwright.sync_api import sync_playwright

    from suite.wire.browser import OriginFence, launch_chromium

    server, tls = stand_in
    fence = OriginFence(lambda host, port: True, lambda host, port: None)
    with sync_playwright() as playwright:
        browser = launch_chromium(
            playwright, [*fence.flags, f"--ignore-certificate-errors-spki-list={tls.spki_sha256}"]
        )
        try:
            kept = browser.new_context().new_page()
            kept.goto(server.url + DISCOVERY)
            for number in range(4):
                server.serve_alternative_tls(tls.untrusted, spared=fence.carries)
                kept.goto(f"{server.url}{DISCOVERY}?kept={number}")
                context = browser.new_context()
                context.new_page().goto(f"{server.url}{DISCOVERY}?new={number}")
                context.close()
        finally:
            browser.close()
            fence.close()
    assert [e.notes.get("tls") for e in server.recording.entries()] == [None] * 9
    assert requests.get(server.url + DISCOVERY, verify=False, timeout=10).status_code == 200
    assert server.recording.entries()[-1].notes.get("tls") == "alternative"
