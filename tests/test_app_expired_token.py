"""APPC-20 judges what its title and RFC 6749 section 1.5 say: the expired access token used at the
API or userinfo fails; a refresh, a new sign-in or a call with a valid token after the expiry
passes, whether or not the application went back to the API by itself; nothing after the expiry
could not be checked. A service is judged on its second run, once the token it held after its first
(issued then, or kept from before and used then) has expired: a service that keeps its token until
it expires passes as one that fetches a token per run does."""

import json
from pathlib import Path

import pytest
from run import run_appside

from appside.application import Application, Drive
from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.record import UNCHECKED
from appside.service_driver import ServiceRun
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


def _used(at=ISSUED_AT + 0.5, token=EXPIRED):
    """A call to the Visma API with the token while it is valid: the application uses its token there."""
    return _request(at, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, notes={"bearer": "valid"})


def _run(*after_expiry, used: bool = False) -> AppRun:
    return AppRun(observed=[Observed([*_sign_in(), *([_used()] if used else []), *after_expiry])])


WEB_APP = Application("web", Path("a.yaml"), "web", "web-app", Drive("browser"), redirect_uris=("http://x/cb",))
SERVICE = Application(
    "service",
    Path("s.yaml"),
    "service",
    "svc",
    Drive("command", command="true"),
    "s",
    scope="visma_api:read",
    tenant_id="t1",
)


def _judged(app_run: AppRun, application: Application = WEB_APP) -> str:
    """ "passed", the failure's message, or the skip's."""
    try:
        no_expired_token(application, app_run)
        renewed(application, app_run)
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


def _refreshed_at(at: float, token: str = FRESH):
    return _request(
        at,
        "POST",
        "/connect/token",
        form=(("grant_type", "refresh_token"),),
        answer={"access_token": token, "expires_in": 3600},
    )


def test_an_expired_token_sent_in_another_scenarios_sign_ins_is_warned_there(monkeypatch):
    """An outsider's Apache mod_auth_openidc application refreshed at once in APPC-20's own sign-in (its token's 3 s
    within OIDCRefreshAccessTokenBeforeExpiry's 30), while its backend kept the token it first saw: in APPC-15's
    two expiries it sent that token expired, twice, and showed the refusal. APPC-20 passed; the stand-in had seen
    the evidence its sentence names, in another scenario's sign-ins."""
    from appside.concurrent import TWO_EXPIRIES
    from appside.steps import refusals

    own = _run(_refreshed_at(ISSUED_AT + 0.1), _request(AFTER_EXPIRY, "GET", "/api/v1/me", notes={"bearer": "valid"}))
    expired = [_request(AFTER_EXPIRY + n, "GET", "/api/v1/me", status=401, notes={"bearer": "expired"}) for n in (0, 4)]
    elsewhere = Observed([*_sign_in(), _refreshed_at(ISSUED_AT + 0.1, EXPIRED), *expired])
    monkeypatch.setattr(refusals, "every_flow_made", lambda: [(TWO_EXPIRIES, [], elsewhere)])
    judged = _judged(own)
    assert judged.startswith(
        "failed: the application called /api/v1/me 2 time(s) in the sign-in 'two expiries, API used after each' (made "
        "for the step 'the access token expires twice and the application uses the API after each expiry') with an "
        "access token that had expired"
    ), judged
    renewed_there = Observed(
        [
            *elsewhere.entries,
            _refreshed_at(AFTER_EXPIRY + 5),
            _request(AFTER_EXPIRY + 6, "GET", "/api/v1/me", notes={"bearer": "valid"}),
        ]
    )
    monkeypatch.setattr(refusals, "every_flow_made", lambda: [(TWO_EXPIRIES, [], renewed_there)])
    assert _judged(own) == "passed"  # refused, renewed, retried: RFC 6750 section 3.1


def test_the_evidence_says_a_refresh_came_before_the_expiry(monkeypatch):
    """A refresh 0.1 s after the 3-second token was issued was evidence "after the access token expired the
    application refreshed the access token": it refreshed ahead of the expiry, and says so."""
    from appside.steps import refusals

    attached: list[str] = []
    monkeypatch.setattr(refusals.allure, "attach", lambda body, **_: attached.append(body))
    monkeypatch.setattr(refusals, "every_flow_made", lambda: [])
    assert _judged(_run(_refreshed_at(ISSUED_AT + 0.1), used=True)) == "passed"
    assert attached == [
        f"given an access token that expired {SHORT_LIFETIME} s after it was issued, the application refreshed the "
        "access token (1 request(s) before it expired, the first 0.1 s after it was issued), and never used the "
        "expired one"
    ]


def test_nothing_after_the_expiry_could_not_be_checked():
    assert _judged(_run(used=True)).startswith(
        f"skipped: {UNCHECKED}: after the access token expired the application sent"
    )


def test_an_application_that_never_used_its_token_at_the_api_and_renewed_nothing_after_the_expiry_is_missing_data():
    """A refresh ahead of the expiry, or nothing at all, from an application that called neither the Visma API
    nor userinfo: nothing shows what it does with an expired token, which passed on the refresh alone. A new
    sign-in or a refresh after the expiry (the page that uses the API opened) still shows it, API call or none."""
    for app_run in (_run(_refreshed_at(ISSUED_AT + 0.1)), _run()):
        judged = _judged(app_run)
        assert judged.startswith(
            "skipped: missing application file data (drive.use_api_url): the application "
            "called neither the Visma API nor userinfo"
        ), judged
    assert _judged(_run(_refreshed_at(AFTER_EXPIRY))) == "passed"


def test_an_api_page_that_answered_an_error_after_the_expiry_could_not_be_checked_not_missing_data():
    """Flask-Dance's auto-refresh raised on its /invoices page once the token expired (HTTP 500): the address is
    right, so no advice to name another; the rule could not be checked, saying what the page answered."""
    page = "http://127.0.0.1:9302/invoices"
    application = Application(
        "web", Path("a.yaml"), "web", "web-app", Drive("browser", launch="./run.sh", use_api_url=page), "s"
    )
    app_run = _run()
    app_run.sign_ins = [SignIn(True, 200), SignIn(False, final_url=page, page_status=500)]
    assert _judged(app_run, application) == (
        f"skipped: {UNCHECKED}: drive.use_api_url answered HTTP 500 after the access token expired (see "
        "application.log), so nothing tells whether it would use an access token that expired"
    )


def test_a_request_that_shows_neither_could_not_be_checked():
    judged = _judged(_run(_request(AFTER_EXPIRY, "GET", "/api/v1/me", status=401, notes={"bearer": "missing"})))
    assert judged.startswith(f"skipped: {UNCHECKED}") and "GET /api/v1/me" in judged


def test_no_token_at_all_is_nothing_to_check():
    authorize = _request(ISSUED_AT - 1, "GET", "/connect/authorize", (("state", "s"),))
    app_run = AppRun(observed=[Observed([authorize, _request(ISSUED_AT, "POST", "/connect/token", status=400)])])
    assert "got no token at all" in _judged(app_run)


KEPT = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjN9.kept-one"
SECOND_RUN = ISSUED_AT + 10.0  # the first run at ISSUED_AT, the second once its token expired


def _service_run(*entries) -> AppRun:
    """Two runs of a service, the second started at SECOND_RUN."""
    runs = [ServiceRun(True, "exited 0", started=ISSUED_AT - 0.5), ServiceRun(True, "exited 0", started=SECOND_RUN)]
    return AppRun(sign_ins=runs, observed=[Observed(list(entries))])


def _api(at, token, bearer, exp=None):
    notes = {"bearer": bearer, **({"token_exp": exp} if exp is not None else {})}
    return _request(at, "GET", "/api/v1/companies", headers={"Authorization": f"Bearer {token}"}, notes=notes)


def _client_credentials(at, token=FRESH, status=200, answer=None, form=(("scope", "visma_api:read"),)):
    return _request(
        at,
        "POST",
        "/connect/token",
        form=(("grant_type", "client_credentials"), *form),
        status=status,
        answer=answer or {"access_token": token, "expires_in": SHORT_LIFETIME, "token_type": "Bearer"},
    )


def test_a_service_that_keeps_its_token_until_it_expires_passes():
    """Its first run used a token kept from an earlier scenario (no token request, the API took it);
    once that token expired its second run fetched a new one."""
    judged = _judged(
        _service_run(
            _api(ISSUED_AT, KEPT, "valid", exp=ISSUED_AT + 2),
            _client_credentials(SECOND_RUN + 0.1),
            _api(SECOND_RUN + 0.2, FRESH, "valid", exp=SECOND_RUN + 3),
        ),
        SERVICE,
    )
    assert judged == "passed"


def test_a_service_that_keeps_using_its_token_after_it_expired_fails():
    judged = _judged(
        _service_run(_api(ISSUED_AT, KEPT, "valid", exp=ISSUED_AT + 2), _api(SECOND_RUN + 0.1, KEPT, "expired")),
        SERVICE,
    )
    assert judged.startswith("failed: the application called /api/v1/companies 1 time(s) with an access token")
    assert "the API call the service made stayed refused" in judged and "the user" not in judged


def test_a_service_that_fetches_a_token_in_each_run_and_never_calls_the_api_is_missing_data():
    """A new token in its second run passed APPC-20: a service that exits 0 once it has its token fetches one in
    every run, whatever it would do with an expired one; without a call to the API nothing shows that."""
    judged = _judged(
        _service_run(_client_credentials(ISSUED_AT, EXPIRED), _client_credentials(SECOND_RUN + 0.1)), SERVICE
    )
    assert judged.startswith(
        "skipped: missing application file data (drive.command): the application called "
        "neither the Visma API nor userinfo"
    ), judged
    assert "make drive.command run the service as it runs in production, calling the Visma API" in judged


def test_a_service_that_fetches_a_token_per_run_passes():
    judged = _judged(
        _service_run(
            _client_credentials(ISSUED_AT, EXPIRED),
            _api(ISSUED_AT + 0.1, EXPIRED, "valid", exp=ISSUED_AT + 3),
            _client_credentials(SECOND_RUN + 0.1),
            _api(SECOND_RUN + 0.2, FRESH, "valid", exp=SECOND_RUN + 3),
        ),
        SERVICE,
    )
    assert judged == "passed"


def test_a_service_whose_second_run_sent_nothing_says_how_that_run_ended():
    """reports/c-long (msal, load 45): APPC-20 said the service "sent the stand-in nothing at all" after the
    expiry, and the report showed only the first run's outcome: the second run had not finished within
    drive.timeout and was stopped before it sent anything. The message quotes that run's end and the fix."""
    app_run = _service_run(
        _client_credentials(ISSUED_AT, EXPIRED), _api(ISSUED_AT + 0.1, EXPIRED, "valid", exp=ISSUED_AT + 3)
    )
    app_run.sign_ins[-1] = ServiceRun(False, "`true` did not finish within 20 s", started=SECOND_RUN)
    judged = _judged(app_run, SERVICE)
    assert judged.startswith(f"skipped: {UNCHECKED}: after the access token expired the application sent")
    assert judged.endswith(
        "expired token: its second run did not finish within 20 s; raise drive.timeout (now 20 s) if the service "
        "needs longer"
    ), judged


def test_a_service_whose_kept_token_outlives_the_wait_could_not_be_checked():
    """A token valid for longer than the suite's service tokens live (kept from another run of the
    suite): its second run shows nothing about an expired token."""
    judged = _judged(
        _service_run(_api(ISSUED_AT, KEPT, "valid", exp=ISSUED_AT + 3000), _api(SECOND_RUN, KEPT, "valid")), SERVICE
    )
    assert judged.startswith(f"skipped: {UNCHECKED}: the access token the service used in its first run was still")


@pytest.mark.parametrize(
    "form, answer, named",
    [
        (
            (("scope", "visma_api:read"), ("tenant_id", "t2")),
            {"error": "invalid_tenant", "error_description": "the tenant has not approved this application"},
            "tenant_id 't2', not the application file's 't1'",
        ),
        (
            (("scope", "visma_api:write"),),
            {"error": "invalid_scope", "error_description": "the scope is not registered"},
            "scope visma_api:write, which the application file does not register",
        ),
    ],
    ids=["tenant", "scope"],
)
def test_a_service_whose_token_requests_were_refused_names_the_answer_and_what_differs_from_its_file(
    form, answer, named
):
    refused = _client_credentials(ISSUED_AT, status=400, answer=answer, form=form)
    judged = _judged(
        _service_run(refused, _client_credentials(SECOND_RUN, status=400, answer=answer, form=form)), SERVICE
    )
    assert "got no access token from the stand-in" in judged, judged
    assert f'HTTP 400 {answer["error"]} "{answer["error_description"]}"' in judged, judged
    assert named in judged, judged


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


@pytest.mark.parametrize("defects", ["", "cache-token"])
def test_a_service_s_normal_run_is_the_first_of_its_two_runs_when_no_token_was_issued_before_it(tmp_path, defects):
    """Its normal run came first, with no token of the stand-in to keep: APPC-20 runs it once more, once
    the token it holds after it has expired, instead of two more runs after waiting out every earlier token."""
    record = tmp_path / "compliance.json"
    completed = run_appside(
        "--app=examples/service_app/application.yaml",
        f"--compliance={record}",
        "-p",
        "no:cacheprovider",
        environ={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "SERVICE_APP_CLIENT_SECRET": "a-secret-of-the-test-4c9e1f7b",
            "REFERENCE_APP_DEFECTS": defects,
        },
    )
    terminal = completed.stdout + completed.stderr
    rule = next(r for r in json.loads(record.read_text())["rules"] if r["rule_id"] == "APPC-20")
    assert rule["status"] == "passed", terminal[-3000:]
    assert "2 service runs" in terminal, terminal[-3000:]


def _refresh(at, token=FRESH):
    return _request(
        at,
        "POST",
        "/connect/token",
        form=(("grant_type", "refresh_token"),),
        answer={"access_token": token, "expires_in": 3600, "token_type": "Bearer"},
    )


def test_an_expired_token_refused_then_refreshed_and_retried_passes():
    """RFC 6750 section 3.1: after invalid_token the client "MAY request a new access token and retry"
    (@badgateway/oauth2-client's OAuth2Fetch without expiresAt, many others): sent once, refused with
    401, refreshed, the call retried with the new token: the contract kept."""
    refused = _request(AFTER_EXPIRY, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {EXPIRED}"}, status=401)
    retry = _request(AFTER_EXPIRY + 0.2, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {FRESH}"})
    assert _judged(_run(refused, _refresh(AFTER_EXPIRY + 0.1), retry)) == "passed"
    # and one that signs in again, redeems its new code and retries
    again = _sign_in(AFTER_EXPIRY + 2, FRESH)
    later = _request(AFTER_EXPIRY + 2.1, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {FRESH}"})
    assert _judged(_run(refused, *again, later)) == "passed"


def test_an_expired_token_refused_then_refreshed_but_never_retried_with_success_fails():
    refused = _request(AFTER_EXPIRY, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {EXPIRED}"}, status=401)
    judged = _judged(_run(refused, _refresh(AFTER_EXPIRY + 0.1)))
    assert judged.startswith("failed: the application called /api/v1/me 1 time(s)"), judged
    assert "refreshed the token but never called the API again with a valid access token" in judged, judged
    assert "RFC 6750 section 3.1" in judged


def test_a_service_whose_expired_token_is_refused_then_renewed_and_retried_passes():
    judged = _judged(
        _service_run(
            _api(ISSUED_AT, KEPT, "valid", exp=ISSUED_AT + 2),
            _api(SECOND_RUN + 0.1, KEPT, "expired"),
            _client_credentials(SECOND_RUN + 0.2),
            _api(SECOND_RUN + 0.3, FRESH, "valid", exp=SECOND_RUN + 3),
        ),
        SERVICE,
    )
    assert judged == "passed"


def test_appc_20_is_warning_level_for_no_sentence_binds_the_client_to_renew():
    """RFC 6749 section 1.5 describes the renewal, RFC 6750 section 3.1 allows it: a failed APPC-20
    is warned, not failed (the guide: cite a sentence that binds the app, or make it warning-level)."""
    from suite.configuration.rules import warning_level_rules

    assert "APPC-20" in warning_level_rules(Path(__file__).resolve().parents[1] / "appside" / "features")


def test_an_expired_token_refused_then_renewed_is_reported_as_sent_not_as_never_used(monkeypatch):
    """angular-oauth2-oidc (clockSkewInSec 600 by default) sent the expired token, was refused, signed in again:
    the step read "the application never sends an expired access token: passed" and the evidence "never used the
    expired one" beside an attachment showing the call. The step's text and the evidence now say what happened."""
    import allure

    attached: list[str] = []
    monkeypatch.setattr(allure, "attach", lambda body, **kwargs: attached.append(body))
    refused = _request(AFTER_EXPIRY, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {EXPIRED}"}, status=401)
    later = _request(AFTER_EXPIRY + 2.1, "GET", "/api/v1/me", headers={"Authorization": f"Bearer {FRESH}"})
    assert _judged(_run(refused, *_sign_in(AFTER_EXPIRY + 2, FRESH), later)) == "passed"
    evidence = attached[-1]
    assert "never used the expired one" not in evidence, evidence
    assert "sent it 1 time(s) (/api/v1/me), was refused, then started a new sign-in" in evidence, evidence
    feature = (Path(__file__).resolve().parents[1] / "appside" / "features" / "refusals.feature").read_text()
    assert "never sends an expired access token" not in feature
    assert "Then the application does not go on with an expired access token" in feature


ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ3ZWItYXBwIn0.id-token"


def test_an_application_that_sends_its_id_token_as_the_bearer_token_could_not_be_checked():
    """An outside Flask application called the API with its ID token: the API refused it (not an access token),
    the application signed in again, and APPC-20 passed on that new sign-in, though the application never used
    its access token at all, expired or not: nothing shows what it does once its access token expires."""
    sign_in = _sign_in()
    sign_in[1] = _request(
        ISSUED_AT,
        "POST",
        "/connect/token",
        form=(("grant_type", "authorization_code"), ("code", "c")),
        answer={"access_token": EXPIRED, "expires_in": SHORT_LIFETIME, "id_token": ID_TOKEN},
    )
    refused = _request(
        AFTER_EXPIRY, "GET", "/api/invoices", headers={"Authorization": f"Bearer {ID_TOKEN}"}, status=401
    )
    again = _request(AFTER_EXPIRY + 0.1, "GET", "/connect/authorize", (("state", "again"),))
    judged = _judged(AppRun(observed=[Observed([*sign_in, refused, again])]))
    assert judged.startswith(f"skipped: {UNCHECKED}: the application sent its ID token as the bearer token"), judged
    assert "(1 call(s): GET /api/invoices)" in judged and "not an access token" in judged
    assert "OpenID Connect Core 1.0 section 2" in judged
