"""A plaintext HTTP request on the stand-in's HTTPS port (an application that wrote http:// for an https issuer,
the breaker outsider's token_plain_http and api_plain_http): OpenSSL refuses its handshake, and the sandbox logs it
as such, an entry with no method or path, so that the application side can name it (APPC-32) rather than say the
application sent nothing; nothing of it is kept, the secret it carried included."""

import time

import httpx
import pytest

from appside.tls import stand_in_tls
from sandbox import SandboxServer, default_registry
from sandbox.recording import PLAIN_HTTP_NOTE

SECRET = "pl4in-s3cret-in-basic"


@pytest.fixture
def stand_in():
    server = SandboxServer(default_registry(), ssl_context=stand_in_tls().context).start()
    yield server
    server.stop()


def test_a_plaintext_token_request_on_the_https_port_is_logged_as_such_and_nothing_of_it_kept(stand_in):
    plain_url = stand_in.url.replace("https://", "http://") + "/connect/token"
    with pytest.raises(httpx.HTTPError):
        httpx.post(plain_url, data={"grant_type": "authorization_code"}, auth=("some-client", SECRET), timeout=10)
    deadline = time.monotonic() + 5
    while not stand_in.recording.entries() and time.monotonic() < deadline:
        time.sleep(0.01)
    [entry] = stand_in.recording.entries()
    assert entry.notes == {PLAIN_HTTP_NOTE: True}
    assert (entry.method, entry.path, entry.headers, entry.body, entry.form) == ("", "", {}, "", ())
    assert SECRET not in repr(entry) + str(stand_in.handshake_failures)
