"""Redirects through the suite's HTTP client (suite.wire.http._Session): one it does not follow is an
answer like any other, read within the suite's limits; one followed on request is followed as
requests follows it."""

import pytest
import requests
from faulty_servers import Answer, HostileServer, cut_short, endless, gzip_bomb

from suite.configuration.environment import HttpSettings
from suite.wire.http import EnvironmentProblem, HttpClient

SETTINGS = HttpSettings(exchange_timeout=3, backoff=0.01)
REDIRECT = {"Location": "/elsewhere"}


@pytest.mark.parametrize(
    "answer, problem, attempts",
    [
        (Answer(302, {**REDIRECT, "Content-Encoding": "gzip"}, body=gzip_bomb(1024)), "larger than 10 MiB", 1),
        (Answer(302, REDIRECT, body=endless()), "larger than 10 MiB", 1),
        (Answer(302, REDIRECT, body=cut_short(b"moved", declared=4000)), "the response was cut short", 3),
    ],
    ids=["gzip-bomb", "endless", "cut-short"],
)
def test_a_redirect_the_suite_does_not_follow_is_read_within_its_limits(answer, problem, attempts):
    """requests read a redirect's whole body, beyond MAX_BODY_BYTES, to work out the request that
    would follow it (Response.next): a 302 with a compression bomb filled 1.4 GB and ended in
    timeouts, an endless one raised RuntimeError once the deadline cut it. The suite reads it as
    it reads every answer."""
    server = HostileServer({"/moved": answer})
    try:
        with pytest.raises(EnvironmentProblem) as raised:
            HttpClient(SETTINGS).send("GET", server.url + "/moved")
    finally:
        server.close()
    assert problem in str(raised.value) and f"{attempts} attempt(s)" in str(raised.value), raised.value


def test_a_redirect_not_followed_is_the_answer_with_no_next_request():
    server = HostileServer({"/moved": Answer(302, REDIRECT, body=b"moved")})
    try:
        response = HttpClient(SETTINGS).send("GET", server.url + "/moved")
    finally:
        server.close()
    assert (response.status_code, response.headers["Location"], response.content) == (302, "/elsewhere", b"moved")
    assert response.next is None  # the one difference from requests, which nothing in the suite reads


def test_a_redirect_followed_on_request_is_followed_as_requests_follows_it(monkeypatch, tmp_path):
    """As requests follows it, less the credentials ~/.netrc names for the host (test_http_environment)."""
    (tmp_path / "netrc").write_text("default login dora password netrc-secret-3\n")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    server = HostileServer(
        {
            "/moved": Answer(302, {**REDIRECT, "Set-Cookie": "session=s1; Path=/"}, body=b"moved"),
            "/elsewhere": Answer(200, body=b"here"),
        }
    )
    try:
        without_netrc = requests.Session()
        without_netrc.trust_env = False  # else requests adds .netrc's credentials to the redirect's request
        theirs = without_netrc.get(server.url + "/moved", allow_redirects=True, timeout=5)
        seen_by_requests = server.requests[:]
        server.requests.clear()
        ours = HttpClient(SETTINGS).send("GET", server.url + "/moved", allow_redirects=True)
    finally:
        server.close()
    assert [r.status_code for r in ours.history] == [r.status_code for r in theirs.history] == [302]
    assert (ours.status_code, ours.url, ours.content) == (theirs.status_code, theirs.url, theirs.content)
    assert [
        (method, path, {k: v for k, v in headers.items() if k != "User-Agent"})
        for method, path, headers, _ in server.requests
    ] == [
        (method, path, {k: v for k, v in headers.items() if k != "User-Agent"})
        for method, path, headers, _ in seen_by_requests
    ]
    assert server.requests[1][2]["Cookie"] == "session=s1"
    assert not any("Authorization" in headers for _, _, headers, _ in server.requests)
