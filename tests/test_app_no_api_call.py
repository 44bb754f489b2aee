"""A rule judged on how the application uses its tokens on its calls to the Visma API never passes where it
made none. A service that exited 0 once it had its token passed APPC-26 (no token in the URL of an API call
it never made) and APPC-20 (a new token in each run, used nowhere): such a rule is skipped for missing
application file data, naming the key that makes the application call the API, and a critical one leaves
the run incomplete (exit 5, appside/matrix.py's `no-api-call` switch of the reference service); a leak
seen elsewhere still fails it."""

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from _pytest.outcomes import Skipped

from appside.application import Application, Drive
from appside.browser_driver import SignIn
from appside.matrix import row_from_record
from appside.observed import Observed
from appside.service_driver import ServiceRun
from appside.steps.leaks import credentials_only_where_they_may_go, tokens_not_in_urls
from appside.steps.service import note_failed_run
from appside.steps.sign_ins import AppRun
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NonConformance, NothingToCheck

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.issued-access-token"
SERVICE = Application(
    "service",
    Path("s.yaml"),
    "service",
    "svc",
    Drive("command", command="my-service --once"),
    "service-secret-9f2c",
    scope="visma_api:read",
    tenant_id="t1",
)
WEB = Application(
    "web",
    Path("w.yaml"),
    "web",
    "web-app",
    Drive("browser", sign_in_url="http://127.0.0.1:9302/login", use_api_url="http://127.0.0.1:9302/profile"),
    "web-secret-4b1d",
    redirect_uris=("http://127.0.0.1:9302/callback",),
)


def _request(path, method="POST", query=(), form=(), headers=None, answer=None, at=1.0) -> RecordedRequest:
    return RecordedRequest(at, method, path, tuple(query), tuple(form), headers or {}, "", 200, "", answer, {})


def _token(grant="client_credentials") -> RecordedRequest:
    return _request("/connect/token", form=(("grant_type", grant),), answer={"access_token": TOKEN, "expires_in": 3})


def _api_call(query=()) -> RecordedRequest:
    return _request("/api/v1/companies", "GET", query=query, headers={"Authorization": f"Bearer {TOKEN}"}, at=2.0)


def _service(*entries) -> AppRun:
    return AppRun(sign_ins=[ServiceRun(True, "`my-service --once` exited 0")], observed=[Observed(list(entries))])


def _web(*entries, page_urls=()) -> AppRun:
    sign_in = SignIn(True, 200, urls=[], page_urls=list(page_urls), contents=[])
    sign_in.sent_elsewhere = []
    authorize = _request("/connect/authorize", "GET", query=(("state", "s" * 30),), at=0.5)
    return AppRun(sign_ins=[sign_in, sign_in], observed=[Observed([authorize, *entries])])


def test_appc26_with_no_api_call_is_missing_data_naming_the_services_command():
    with pytest.raises(Skipped, match=r"^missing application file data \(drive\.command\): the application called "):
        tokens_not_in_urls(SERVICE, _service(_token()))
    tokens_not_in_urls(SERVICE, _service(_token(), _api_call()))  # the API called, the token in no URL: a pass


def test_appc26_fails_on_a_token_in_the_url_of_an_api_call_and_on_one_in_a_page_url_without_any_api_call():
    with pytest.raises(NonConformance, match="access token was sent in the URL of GET /api/v1/companies"):
        tokens_not_in_urls(SERVICE, _service(_token(), _api_call(query=(("access_token", TOKEN),))))
    leaking = _web(_token("authorization_code"), page_urls=[f"http://127.0.0.1:9302/home#access_token={TOKEN}"])
    with pytest.raises(NonConformance, match="was in the address of a page the browser showed"):
        tokens_not_in_urls(WEB, leaking)


def test_appc26_of_a_service_whose_token_request_was_refused_is_blocked_not_skipped():
    """svc-manual-basic: every run's token request refused (invalid_client), so no token to put in a URL. That is
    "One cause, one failure": the rule is blocked by the rule that broke the token request (APPC-12, `needs`),
    not skipped as if nothing were there to judge."""
    asked = _request("/connect/token", form=(("grant_type", "client_credentials"),), answer={"error": "invalid_client"})
    refused = replace(asked, status=401)
    app_run = AppRun(
        sign_ins=[ServiceRun(False, "`my-service --once` exited 1: token request refused: 401")],
        observed=[Observed([refused])],
    )
    try:
        tokens_not_in_urls(SERVICE, app_run)
    except NothingToCheck as blocked:  # blocked by a failed rule it needs, else could not be checked (appside.record)
        assert "the stand-in issued no token in these runs" in str(blocked) and "exited 1" in str(blocked)
    except Skipped as skipped:
        pytest.fail(f"skipped, not blocked: {skipped.msg}")
    else:
        pytest.fail("passed on no token")


def test_a_web_app_that_called_nothing_on_its_api_page_names_drive_use_api_url():
    with pytest.raises(Skipped, match=r"drive\.use_api_url \(http://127\.0\.0\.1:9302/profile\) was opened after"):
        tokens_not_in_urls(WEB, _web(_token("authorization_code")))
    tokens_not_in_urls(WEB, _web(_token("authorization_code"), _api_call()))


def test_appc32_judges_the_resource_servers_half_of_its_sentence_only_on_their_calls():
    with pytest.raises(Skipped, match=r"^missing application file data \(drive\.use_api_url\)"):
        credentials_only_where_they_may_go(WEB, _web(_token("authorization_code")))
    credentials_only_where_they_may_go(WEB, _web(_token("authorization_code"), _api_call()))


def _record(status: str, reason: str) -> dict:
    scenario = {"name": "APPC-26 a scenario", "id": "APPC-26", "status": status, "reason": reason}
    return {
        "rules": [{"rule_id": "APPC-26", "status": status, "scenarios": [scenario]}],
        "failed_rules": [],
        "error_rules": [],
        "blocked_rules": [],
    }


def test_a_switch_that_leaves_rules_without_evidence_is_caught_only_unjudged_and_incomplete():
    skipped = _record("skipped", "missing application file data (drive.command): it called nothing")
    assert row_from_record("service:no-api-call", (), skipped, 5, unchecked=("APPC-26",)).caught
    assert not row_from_record("service:no-api-call", (), skipped, 0, unchecked=("APPC-26",)).caught
    passed = row_from_record("service:no-api-call", (), _record("passed", ""), 0, unchecked=("APPC-26",))
    assert not passed.caught and passed.missed == ["APPC-26"]
    assert row_from_record("service:clean", (), _record("passed", ""), 0).caught


def test_the_failed_run_notice_names_the_rules_that_may_still_pass_on_it():
    """svc-manual-basic: every run failed and APPC-11, -13, -24 passed on the token request it sent, while the notice
    said "no rule passed on a failed run". A rule that judged a request really sent may pass: the notice says which."""

    recorder = SimpleNamespace(notices=[])
    config = SimpleNamespace(pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder))
    note_failed_run(config, ServiceRun(False, "`my-service --once` exited 1"), Observed([]), 3)
    (notice,) = recorder.notices
    assert "no rule passed" not in notice
    assert "passes only on the requests it did send (its token request: APPC-11, APPC-12, APPC-13, APPC-24" in notice


def test_appc20s_skip_quotes_what_the_api_page_showed_and_names_the_token_lifetime_not_a_wrong_address():
    """okta-auth-js treats a token as expired 30 s before expires_in (expireEarlySeconds): with the stand-in's 3 s
    tokens its /invoices page showed "not signed in" and called nothing, and APPC-20's skip told the partner to name
    another address, though the address was right."""
    from appside.steps.refusals import renewed

    signed_in = SignIn(True, 200, urls=[], page_urls=[], contents=[])
    page = "<html><body><h1>Invoices</h1><p>not signed in</p><script>var t = 1</script></body></html>"
    opened = SignIn(
        False, None, "http://127.0.0.1:9302/profile", contents=[("http://127.0.0.1:9302/profile", page, "dom")]
    )
    authorize = _request("/connect/authorize", "GET", query=(("state", "s" * 30),), at=0.5)
    app_run = AppRun(sign_ins=[signed_in, opened], observed=[Observed([authorize, _token("authorization_code")])])
    with pytest.raises(Skipped) as skipped:
        renewed(WEB, app_run)
    said = skipped.value.msg
    assert (
        "drive.use_api_url (http://127.0.0.1:9302/profile) was opened after the access token expired and the "
        'application called nothing; the page showed "Invoices not signed in"; if that address is the one that calls '
        "the Visma API, the application may have held its access token as expired already: "
        "issuer.access_token_lifetime is 3 s" in said
    ), said
    assert "made it call nothing" not in said


def _rule_call(rule_id: str, app_run: AppRun) -> None:
    """appside.conftest's pytest_runtest_call around a scenario of `rule_id` that found nothing wrong in `app_run`."""
    from appside.conftest import SCENARIO_REQUEST, pytest_runtest_call

    item = SimpleNamespace(
        stash={SCENARIO_REQUEST: SimpleNamespace(getfixturevalue=lambda name: app_run)},
        config=SimpleNamespace(application=SERVICE),
        user_properties=[("rule", {"rule_id": rule_id})],
    )
    call = pytest_runtest_call(item)  # a hook wrapper: the generator around the scenario's call
    next(call)
    with pytest.raises(StopIteration):
        call.send(None)


def test_appc28_reads_the_whole_output_of_a_service_that_failed_on_the_apis_refusal_of_its_token_in_a_url():
    """LWP::Authen::OAuth2 service calling `GET /invoices?access_token=...`: the API refused it, the service exited 1
    after all it does, and its output was all there. APPC-26 fails; APPC-28 is judged on that output (passed, "the
    token in a URL is judged by APPC-26", as a web application's), not "could not be checked"."""
    in_url = replace(_api_call(query=(("access_token", TOKEN),)), headers={}, status=401)
    run = ServiceRun(False, "`my-service --once` exited 1: API answered 401")
    _rule_call("APPC-28", AppRun(sign_ins=[run], observed=[Observed([_token(), in_url])]))
    # refused with the token in its header (an expired one): the run shows nothing of what the service does once
    # it works, and APPC-28 could not be checked; so too a run cut short by drive.timeout
    in_header = replace(_api_call(), status=401)
    with pytest.raises(NothingToCheck, match="exited 1"):
        _rule_call("APPC-28", AppRun(sign_ins=[run], observed=[Observed([_token(), in_header])]))
    cut_short = ServiceRun(False, "`my-service --once` did not finish within 20 s", ended=False)
    with pytest.raises(NothingToCheck, match="did not finish"):
        _rule_call("APPC-28", AppRun(sign_ins=[cut_short], observed=[Observed([_token(), in_url])]))
