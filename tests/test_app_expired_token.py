"""APPC-20 judges what its title and RFC 6749 section 1.5 say: the expired access token used at the
API or userinfo fails; a refresh, a new sign-in or a call with a valid token after the expiry
passes, whether or not the application went back to the API by itself; nothing after the expiry
could not be checked."""

import json
from types import SimpleNamespace

import pytest
from run import run_appside

from appside.observed import Observed
from appside.record import UNCHECKED
from appside.stand_in import free_port
from appside.steps.refusals import no_expired_token, renewed
from appside.steps.sign_ins import AppRun
from sandbox.faults import SHORT_LIFETIME
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NonConformance

ISSUED_AT = 1000.0
EXPIRED = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.expired-one"
FRESH = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjJ9.fresh-one"
AFTER_EXPIRY = ISSUED_AT + SHORT_LIFETIME + 1.5


def _request(at, method, path, query=(), form=(), headers=None, status=200, answer=None, notes=None):
    return RecordedRequest(
        at, method, path, tuple(query), tuple(form), headers or {}, "", status, "", answer, notes or {}
    )


def _sign_in(at=ISSUED_AT, token=EXPIRED) -> list:
    """An authorization request and its code redeemed for `token`, of SHORT_LIFETIME seconds."""
    return [
        _request(at - 1, "GET", "/connect/authorize", (("state", f"s{at}"),)),
        _request(
            at,
            "POST",
            "/connect/token",
            form=(("grant_type", "authorization_code"), ("code", "c")),
            answer={"access_token": token, "expires_in": SHORT_LIFETIME, "token_type": "Bearer"},
        ),
    ]


def _run(*after_expiry) -> AppRun:
    return AppRun(observed=[Observed([*_sign_in(), *after_expiry])])


def _judged(app_run: AppRun) -> str:
    """ "passed", the failure's message, or the skip's."""
    try:
        no_expired_token(app_run)
        renewed(SimpleNamespace(is_interactive=True), app_run)
    except NonConformance as failure:
        return f"failed: {failure}"
    except pytest.skip.Exception as skipped:
        return f"skipped: {skipped.msg}"
    return "passed"


def test_a_new_sign_in_after_the_expiry_passes_without_a_return_to_the_api():
    assert _judged(_run(_request(AFTER_EXPIRY, "GET", "/connect/authorize", (("state", "again"),)))) == "passed"


def test_a_refresh_or_a_call_with_a_fresh_token_after_the_expiry_passes():
    refresh = _request(
        AFTER_EXPIRY,
        "POST",
        "/connect/token",
        form=(("grant_type", "refresh_token"),),
        answer={"access_token": FRESH, "expires_in": 3600},
    )
    assert _judged(_run(refresh)) == "passed"
    call = _request(AFTER_EXPIRY + 0.1, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {FRESH}"}, status=401)
    assert _judged(_run(refresh, call)) == "passed"  # the token is what counts, not whether the API took it


@pytest.mark.parametrize(
    "call",
    [
        _request(AFTER_EXPIRY, "GET", "/api/v1/me", headers={"Authorization": "Bearer x"}, notes={"bearer": "expired"}),
        _request(AFTER_EXPIRY, "GET", "/api/v1/me", (("access_token", EXPIRED),), status=401),  # in the URL
        _request(AFTER_EXPIRY, "GET", "/connect/userinfo", headers={"Authorization": f"Bearer {EXPIRED}"}, status=401),
    ],
    ids=["api-header", "api-query", "userinfo"],
)
def test_the_expired_token_used_at_the_api_or_userinfo_fails(call):
    again = _request(AFTER_EXPIRY + 1, "GET", "/connect/authorize", (("state", "again"),))
    assert _judged(_run(call, again)).startswith("failed: the application called ")


def test_nothing_after_the_expiry_could_not_be_checked():
    assert _judged(_run()).startswith(f"skipped: {UNCHECKED}: after the access token expired the application sent")


def test_a_request_that_shows_neither_could_not_be_checked():
    judged = _judged(_run(_request(AFTER_EXPIRY, "GET", "/api/v1/me", status=401, notes={"bearer": "missing"})))
    assert judged.startswith(f"skipped: {UNCHECKED}") and "GET /api/v1/me" in judged


def test_no_token_at_all_is_nothing_to_check():
    authorize = _request(ISSUED_AT - 1, "GET", "/connect/authorize", (("state", "s"),))
    app_run = AppRun(observed=[Observed([authorize, _request(ISSUED_AT, "POST", "/connect/token", status=400)])])
    assert "got no token at all" in _judged(app_run)


def test_the_reference_web_app_without_offline_access_signs_in_again_and_passes(tmp_path):
    """No refresh token: when its token expired it starts a new sign-in and, greeting the user from
    the ID token there, does not go back to the API by itself (as the partner's Java application)."""
    record = tmp_path / "compliance.json"
    completed = run_appside(
        "--app=examples/web_app/application.yaml",
        "--rule=APPC-20",
        f"--compliance={record}",
        f"--alluredir={tmp_path / 'allure-results'}",
        "-p",
        "no:cacheprovider",
        environ={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "WEB_APP_CLIENT_SECRET": "a-secret-of-the-test-4c9e1f7b",
            "WEB_APP_PORT": str(free_port()),
            "WEB_APP_SCOPE": "openid profile email",
            "REFERENCE_APP_DEFECTS": "greeting-only",
            "APP_SETTLE": "1",
        },
    )
    terminal = completed.stdout + completed.stderr
    rule = next(r for r in json.loads(record.read_text())["rules"] if r["rule_id"] == "APPC-20")
    assert rule["status"] == "passed", terminal[-3000:]
    evidence = [
        f.read_text() for f in (tmp_path / "allure-results").glob("*-attachment.txt") if "never used" in f.read_text()
    ]
    assert len(evidence) == 1 and "started a new sign-in" in evidence[0], evidence  # no refresh, no API call
    assert "refreshed" not in evidence[0] and "valid access token" not in evidence[0], evidence
