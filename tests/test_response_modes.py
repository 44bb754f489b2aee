"""The sandbox delivers the authorization response the way the request's response_mode asks, as
Visma Connect advertises (form_post, query, fragment): the same parameters, whichever way, and the
request log keeps a form_post response as the redirect it would have been (what the application
side's rules read)."""

import html
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from sandbox_sign_in import consent_answer

from sandbox import SandboxServer, default_registry

OTHER = "web-other"  # its registered redirect_uri carries a query of its own: ?app=other


def _authorize(sandbox: SandboxServer, mode: str | None, role: str = "web") -> requests.Response:
    """The consent's answer to a signed-in test user's authorization request."""
    redirect_uri = f"https://{role}.app.local/callback" + ("?app=other" if role == OTHER else "")
    query = {"response_type": "code", "client_id": f"sandbox-{role}", "redirect_uri": redirect_uri}
    query.update(scope="openid", state="the-state", **({"response_mode": mode} if mode else {}))
    return consent_answer(sandbox.url, query)


@pytest.fixture(scope="module")
def sandbox():
    server = SandboxServer(default_registry()).start()
    yield server
    server.stop()


def test_discovery_names_the_three_modes(sandbox):
    metadata = requests.get(sandbox.url + "/.well-known/openid-configuration", timeout=10).json()
    assert metadata["response_modes_supported"] == ["query", "fragment", "form_post"]


@pytest.mark.parametrize("mode", [None, "query", "fragment"])
def test_query_and_fragment_redirect_with_the_response(sandbox, mode):
    answer = _authorize(sandbox, mode)
    parts = urlsplit(answer.headers["Location"])
    carried = dict(parse_qsl(parts.fragment if mode == "fragment" else parts.query))
    assert answer.status_code == 302 and {"code", "state", "iss"} <= carried.keys() and carried["state"] == "the-state"
    assert (parts.query if mode == "fragment" else parts.fragment) == ""


@pytest.mark.parametrize("role", ["web", OTHER])
def test_form_post_is_a_page_that_posts_the_response_to_the_redirect_uri(sandbox, role):
    sandbox.recording.clear()
    answer = _authorize(sandbox, "form_post", role)
    assert answer.status_code == 200 and "Location" not in answer.headers, answer.headers
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.text
    action = html.unescape(re.search(r'<form method="post" action="([^"]*)"', page).group(1))
    fields = dict(map(html.unescape, pair) for pair in re.findall(r'name="([^"]*)" value="([^"]*)"', page))
    # the redirect_uri as registered, its own query in the action, not among the response's fields
    assert action == f"https://{role}.app.local/callback" + ("?app=other" if role == OTHER else "")
    assert fields.keys() == {"code", "state", "iss"} and fields["state"] == "the-state"
    assert ".submit()" in page  # the browser posts it by itself
    logged = [e for e in sandbox.recording.entries() if e.method == "POST" and e.path == "/connect/authorize"][-1]
    assert logged.status == 200 and logged.location_params == {**fields, **({"app": "other"} if role == OTHER else {})}


def test_a_fault_reaches_the_form_as_it_reaches_a_redirect(sandbox):
    sandbox.faults.inject("callback-state-wrong")
    try:
        page = _authorize(sandbox, "form_post").text
    finally:
        sandbox.faults.clear()
    assert 'name="state" value="the-state"' not in page and 'name="state"' in page
