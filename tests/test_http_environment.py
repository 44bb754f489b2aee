"""The suite's HTTP sessions read the environment (proxy and CA bundle variables) once per scheme,
host and port (suite.http._Session): each request must still get what requests itself would give it."""

import pytest
import requests

from suite.http import _Session

URLS = ["http://127.0.0.1:5000/authorize", "http://127.0.0.1:5000/token", "http://localhost/x",
        "http://idp.example/authorize", "https://idp.example/token", "https://idp.example:8443/token",
        "https://other.example/userinfo"]


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
    assert session.merge_environment_settings(URLS[4], {}, None, True, None)["proxies"]["https"] == \
        "http://mine.example:8080"
    assert _Session._environment_settings == {}


NETRC = """machine idp.example login alice password netrc-secret-1
machine 127.0.0.1 login bob password netrc-secret-2
machine other.example login carol
"""


@pytest.mark.parametrize("netrc", [NETRC, NETRC + "default login dora password netrc-secret-3\n", None],
                         ids=["hosts", "hosts-and-default", "no-netrc-file"])
def test_each_request_gets_the_netrc_credentials_requests_gives_it(monkeypatch, tmp_path, netrc):
    """.netrc is looked up once per host: each request still carries the credentials requests
    would give it, those of its own host (or the file's default) or none, and what the caller
    gives instead of them."""
    monkeypatch.setattr(_Session, "_netrc_credentials", {})
    if netrc is not None:
        (tmp_path / "netrc").write_text(netrc)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    for _ in range(2):  # the second time from what the first kept
        for url in URLS + ["http://IDP.example:8080/token", "http://user@127.0.0.1:5000/token"]:
            for given in ({}, {"auth": ("client", "secret")}, {"data": {"grant_type": "client_credentials"}}):
                session = _Session()
                ours, theirs = _prepared(session, url, given), _prepared(requests.Session(), url, given)
                assert (ours.method, ours.url, ours.headers, ours.body) == \
                       (theirs.method, theirs.url, theirs.headers, theirs.body), (url, given)
                assert session.trust_env
    if netrc is None or "default" not in netrc:  # the credentials of one host go to no other
        assert "Authorization" not in _prepared(_Session(), "https://unnamed.example/token", {}).headers
        assert "Authorization" not in _prepared(_Session(), "http://localhost/x", {}).headers
    if netrc is not None:
        assert _prepared(_Session(), URLS[3], {}).headers["Authorization"] == \
            requests.auth._basic_auth_str("alice", "netrc-secret-1")


def test_a_session_with_credentials_of_its_own_or_no_trust_in_the_environment_looks_nothing_up(monkeypatch, tmp_path):
    monkeypatch.setattr(_Session, "_netrc_credentials", {})
    (tmp_path / "netrc").write_text(NETRC)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    session = _Session()
    session.auth = ("mine", "own")
    assert _prepared(session, URLS[3], {}).headers["Authorization"] == requests.auth._basic_auth_str("mine", "own")
    session = _Session()
    session.trust_env = False
    assert "Authorization" not in _prepared(session, URLS[3], {}).headers
    assert _Session._netrc_credentials == {}


def _prepared(session, url, given):
    return session.prepare_request(requests.Request("POST" if "data" in given else "GET", url, **given))
