"""Application side: a refused sign-in starts in a browser that signed in at the stand-in earlier (its session
cookie), as a user who signed in before: the stand-in answers its authorization request at once, without the
login page, which is not what a refusal judges. The normal sign-ins still go through the login page."""

import json
import re

import pytest
import requests
from run import certify_application

from appside.concurrent import _asks_for_a_login
from appside.observed import Observed
from appside.stand_in import free_port
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest


def test_the_stand_ins_session_cookie_of_a_user_skips_the_login_page_and_only_that(sandbox):
    query = {"response_type": "code", "client_id": "sandbox-web", "redirect_uri": "https://web.app.local/callback"}
    query |= {"scope": "openid", "state": "s"}
    authorize = sandbox.url + "/connect/authorize"
    stranger = requests.get(authorize, params=query, allow_redirects=False, timeout=10)
    assert stranger.status_code == 302 and "/account/login" in stranger.headers["Location"]
    name, value = sandbox.signed_in_session("test.user")
    known = requests.get(authorize, params=query, cookies={name: value}, allow_redirects=False, timeout=10)
    assert "/account/login" not in known.headers.get("Location", ""), known.headers
    assert known.status_code == 200 and "consent" in known.text.lower()  # the sandbox's next page, for a known user
    forged = requests.get(authorize, params=query, cookies={name: value[:-2] + "xx"}, allow_redirects=False, timeout=10)
    assert forged.status_code == 302 and "/account/login" in forged.headers["Location"]  # its signature is checked


@pytest.mark.timeout(300)
def test_a_refused_sign_in_goes_without_the_login_page_and_is_still_refused(tmp_path):
    completed = certify_application(
        "examples/web_app/application.yaml",
        tmp_path,
        {"WEB_APP_CLIENT_SECRET": "Signed+in before %41/é", "WEB_APP_PORT": str(free_port())},
        "--rule=APPC-16",
    )
    output = completed.stdout + completed.stderr
    record = json.loads((tmp_path / "record.json").read_text())
    rule = next(rule for rule in record["rules"] if rule["rule_id"] == "APPC-16")
    assert rule["status"] == "passed", output[-3000:]
    # the two normal sign-ins logged in; the one the stand-in answered with another state did not
    work = re.search(r"application-side work: (\d+) sign-ins \((\d+) through the stand-in's login page\)", output)
    assert work and work.groups() == ("3", "2"), output[-3000:]


def _authorization_request(*query: tuple[str, str]) -> RecordedRequest:
    return RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], (("client_id", "app"), *query), (), {}, "", 302)


@pytest.mark.parametrize(
    ("query", "asks"),
    [
        ((("state", "s"),), False),
        ((("prompt", "none"),), True),  # an SPA's silent check in a hidden frame, before it redirects
        ((("prompt", "login"),), True),
        ((("max_age", "0"),), True),
    ],
)
def test_an_application_that_says_how_the_user_signs_in_logs_in_for_its_refused_sign_ins_too(query, asks):
    """The stand-in's single sign-on answers prompt=none with its next page in the hidden frame and shows no login
    page for prompt=login or max_age: an application whose normal sign-in asked either could tell the difference."""
    normal = [
        (None, Observed([_authorization_request(("state", "s"))])),
        (None, Observed([_authorization_request(*query)])),
    ]
    assert _asks_for_a_login(normal) is asks
