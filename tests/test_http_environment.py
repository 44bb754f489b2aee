"""The suite's HTTP sessions read the environment (proxy and CA bundle variables) once per scheme,
host and port (suite.http._Session): each request must still get what requests itself would give it."""

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
