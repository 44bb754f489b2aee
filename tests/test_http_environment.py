"""The suite's HTTP sessions read the environment (proxy and CA bundle variables) once per scheme,
host and port (suite.wire.http._Session): each request must still get what requests itself would give it,
less the credentials of ~/.netrc, which the suite never sends."""

import requests

from suite.wire.http import _Session

URLS = [
    "http://127.0.0.1:5000/authorize",
    "http://127.0.0.1:5000/token",
    "http://localhost/x",
    "http://idp.example/authorize",
    "https://idp.example/token",
    "https://idp.example:8443/token",
    "https://other.example/userinfo",
]


def test_each_request_gets_the_settings_requests_gives_it(monkeypatch):
    monkeypatch.setattr(_Session, "_environment_settings", {})
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://user:pass@proxy.example:3129")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,idp.example:8443")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    for verify in (True, False, "/my/ca.pem"):
        for _ in range(2):  # the second time from what the first kept
            for url in URLS:
                ours = _Session().merge_environment_settings(url, {}, None, verify, None)
                theirs = requests.Session().merge_environment_settings(url, {}, None, verify, None)
                assert ours == theirs, url
                ours["proxies"]["http"] = "changed by the caller"  # the kept settings are not the caller's


def test_a_session_with_settings_of_its_own_asks_requests_every_time(monkeypatch):
    monkeypatch.setattr(_Session, "_environment_settings", {})
    session = _Session()
    session.proxies = {"https": "http://mine.example:8080"}
    assert (
        session.merge_environment_settings(URLS[4], {}, None, True, None)["proxies"]["https"]
        == "http://mine.example:8080"
    )
    assert _Session._environment_settings == {}


NETRC = """machine idp.example login alice password netrc-secret-1
machine 127.0.0.1 login bob password netrc-secret-2
default login dora password netrc-secret-3
"""


def test_no_request_carries_credentials_from_netrc(monkeypatch, tmp_path):
    """requests adds the credentials ~/.netrc names for a host to any request that carries none,
    over plain HTTP too, where the credential policy never sees them: the suite's requests carry
    only what the caller gives, and are otherwise what requests prepares."""
    (tmp_path / "netrc").write_text(NETRC)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert "Authorization" in _prepared(requests.Session(), URLS[3], {}).headers  # requests itself reads it
    for url in URLS:
        for given in ({}, {"auth": ("client", "secret")}, {"data": {"grant_type": "client_credentials"}}):
            ours = _prepared(_Session(), url, given)
            monkeypatch.setenv("NETRC", str(tmp_path / "none"))
            theirs = _prepared(requests.Session(), url, given)
            monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
            assert (ours.method, ours.url, ours.headers, ours.body) == (
                theirs.method,
                theirs.url,
                theirs.headers,
                theirs.body,
            ), (url, given)
    session = _Session()
    session.auth = ("mine", "own")
    assert _prepared(session, URLS[3], {}).headers["Authorization"] == requests.auth._basic_auth_str("mine", "own")


def _prepared(session, url, given):
    return session.prepare_request(requests.Request("POST" if "data" in given else "GET", url, **given))
