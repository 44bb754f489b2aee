"""APPC-11, APPC-26 and APPC-28 read every sign-in the run made, as APPC-24 and APPC-27 do: an outside
partner's hapi and passport applications logged the tokens of a sign-in they refused for its ID token, and
one refreshed after an expiry with grant_type, refresh_token, client_id and client_secret in the token
URL's query, and all three rules passed, reading only the two normal sign-ins. The tokens the stand-in
issued in a refused sign-in are real tokens (RFC 6749 sections 10.3 and 10.4); a refresh is a request like
any other (RFC 6749 section 2.3.1, RFC 6750 section 5.3). Each failure names the sign-in; where the secret
was only in the URL, APPC-10 is blocked by APPC-11 (one cause, one failure)."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.steps import client_secret, leaks
from appside.steps.requests_sent import web_app_authenticates
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.configuration.rule_catalogue import catalogue
from suite.verdict.blocking import resolve_blocked
from suite.verdict.checks import MetTheCause, NonConformance

ROOT = Path(__file__).resolve().parent.parent
SECRET = "web-secret-value-1234+é"
CLIENT_ID = "acme-hapi"
WEB = SimpleNamespace(
    client_id=CLIENT_ID,
    app_type="web",
    is_interactive=True,
    client_secret=SECRET,
    drive=SimpleNamespace(
        sign_in_url="http://127.0.0.1:9302/login",
        output_file=None,
        command=None,
        url=None,
        shows_signed_in=lambda: "the text 'Signed in as'",
    ),
)
NORMAL = {"access_token": "normal-access-token-1", "refresh_token": "normal-refresh-token-1"}
REFUSED = {"access_token": "refused-access-token-2", "refresh_token": "refused-refresh-token-2"}
REFRESHED = {"access_token": "refreshed-access-token-3", "refresh_token": "refreshed-refresh-token-3"}
FAULT = "sign-in with id-token-iss-wrong"
EXPIRY = "short-lived access token, API used after expiry"


def _token(answer, form=None, query=(), headers=None) -> RecordedRequest:
    if form is None:
        form = (("grant_type", "authorization_code"), ("code", "c1"), ("client_secret", SECRET))
    headers = headers or {"Content-Type": "application/x-www-form-urlencoded"}
    return RecordedRequest(
        1.0, "POST", PATHS["token_endpoint"], tuple(query), tuple(form), headers, "", 200, response_json=answer
    )


def _refresh_in_query() -> RecordedRequest:
    """hapi's refresh-in-query: every parameter in the token URL's query, an empty body, no HTTP Basic."""
    query = (
        ("grant_type", "refresh_token"),
        ("refresh_token", NORMAL["refresh_token"]),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
    )
    return _token(REFRESHED, form=(), query=query)


def _sign_in() -> SignIn:
    sign_in = SignIn(True, 200, urls=[], page_urls=[], contents=[], console=[])
    sign_in.cookies = []
    return sign_in


def _flows(monkeypatch, *flows):
    made = [(title, [_sign_in()], Observed(list(entries))) for title, entries in flows]
    monkeypatch.setattr(leaks, "every_flow_made", lambda: made)
    return AppRun(sign_ins=[_sign_in()], observed=[Observed([_token(NORMAL)])])


def _launched(tmp_path, text):
    log = tmp_path / "application.log"
    log.write_text(text)
    return SimpleNamespace(
        config=SimpleNamespace(launched=SimpleNamespace(log_path=log, output=log.read_text, found_left_out=set))
    )


def test_appc28_finds_the_tokens_of_a_refused_sign_in_in_the_output_and_names_that_sign_in(monkeypatch, tmp_path):
    app_run = _flows(monkeypatch, (FAULT, [_token(REFUSED)]))
    logged = f"Credentials of a failed sign-in: {{ token: '{REFUSED['access_token']}' }}\n"
    with pytest.raises(NonConformance, match=rf"wrote its access token to .*line 1 \(issued in the sign-in '{FAULT}'"):
        leaks.nothing_secret_in_output(_launched(tmp_path, logged), WEB, app_run)
    refreshed = f"refreshed: {REFRESHED['refresh_token']}\n"
    app_run = _flows(monkeypatch, (EXPIRY, [_token(REFRESHED)]))
    with pytest.raises(NonConformance, match=rf"refresh token to .*\(issued in the sign-in '{EXPIRY}'"):
        leaks.nothing_secret_in_output(_launched(tmp_path, refreshed), WEB, app_run)
    leaks.nothing_secret_in_output(_launched(tmp_path, "sign-in refused: iss\n"), WEB, app_run)


def test_appc26_and_appc11_read_the_refresh_after_an_expiry_and_name_its_sign_in(monkeypatch):
    app_run = _flows(monkeypatch, (EXPIRY, [_refresh_in_query()]))
    with pytest.raises(NonConformance, match=rf"refresh token was sent in the URL of POST .*'{EXPIRY}'"):
        leaks.tokens_not_in_urls(WEB, app_run)
    with pytest.raises(NonConformance, match=rf"client secret was sent in the URL of POST .*refresh_token.*'{EXPIRY}'"):
        client_secret.secret_not_in_url(WEB, app_run)
    app_run = _flows(monkeypatch, (EXPIRY, [_token(REFRESHED)]))
    leaks.tokens_not_in_urls(WEB, app_run)
    client_secret.secret_not_in_url(WEB, app_run)


def test_appc26_reads_the_browser_urls_of_a_refused_sign_in(monkeypatch):
    app_run = _flows(monkeypatch, (FAULT, [_token(REFUSED)]))
    made = leaks.every_flow_made()
    made[0][1][0].urls = [f"http://127.0.0.1:9302/failed?token={REFUSED['access_token']}"]
    with pytest.raises(
        NonConformance, match=rf"access token was in the URL of a request the browser made, .*'{FAULT}'"
    ):
        leaks.tokens_not_in_urls(WEB, app_run)


def test_appc10_is_blocked_by_appc11_where_the_secret_was_only_in_the_url():
    request = SimpleNamespace(node=SimpleNamespace(user_properties=[], stash={}))
    authorize = RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], (("state", "s" * 40),), (), {}, "", 302)
    app_run = AppRun(sign_ins=[_sign_in()], observed=[Observed([authorize, _token(NORMAL), _refresh_in_query()])])
    with pytest.raises(MetTheCause, match=r"carries the client secret in its URL only.*APPC-11 names it") as raised:
        web_app_authenticates(request, WEB, app_run)
    assert "carries no client secret" not in str(raised.value)
    needs = catalogue(ROOT / "appside" / "features" / "rules.yaml")
    failed_step = {"step": "Then every token request ...", "own_check": False, "met_the_cause": True}
    rules = {
        "APPC-11": {"status": "failed", "scenarios": [{"status": "failed", "reason": "the client secret was sent"}]},
        "APPC-10": {
            "status": "failed",
            "scenarios": [{"status": "failed", "reason": str(raised.value), "failed_step": failed_step}],
        },
    }
    resolve_blocked(rules, needs=lambda rule_id: needs[rule_id].needs, controls=lambda rule_id: ())
    assert (rules["APPC-10"]["status"], rules["APPC-10"]["blocked_by"]) == ("blocked", "APPC-11")
