"""A rule with nothing to judge never passes. APPC-11 and APPC-24 read the token requests (the secret is
used there), APPC-27 and APPC-28 the tokens the stand-in issued, APPC-20 a sign-in that held the
short-lived token: where the application sent no token request, got no token or never finished that
sign-in (its redirect_uri refused, the wrong issuer port, a callback that crashed), each found nothing.
An Auth.js app whose redirect_uri had a trailing slash Visma Connect refused, and one pointed at
the wrong issuer port, passed all four leak rules; one whose callback crashed after its token request
passed APPC-20 on the new sign-in its login page started. Such a rule is blocked by the rule that broke
the sign-in, or could not be checked where none failed (incomplete), as docs/certify-application.md
says in "One cause, one failure"."""

from types import SimpleNamespace

import pytest
from _pytest.outcomes import Skipped
from records import application_record

from appside.application import Marker
from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.record import UNCHECKED, ApplicationRecorder
from appside.steps.client_secret import one_authentication_method, secret_not_in_browser_urls
from appside.steps.leaks import nothing_secret_in_output, nothing_secret_in_pages
from appside.steps.refusals import renewed
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.faults import SHORT_LIFETIME
from sandbox.recording import RecordedRequest
from suite.configuration.rules import DOCS_BASE
from suite.verdict.blocking import resolve_blocked
from suite.verdict.checks import NothingToCheck

SECRET = "web-secret-value-1234"
WEB = SimpleNamespace(
    client_id="authjs-invoices",
    app_type="web",
    is_interactive=True,
    client_secret=SECRET,
    access_token_lifetime=SHORT_LIFETIME,
    drive=SimpleNamespace(
        sign_in_url="http://127.0.0.1:9302/login",
        output_file=None,
        command=None,
        url=None,
        shows_signed_in=lambda: "the text 'Welcome'",
        signed_in=Marker(text="Welcome"),
        timeout=20.0,
    ),
)


def _request(path, query=(), form=(), status=200, response=None, at=0.0) -> RecordedRequest:
    method = "GET" if query else "POST"
    return RecordedRequest(at, method, path, tuple(query), tuple(form), {}, "", status, response_json=response)


def _authorize(at=0.0) -> RecordedRequest:
    return _request(PATHS["authorization_endpoint"], query=[("state", f"s{at}" * 10)], status=302, at=at)


def _token(status=200, at=1.0) -> RecordedRequest:
    answer = {"access_token": "access-token-value-1", "refresh_token": "refresh-token-value-1"}
    form = [("grant_type", "authorization_code"), ("code", "c1")]
    return _request(PATHS["token_endpoint"], form=form, status=status, response=answer if status == 200 else {}, at=at)


def _run(entries, finished) -> AppRun:
    sign_in = SignIn(finished, None if not finished else 200, seconds=21.0, urls=[], page_urls=[], contents=[])
    sign_in.cookies = []
    return AppRun(sign_ins=[sign_in, sign_in], observed=[Observed(list(entries)), Observed(list(entries))])


def _launched(tmp_path, text=""):
    log = tmp_path / "application.log"
    log.write_text(text)
    return SimpleNamespace(
        config=SimpleNamespace(launched=SimpleNamespace(log_path=log, output=log.read_text, found_left_out=set))
    )


def test_the_leak_and_secret_rules_find_nothing_to_judge_where_no_token_request_was_sent(tmp_path):
    """A redirect_uri Visma Connect refused: the authorization request went out, nothing after it."""
    broken = _run([_authorize()], finished=False)
    for rule, args in (
        (secret_not_in_browser_urls, (WEB, broken)),  # APPC-11
        (one_authentication_method, (WEB, broken)),  # APPC-24
        (nothing_secret_in_pages, (WEB, broken)),  # APPC-27
        (nothing_secret_in_output, (_launched(tmp_path), WEB, broken)),  # APPC-28
    ):
        with pytest.raises(NothingToCheck, match="normal sign-in 1: the application did not show"):
            rule(*args)


def test_a_token_refused_leaves_the_leak_rules_nothing_and_the_secret_rules_their_requests(tmp_path):
    refused = _run([_authorize(), _token(status=401)], finished=False)
    secret_not_in_browser_urls(WEB, refused)  # a token request was sent: the secret was used
    one_authentication_method(WEB, refused)
    for rule, args in (
        (nothing_secret_in_pages, (WEB, refused)),
        (nothing_secret_in_output, (_launched(tmp_path), WEB, refused)),
    ):
        with pytest.raises(NothingToCheck, match="issued no access or refresh token"):
            rule(*args)


def test_a_sign_in_that_never_reached_the_stand_in_leaves_them_unchecked(tmp_path):
    """The wrong issuer port: the application's page broke before any authorization request."""
    nowhere = _run([], finished=False)
    for rule, args in (
        (secret_not_in_browser_urls, (WEB, nowhere)),
        (one_authentication_method, (WEB, nowhere)),
        (nothing_secret_in_pages, (WEB, nowhere)),
        (nothing_secret_in_output, (_launched(tmp_path), WEB, nowhere)),
    ):
        with pytest.raises(Skipped, match=f"^{UNCHECKED}: no sign-in through the application"):
            rule(*args)


def test_a_leak_is_a_failure_whatever_else_is_missing_and_a_finished_sign_in_passes(tmp_path):
    from suite.verdict.checks import NonConformance

    leaking = _run([_authorize()], finished=False)
    leaking.sign_ins[0].urls = [f"http://127.0.0.1:9302/login?client_secret={SECRET}"]
    with pytest.raises(NonConformance, match="client secret was in the URL"):
        secret_not_in_browser_urls(WEB, leaking)
    fine = _run([_authorize(), _token()], finished=True)
    secret_not_in_browser_urls(WEB, fine)
    one_authentication_method(WEB, fine)
    nothing_secret_in_pages(WEB, fine)
    nothing_secret_in_output(_launched(tmp_path, "invoices app on http://127.0.0.1:9302\n"), WEB, fine)


def test_appc20_after_a_sign_in_that_never_finished_a_new_sign_in_is_no_renewal():
    """Auth.js with type 'oauth' (its callback failed after the token request): opening drive.use_api_url
    after the expiry sent the browser to a new sign-in, which APPC-20 counted as the renewal."""
    entries = [_authorize(at=0.0), _token(at=1.0), _authorize(at=9.0)]
    crashed = AppRun(sign_ins=[SignIn(False, 500, seconds=21.0), SignIn(False, None)], observed=[Observed(entries)])
    with pytest.raises(NothingToCheck, match="did not show the text 'Welcome', so the application never showed"):
        renewed(WEB, crashed)
    finished = AppRun(sign_ins=[SignIn(True, 200), SignIn(False, None)], observed=[Observed(entries)])
    renewed(WEB, finished)


def _rule(rule_id, status, **failed_step):
    scenario = {"id": f"t::{rule_id}", "status": status, "reason": "found nothing"}
    if failed_step:
        scenario["failed_step"] = {"step": "Then x", "own_check": False, **failed_step}
    return {"rule_id": rule_id, "status": status, "severity": "critical", "scenarios": [scenario]}


def test_nothing_to_judge_is_blocked_by_the_rule_that_broke_the_sign_in_and_else_could_not_be_checked():
    recorder = SimpleNamespace(unchecked=set())
    needs = {"APPC-27": ("APPC-02",), "APPC-28": ("APPC-02",)}.get
    rules = {
        "APPC-02": _rule("APPC-02", "failed"),
        "APPC-27": _rule("APPC-27", "failed", nothing_to_check=True),
    }
    resolve_blocked(rules, lambda r: needs(r, ()), lambda r: ())
    ApplicationRecorder.unblocked(recorder, rules)  # type: ignore[arg-type]
    assert (rules["APPC-27"]["status"], rules["APPC-27"]["blocked_by"]) == ("blocked", "APPC-02")
    rules = {
        "APPC-02": _rule("APPC-02", "passed"),
        "APPC-28": _rule("APPC-28", "failed", nothing_to_check=True),
        "APPC-26": _rule("APPC-26", "failed"),  # a failure of its own check stays one
    }
    resolve_blocked(rules, lambda r: needs(r, ()), lambda r: ())
    ApplicationRecorder.unblocked(recorder, rules)  # type: ignore[arg-type]
    assert rules["APPC-28"]["status"] == "skipped"
    assert rules["APPC-28"]["scenarios"][0]["reason"] == f"{UNCHECKED}: found nothing"
    assert rules["APPC-26"]["status"] == "failed"


@pytest.mark.parametrize(
    ("cause", "rule_id"),
    [("APPC-12", "APPC-26"), ("APPC-13", "APPC-26"), ("APPC-26", "APPC-27")],
    ids=["svc-manual-basic", "svc-no-tenant", "token-in-redirect"],
)
def test_the_catalogue_blocks_a_rule_by_the_failure_that_left_it_nothing(cause, rule_id):
    """A service's token request refused for want of its tenant (APPC-13) left APPC-26 no token to look for: it
    read "could not be checked" (APPC-26 did not need APPC-13) where "One cause, one failure" says blocked; a token
    the browser received in a URL leaves APPC-27 to APPC-26 (appside/features/rules.yaml, `needs`)."""
    recorder = ApplicationRecorder.__new__(ApplicationRecorder)
    rules = {cause: _rule(cause, "failed"), rule_id: _rule(rule_id, "failed", nothing_to_check=True)}
    resolve_blocked(rules, recorder.needs, lambda r: ())
    assert (rules[rule_id]["status"], rules[rule_id].get("blocked_by")) == ("blocked", cause)


def _grant(grant_type, sent, issued, at):
    form = [("grant_type", grant_type), ("refresh_token" if grant_type == "refresh_token" else "code", sent)]
    answer = {"access_token": f"access-{issued}", "refresh_token": issued}
    return _request(PATHS["token_endpoint"], form=form, response=answer, at=at)


def test_appc15_a_refresh_never_seen_after_a_rotation_is_no_failure_of_the_rotation():
    """Auth.js with its token in the API's URL (DEFECTS=token-in-url): the API refused it, the application
    dropped its tokens and signed in again, so each refresh used the refresh token of a new sign-in, never
    one a refresh had rotated in. APPC-26 fails; APPC-15 is blocked by it (or could not be checked), not
    failed "did not refresh twice"."""
    from appside.steps.requests_sent import newest_refresh_token

    entries = [
        _authorize(at=0.0),
        _grant("authorization_code", "code-1", "rt-1", 1.0),
        _grant("refresh_token", "rt-1", "rt-2", 5.0),  # rotated; then the API refused the token in its URL
        _authorize(at=6.0),
        _grant("authorization_code", "code-2", "rt-3", 7.0),
        _grant("refresh_token", "rt-3", "rt-4", 11.0),
    ]
    with pytest.raises(NothingToCheck, match="no refresh after a rotation"):
        newest_refresh_token(WEB, _run(entries, finished=True))
    assert "APPC-26" in ApplicationRecorder.needs(None, "APPC-15")  # type: ignore[arg-type]


def test_appc15_with_no_sign_in_reaching_the_stand_in_could_not_be_checked():
    """An application pointed at the wrong issuer port: exit 5 (incomplete), not 1 with APPC-15 failed."""
    from appside.steps.requests_sent import newest_refresh_token

    with pytest.raises(Skipped, match=f"^{UNCHECKED}: no sign-in through the application"):
        newest_refresh_token(WEB, _run([], finished=False))


def test_the_run_notice_names_the_broken_sign_in_page_not_the_marker_where_no_request_arrived():
    """An application whose /login answers HTTP 500: the run's NOTE says no authorization request
    arrived and how the page ended (status, address, its text bounded and masked), not drive.signed_in."""
    from appside.steps.sign_ins import _say_if_none_finished

    page = "<html><body><h1>Internal Server Error</h1><p>" + "x" * 500 + f" {SECRET}</p></body></html>"
    sign_in = SignIn(False, None, "http://127.0.0.1:9302/login", 21.0, urls=[], page_urls=[], page_status=500)
    sign_in.contents = [("http://127.0.0.1:9302/login", page, "dom")]
    recorder = SimpleNamespace(notices=[])
    config = SimpleNamespace(application=WEB, pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder))
    _say_if_none_finished(config, [(sign_in, Observed([])), (sign_in, Observed([]))])
    (notice,) = recorder.notices
    assert notice.startswith("no normal sign-in reached the stand-in: no authorization request arrived from")
    assert "its page answered HTTP 500 at http://127.0.0.1:9302/login" in notice and "Internal Server Error" in notice
    assert "drive.signed_in" in notice and "not drive.signed_in" in notice and "'Welcome'" not in notice
    assert SECRET not in notice and len(notice) < 700


def test_the_run_notice_names_a_refused_redirect_uri_not_the_marker():
    """arctic with redirect_uris registering localhost where the application sends 127.0.0.1: APPC-02
    failed, and the NOTE still said "check drive.signed_in", which was right."""
    from appside.steps.sign_ins import _say_if_none_finished

    application = SimpleNamespace(**vars(WEB), redirect_uris=("http://localhost:11001/callback",))
    sent = [("redirect_uri", "http://127.0.0.1:11001/callback"), ("client_id", WEB.client_id)]
    refused = _request(PATHS["authorization_endpoint"], query=sent, status=400)
    sign_in = SignIn(False, None, "http://localhost:11000/connect/authorize", 8.0, urls=[], page_urls=[])
    recorder = SimpleNamespace(notices=[])
    config = SimpleNamespace(application=application, pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder))
    _say_if_none_finished(config, [(sign_in, Observed([refused])), (sign_in, Observed([refused]))])
    (notice,) = recorder.notices
    assert "redirect_uri 'http://127.0.0.1:11001/callback', not one the application file registers" in notice
    assert "APPC-02" in notice and "check drive.signed_in" not in notice, notice


def test_the_terminal_summary_counts_what_the_record_counts():
    """arctic with a wrong signed_in text: pytest's line said "1 warned, 6 could not be checked" (by test:
    APPC-20's warning-level scenario with nothing to judge was warned, APPC-21's five scenarios five),
    the record warned 0, unchecked 3."""
    from appside.record import terminal_stats_from_record

    def report(nodeid, outcome="passed"):
        return pytest.TestReport(nodeid, ("f", 1, nodeid), {}, outcome, None, "call")

    def rule(rule_id, status, *scenarios):
        return {
            "rule_id": rule_id,
            "status": status,
            "scenarios": [{"id": i, "status": st, "reason": reason} for i, st, reason in scenarios],
        }

    nothing = f"{UNCHECKED}: its normal sign-in never showed the marker"
    record = {
        "rules": [
            rule("APPC-01", "passed", ("t::01", "passed", "")),
            rule("APPC-09", "skipped", ("t::09", "skipped", "applies to spa and native applications")),
            rule("APPC-20", "skipped", ("t::20", "skipped", nothing)),
            rule("APPC-21", "skipped", *[(f"t::21-{n}", "skipped", nothing) for n in range(5)]),
            rule("APPC-26", "failed", ("t::26-a", "failed", "leaked"), ("t::26-b", "failed", "leaked too")),
        ]
    }
    stats = {
        "passed": [report("t::01")],
        "skipped": [report("t::09", "skipped")] + [report(f"t::21-{n}", "skipped") for n in range(5)],
        "warned": [report("t::20", "skipped")],
        "failed": [report("t::26-a", "failed"), report("t::26-b", "failed")],
        "": [report("t::01")],  # a setup's report: no outcome of its own
    }
    terminal_stats_from_record(stats, record)
    counted = {key: sum(getattr(r, "count_towards_summary", True) for r in reports) for key, reports in stats.items()}
    assert {key: n for key, n in counted.items() if key and n} == {
        "passed": 1,
        "skipped": 1,
        "could not be checked": 2,
        "failed": 1,
    }
    # both failed scenarios keep their FAILED line in pytest's short summary
    assert [r.nodeid for r in stats["failed"]] == ["t::26-a", "t::26-b"] and "warned" not in stats


def test_rules_that_could_not_be_checked_are_counted_so_in_the_record_its_markdown_and_the_terminal():
    """A /login answering HTTP 500: compliance.md's counts said "0 could not be checked, 27 skipped"
    under an INCOMPLETE verdict naming 17 rules that could not be checked."""
    from appside.record import _count_unchecked, _unchecked_is_incomplete
    from suite.reports.record_consistency import verdict_problems
    from suite.reports.record_markdown import render_markdown

    def rule(rule_id, status, reason=""):
        return {
            "rule_id": rule_id,
            "severity": "blocker",
            "status": status,
            "scenarios": [{"reason": reason, "status": status}],
            "title": rule_id,
        }

    rules = [
        rule("APPC-01", "skipped", f"{UNCHECKED}: no sign-in through the application"),
        rule("APPC-02", "skipped", f"{UNCHECKED}: no sign-in through the application"),
        rule("APPC-09", "skipped", "applies to spa and native applications"),
        rule("APPC-11", "passed"),
    ]
    counts = {"passed": 1, "failed": 0, "blocked": 0, "waived": 0, "warned": 0, "error": 0, "skipped": 3}
    record = application_record(
        {
            "verdict": "conformant",
            "rules": rules,
            "counts": counts,
        }
    )
    _unchecked_is_incomplete(record)
    _count_unchecked(record)
    assert record["counts"]["unchecked"] == 2 and record["counts"]["skipped"] == 1
    assert verdict_problems(record) == []
    assert "1 rules passed, 0 failed, 2 could not be checked, 1 skipped." in render_markdown(record)
    assert verdict_problems({**record, "counts": {**record["counts"], "unchecked": 3}}) != []

    # the terminal's count: test_the_terminal_summary_counts_what_the_record_counts


def test_pkce_rules_are_not_applicable_to_a_web_app_declaring_no_pkce_even_where_no_request_arrived():
    from appside.steps.requests_sent import _with_challenge

    nowhere = _run([], finished=False)
    no_pkce = SimpleNamespace(**{**vars(WEB), "uses_pkce": False})
    with pytest.raises(Skipped, match="does not declare PKCE") as skipped:
        _with_challenge(no_pkce, nowhere)
    assert not str(skipped.value).startswith(UNCHECKED)
    with pytest.raises(Skipped, match=f"^{UNCHECKED}"):
        _with_challenge(SimpleNamespace(**{**vars(WEB), "uses_pkce": True}), nowhere)


def test_appc08_without_any_redemption_is_blocked_by_appc10_only_where_appc10_failed():
    """A web app's callback crashed before its token request (@badgateway/oauth2-client's btoa on a
    non-Latin-1 secret): APPC-08 has no verifier to judge. It is blocked by APPC-10 where APPC-10
    failed its own check, and could not be checked where APPC-10 only found nothing to judge too: a
    rule that could not be checked is no cause to block another by (it was "blocked by APPC-10"
    while APPC-10 itself ended "could not be checked")."""
    from appside.record import CATALOGUE, catalogue

    assert "APPC-10" in catalogue(CATALOGUE)["APPC-08"].needs
    needs = {"APPC-08": ("APPC-10",), "APPC-23": ("APPC-08",)}.get
    for appc10, expected in (
        (_rule("APPC-10", "failed"), "blocked"),
        (_rule("APPC-10", "failed", nothing_to_check=True), "skipped"),
    ):
        recorder = SimpleNamespace(unchecked=set())
        rules = {
            "APPC-10": appc10,
            "APPC-08": _rule("APPC-08", "failed", nothing_to_check=True),
            "APPC-23": _rule("APPC-23", "failed", nothing_to_check=True),
        }
        resolve_blocked(rules, lambda r: needs(r, ()), lambda r: ())
        ApplicationRecorder.unblocked(recorder, rules)  # type: ignore[arg-type]
        assert rules["APPC-08"]["status"] == rules["APPC-23"]["status"] == expected, rules
        if expected == "blocked":
            assert rules["APPC-08"]["blocked_by"] == rules["APPC-23"]["blocked_by"] == "APPC-10"


def test_a_sign_in_whose_callback_broke_quotes_what_its_page_showed_bounded_and_masked():
    from appside.steps.sign_ins import PAGE_TEXT_KEPT, unfinished, why_none_was_redeemed
    from suite.secrets.redaction import REDACTOR

    REDACTOR.register(SECRET, "client_secret")
    page = (
        "<html><head><style>p{}</style><script>var x = 1</script></head><body><h1>500</h1>"
        f"<p>InvalidCharacterError: Invalid character in {SECRET}</p><p>{'y' * 400}</p></body></html>"
    )
    sign_in = SignIn(False, 500, seconds=7.0, urls=[], page_urls=[], contents=[("http://x/callback", page, "dom")])
    app_run = AppRun(sign_ins=[sign_in], observed=[Observed([_authorize()])])
    said = why_none_was_redeemed(WEB, app_run)
    assert 'the page showed "500 InvalidCharacterError: Invalid character in ' in said, said
    assert SECRET not in said and "var x" not in said and "yyyy" in said
    quoted = said.split('the page showed "')[1].split('"')[0]
    assert len(quoted) <= PAGE_TEXT_KEPT, len(quoted)
    # the browser never reached the callback: no page of the application's to quote
    never = SignIn(False, None, seconds=7.0, contents=[("http://stand-in/login", "<p>Login</p>", "dom")])
    assert "the page showed" not in unfinished(WEB, never, 1, Observed([]))


@pytest.mark.parametrize(
    "rule_id, status, reason, interactive, page",
    [
        ("APPC-11", "failed", "the client secret was sent in the URL", False, "service-integrations#token-request"),
        ("APPC-28", "passed", "", False, "service-integrations"),
        ("APPC-27", "skipped", "applies to web applications; svc is a service application", False, None),
        ("APPC-11", "failed", "the client secret was sent in the URL", True, None),
    ],
    ids=["service-section", "service-page", "interactive-only-rule", "interactive-app"],
)
def test_a_rule_of_both_kinds_of_application_links_the_service_integrations_page_for_a_service(
    rule_id, status, reason, interactive, page
):
    """compliance.md linked APPC-11, -20, -24, -26 and -28 to the Interactive Integrations page for a
    service too (their @doc tag): for a service, a rule that applies to it links the Service Integrations page."""
    interactive_page = f"{DOCS_BASE}/interactive-integrations#step-4-exchange-authorization-code-for-tokens"
    rule = {"rule_id": rule_id, "documentation": interactive_page, "scenarios": [{"status": status, "reason": reason}]}
    recorder = SimpleNamespace(application=SimpleNamespace(is_interactive=interactive))
    linked = ApplicationRecorder._documentation(recorder, rule)  # type: ignore[arg-type]
    assert linked == (f"{DOCS_BASE}/{page}" if page else interactive_page)


def _refused_for_scope(scope: str) -> RecordedRequest:
    """The stand-in's answer to an authorization request it refused: a redirect to the callback with the error."""
    location = (
        "http://127.0.0.1:9302/callback?error=invalid_scope"
        "&error_description=The+requested+scope+is+invalid%2C+unknown%2C+or+malformed.&state=s"
    )
    sent = (("client_id", WEB.client_id), ("response_type", "code"), ("scope", scope), ("state", "s"))
    return RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], sent, (), {}, "", 302, location)


def test_appc01_fails_scopes_joined_with_commas_citing_rfc6749_3_3_and_passes_spaces():
    """npm grant joins scopes with a comma by default: the stand-in (as Visma Connect) answers invalid_scope,
    and the run ended INCOMPLETE with "check drive.signed_in"; APPC-01 fails it, naming the scope sent."""
    from appside.steps.requests_sent import scope_space_delimited
    from suite.verdict.checks import NonConformance

    sign_in = SignIn(False, 302, seconds=6.0, urls=[], page_urls=[], contents=[])
    comma = AppRun(sign_ins=[sign_in], observed=[Observed([_refused_for_scope("openid,email,profile,offline_access")])])
    with pytest.raises(NonConformance) as failed:
        scope_space_delimited(WEB, comma)
    said = str(failed.value)
    assert "RFC 6749 section 3.3" in said and "space-delimited" in said, said
    assert "'openid,email,profile,offline_access'" in said and "'openid email profile offline_access'" in said
    spaces = AppRun(sign_ins=[sign_in], observed=[Observed([_refused_for_scope("openid email profile")])])
    scope_space_delimited(WEB, spaces)


def test_a_refused_authorization_request_is_named_in_the_notice_and_the_unfinished_sign_in_not_the_marker():
    from appside.steps.sign_ins import _say_if_none_finished, unfinished

    refused = Observed([_refused_for_scope("openid,email")])
    sign_in = SignIn(False, 302, "http://127.0.0.1:9302/login", 6.0, urls=[], page_urls=[], contents=[])
    recorder = SimpleNamespace(notices=[])
    config = SimpleNamespace(application=WEB, pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder))
    _say_if_none_finished(config, [(sign_in, refused), (sign_in, refused)])
    (notice,) = recorder.notices
    said = "the stand-in refused the authorization request: invalid_scope \u2014 The requested scope is invalid"
    assert said in notice and "scope sent: 'openid,email'" in notice, notice
    assert "check drive.signed_in" not in notice
    assert said in unfinished(WEB, sign_in, 1, refused)
    # a fault the stand-in injected (an error response) is no refusal of what the application sent
    assert "refused the authorization request" not in unfinished(WEB, sign_in, 1, refused, faulted=True)


def test_a_marker_the_last_look_found_is_said_to_have_come_after_the_deadline_not_to_be_missing(monkeypatch):
    """okta-auth-js at load 34: its token request came at +19.8 s of a 20 s drive.timeout, and the message said
    "did not show the text 'Welcome'" beside the page it quoted, "Okta SPA Welcome test.user.2": the quote is the
    suite's last look, after the deadline. The message says when it came and what to raise."""
    from appside.steps.sign_ins import _say_if_none_finished, unfinished

    monkeypatch.setattr("appside.browser_driver.os.getloadavg", lambda: (34.0, 30.0, 20.0))
    monkeypatch.setattr("appside.browser_driver.os.cpu_count", lambda: 2)
    page = "<html><body><h1>Okta SPA</h1><p>Welcome test.user.2</p></body></html>"
    late = SignIn(False, 200, seconds=23.0, urls=[], page_urls=[], contents=[("http://x/callback", page, "dom")])
    said = unfinished(WEB, late, 1, Observed([]))
    assert "did not show" not in said, said
    assert said.startswith(
        "normal sign-in 1: the application showed the text 'Welcome' only after the 20 s drive.timeout: the machine's "
        "load was 34.0 on 2 cores, the machine may be loaded; raise drive.timeout (watched 23 s: until the 20 s "
        "drive.timeout, then 3 s more for the browser "
        "to answer the last looks at its page; its callback answered HTTP 200)"
    ), said
    assert 'the page showed "Okta SPA Welcome test.user.2"' in said
    # the run's notice names the time allowed as the cause, not drive.signed_in
    recorder = SimpleNamespace(notices=[])
    config = SimpleNamespace(application=WEB, pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder))
    _say_if_none_finished(config, [(late, Observed([_authorize()])), (late, Observed([_authorize()]))])
    assert recorder.notices == [
        "no normal sign-in finished in time: normal sign-in 1 showed the text 'Welcome' only after the 20 s "
        "drive.timeout: the machine's load was 34.0 on 2 cores, the machine may be loaded; raise drive.timeout, so "
        "every rule that needs a finished sign-in "
        "was blocked or could not be checked"
    ], recorder.notices
    # the watch ended before the deadline (after the callback): that is when it came, not drive.timeout
    late.watch = "watched 5 s after the callback (drive.settle)"
    assert "only after the suite stopped watching (watched 5 s after the callback" in unfinished(
        WEB, late, 1, Observed([])
    )
    # a page without the marker did not show it
    late.contents = [("http://x/callback", "<p>Okta SPA: not signed in</p>", "dom")]
    assert "the application did not show the text 'Welcome'" in unfinished(WEB, late, 1, Observed([]))


def test_an_element_marker_the_last_look_found_is_said_to_have_come_after_the_deadline(monkeypatch):
    """An Auth.js app at load 20 marked by an element ('#user'): the message said "did not show an element '#user'"
    beside the page it quoted, "Auth.js app Welcome Sandbox Test User", and the notice said to check
    drive.signed_in. The page text cannot show an element; the browser's last look found it."""
    from appside.steps.sign_ins import unfinished

    monkeypatch.setattr("appside.browser_driver.os.getloadavg", lambda: (20.0, 20.0, 20.0))
    monkeypatch.setattr("appside.browser_driver.os.cpu_count", lambda: 2)
    element = SimpleNamespace(**{**vars(WEB), "drive": SimpleNamespace(**{**vars(WEB.drive)})})
    element.drive.signed_in = Marker(selector="#user")
    element.drive.shows_signed_in = lambda: "an element '#user'"
    page = '<html><body><h1>Auth.js app</h1><p id="user">Welcome Sandbox Test User</p></body></html>'
    late = SignIn(False, 302, seconds=23.0, urls=[], page_urls=[], contents=[("http://x/", page, "dom")])
    assert "did not show an element '#user'" in unfinished(element, late, 2, Observed([]))
    late.marker_at_last_look = True
    said = unfinished(element, late, 2, Observed([]))
    assert "did not show" not in said, said
    assert said.startswith("normal sign-in 2: the application showed an element '#user' only after the 20 s "), said


def test_a_refused_response_type_is_quoted_as_the_application_sent_it_not_as_the_stand_in_reordered_it():
    """okta-auth-js without PKCE sent response_type=token+id_token; the stand-in's error_description gave it back
    as "id_token token", and the NOTE quoted that while APPC-01 quoted "token id_token"."""
    from appside.steps.sign_ins import refused_by_stand_in

    location = "http://127.0.0.1:9302/callback?error=unsupported_response_type&error_description=id_token+token&state=s"
    sent = (("client_id", WEB.client_id), ("response_type", "token id_token"), ("scope", "openid"), ("state", "s"))
    refusal = RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], sent, (), {}, "", 302, location)
    said = refused_by_stand_in(Observed([refusal]))
    assert said == (
        "; the stand-in refused the authorization request: unsupported_response_type \u2014 response_type sent: "
        "'token id_token'; scope sent: 'openid'"
    ), said


def test_a_long_cause_many_rules_share_is_printed_once_in_the_terminal_and_compliance_md():
    """A wrong issuer port: the terminal repeated a 1,200-character paragraph for 18 to 21 rules (oidcspa's
    spa2-wrongport, fastapi's wrong-issuer-port). The first rule says it; the others name that rule."""
    from suite.reports.record_markdown import render_markdown, verdict_lines

    cause = "normal sign-in 1: ended on http://127.0.0.1:9302/login; the browser refused " + "what it asked " * 80
    never = f"{UNCHECKED}: no sign-in through the application (from http://127.0.0.1:9302/login) sent nothing ({cause})"
    redeemed = f"{UNCHECKED}: the application sent no token request ({cause}; 2 more did not finish)"
    short = f"{UNCHECKED}: only 0 of the 2 normal sign-ins reached the stand-in"
    reasons = {"APPC-01": never, "APPC-02": never, "APPC-10": redeemed, "APPC-30": short, "APPC-31": short}
    rules = [
        {
            "rule_id": r,
            "severity": "critical",
            "status": "skipped",
            "title": r,
            "scenarios": [{"reason": why, "status": "skipped"}],
        }
        for r, why in reasons.items()
    ]
    record = application_record(
        {
            "verdict": "incomplete",
            "rules": rules,
            "unchecked_rules": list(reasons),
            "counts": {"passed": 0, "failed": 0, "blocked": 0, "error": 0, "unchecked": 5, "skipped": 0},
        }
    )
    terminal = "\n".join(verdict_lines(record, "compliance.json"))
    assert terminal.count("the browser refused") == 1, terminal
    assert "APPC-02 (critical): the same cause as APPC-01" in terminal
    assert "APPC-10 (critical): the application sent no token request (the same cause as APPC-01)" in terminal
    assert terminal.count("only 0 of the 2 normal sign-ins reached the stand-in") == 2  # a short cause is said again
    markdown = render_markdown(record)
    assert markdown.count("the browser refused") == 4  # the list's first rule, the table's three rows
    assert "- APPC-02 (critical): the same cause as APPC-01" in markdown


def test_a_callback_answering_500_quotes_the_applications_error():
    """Flask-Dance on an http callback (dance-clean): oauthlib raised InsecureTransportError in the callback, which
    answered HTTP 500, and the NOTE said only "its callback answered HTTP 500": the application's own error line,
    masked, is quoted there and in how each sign-in ended, as for a sign-in page that answered 500."""
    from appside.steps.sign_ins import _note_application_error, _say_if_none_finished, unfinished
    from suite.secrets.redaction import REDACTOR

    REDACTOR.register(SECRET, "client_secret")  # as a run registers the application file's secret
    error = "oauthlib.oauth2.rfc6749.errors.InsecureTransportError: (insecure_transport) OAuth 2 MUST utilize https."
    log = f"Traceback (most recent call last):\n  File 'x.py'\n{error} client_secret={SECRET}\n"
    sign_in = SignIn(False, 500, "http://127.0.0.1:9302/callback", 10.0, urls=[], page_urls=[], page_status=500)
    recorder = SimpleNamespace(notices=[])
    config = SimpleNamespace(
        application=WEB,
        launched=SimpleNamespace(output=lambda: log),
        pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder),
    )
    sign_ins = [(sign_in, Observed([_authorize()])), (sign_in, Observed([_authorize()]))]
    _note_application_error(config, sign_ins)
    _say_if_none_finished(config, sign_ins)
    (notice,) = recorder.notices
    assert f"the application printed {error!r}"[:-1] in notice, notice
    assert SECRET not in notice
    assert "its callback answered HTTP 500; the application printed 'oauthlib" in unfinished(
        WEB, sign_in, 1, Observed([_authorize()])
    )
    # a fault's callback refused at the same time printed another error: which one broke this callback is unknown
    other = SignIn(False, 500, "http://127.0.0.1:9302/callback", 10.0, urls=[], page_urls=[], page_status=500)
    config.launched = SimpleNamespace(output=lambda: log + "MismatchingStateError: (mismatching_state) CSRF\n")
    _note_application_error(config, [(other, Observed([_authorize()]))])
    assert not getattr(other, "application_error", "")


def test_a_sign_in_page_answering_500_quotes_the_applications_error_and_drives_no_refused_sign_in(tmp_path):
    """fastapi configured with a wrong issuer port: /login answered HTTP 500, application.log held
    `httpx.ConnectError: All connection attempts failed`, and the run still drove all 16 sign-ins (86 s)."""
    from appside.concurrent import NOT_DRIVEN, NoPendingSignIn, _expiring, _Progress, _refused
    from appside.steps.sign_ins import _note_application_error, _say_if_none_finished, sign_in_never_started

    log = "INFO: started\nTraceback (most recent call last):\nhttpx.ConnectError: All connection attempts failed\n"
    page = "<html><body>Internal Server Error</body></html>"
    sign_in = SignIn(False, None, "http://127.0.0.1:9302/login", 21.0, urls=[], page_urls=[], page_status=500)
    sign_in.contents = [("http://127.0.0.1:9302/login", page, "dom")]
    recorder = SimpleNamespace(notices=[])
    config = SimpleNamespace(
        application=WEB,
        launched=SimpleNamespace(output=lambda: log),
        pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder),
    )
    sign_ins = [(sign_in, Observed([])), (sign_in, Observed([]))]
    _note_application_error(config, sign_ins)
    _say_if_none_finished(config, sign_ins)
    (notice,) = recorder.notices
    quoted = "the application printed 'httpx.ConnectError: All connection attempts failed'"
    assert quoted in notice, notice
    assert quoted in sign_in_never_started(WEB, [sign_in, sign_in], [Observed([]), Observed([])])

    progress = _Progress(SimpleNamespace(recording=SimpleNamespace(entries=list), issuer=""), {})
    progress.ended = {"normal sign-in 1": [sign_in], "normal sign-in 2": [sign_in]}
    driven = []
    session = SimpleNamespace(sign_in_steps=lambda **kw: driven.append(kw) or iter(()), username="test.user.6")
    flow = _refused(
        SimpleNamespace(faults=SimpleNamespace(inject=lambda *a, **k: driven.append(a))), "state-wrong", None
    )
    with pytest.raises(NoPendingSignIn, match=NOT_DRIVEN):
        next(flow(session, progress))
    assert driven == []

    def sign_in_steps():  # a sign-in that reached nothing, as the normal ones
        yield
        return sign_in

    waited = []
    session = SimpleNamespace(
        sign_in_steps=sign_in_steps, wait_steps=waited.append, open_steps=waited.append, username="u", urls=[]
    )
    expiring = _expiring(SimpleNamespace(faults=SimpleNamespace(inject=lambda *a, **k: None)), "http://x/api", 2, None)
    steps = expiring(session, progress)
    next(steps)
    with pytest.raises(StopIteration) as ended:
        next(steps)
    assert ended.value.value == [sign_in] and waited == []  # no wait for a token that was never issued


def test_a_warning_level_rule_that_could_not_be_checked_is_named_in_the_terminal_and_compliance_md():
    """oidcspa's spa2-norenew: the summary counted "1 could not be checked" and nothing named APPC-20."""
    from suite.reports.record_markdown import render_markdown, verdict_lines

    why = f"{UNCHECKED}: after the access token expired the application neither refreshed it nor used it"
    rule = {
        "rule_id": "APPC-20",
        "severity": "normal",
        "level": "warning",
        "status": "skipped",
        "title": "APPC-20",
        "scenarios": [{"reason": why, "status": "skipped"}],
    }
    record = application_record(
        {
            "verdict": "conformant",
            "rules": [rule],
            "unchecked_rules": [],
            "counts": {"passed": 0, "failed": 0, "blocked": 0, "error": 0, "unchecked": 1, "skipped": 0},
            "environment": "application x (spa)",
            "client_ids": {"spa": "x"},
        }
    )
    said = "after the access token expired the application neither refreshed it nor used it"
    assert f"could not be checked (warning-level, the verdict stands): APPC-20 (normal): {said}" in verdict_lines(
        record, "compliance.json"
    )
    assert f"- APPC-20 (warning-level): {said}" in render_markdown(record)


def test_appc27_names_a_jwt_cookie_as_one_and_every_token_it_carries():
    """@hono/oidc-auth keeps the session in an HS256 JWT cookie (oidc-auth) holding the access and the refresh
    token: APPC-27 called it "the signed format payload.timestamp.signature of itsdangerous and Django" and
    named the access token only."""
    from joserfc import jwt
    from joserfc.jwk import OctKey

    from appside.session_cookies import signed_format
    from suite.verdict.checks import NonConformance

    payload = {"atk": "access-token-value-1", "rtk": "refresh-token-value-1", "exp": 1999999999}
    cookie = jwt.encode({"alg": "HS256", "typ": "JWT"}, payload, OctKey.import_key("hono-session-secret-key-32-bytes"))
    assert signed_format(cookie) == "a JWT signed with HS256"
    run = _run([_authorize(), _token()], finished=True)
    run.sign_ins[0].cookies = [("oidc-auth", cookie)]
    with pytest.raises(NonConformance) as failed:
        nothing_secret_in_pages(WEB, run)
    said = str(failed.value)
    assert "its access token and its refresh token in the browser's cookie" in said, said
    assert "readable once decoded (a JWT signed with HS256, not encrypted)" in said, said
    assert "itsdangerous" not in said


def test_appc28_passes_beside_a_token_in_a_url_say_appc26_judges_it():
    """A token in a page's URL (its access log has it too): APPC-26 failed, and APPC-28 read a plain "passed", as
    if no token had left the server. APPC-27's pass beside it is a plain pass: where the browser received the token
    in a URL, APPC-27 is blocked by APPC-26 instead (next test)."""
    from appside.record import _passed_beside_a_token_in_a_url
    from suite.reports.record_consistency import verdict_problems
    from suite.reports.record_markdown import render_markdown

    def rule(rule_id, status, reason=""):
        scenario = {"reason": reason, "status": status}
        return {"rule_id": rule_id, "severity": "critical", "status": status, "title": rule_id, "scenarios": [scenario]}

    record = application_record(
        {
            "verdict": "not conformant",
            "rules": [
                rule("APPC-26", "failed", "the access token was in a URL"),
                rule("APPC-27", "passed"),
                rule("APPC-28", "passed"),
            ],
            "counts": {"passed": 2, "failed": 1, "blocked": 0, "waived": 0, "warned": 0, "error": 0, "skipped": 0},
            "failed_rules": ["APPC-26"],
        }
    )
    _passed_beside_a_token_in_a_url(record)
    rows = {line[:9]: line for line in render_markdown(record).splitlines() if line.startswith(("| APPC-2",))}
    assert "passed (the token in a URL is judged by APPC-26)" in rows["| APPC-28"], rows
    assert "judged by APPC-26" not in rows["| APPC-27"], rows
    assert verdict_problems(record) == []
    clean = {**record, "failed_rules": [], "rules": [rule("APPC-28", "passed")]}
    _passed_beside_a_token_in_a_url(clean)
    assert clean["rules"][0]["scenarios"][0]["reason"] == ""


def test_appc27_is_blocked_by_appc26_where_the_browser_received_a_token_in_a_url(monkeypatch):
    """django-token-redirect: the application redirected the browser to /invoices?access_token=...; APPC-26 failed
    and APPC-27 ("sends neither its secret nor its tokens to the browser") passed, though the browser got the token.
    One cause: the token reached the browser because it was put in a URL, so APPC-27 is blocked by APPC-26, never
    passed over it."""
    monkeypatch.setattr("appside.steps.leaks.every_flow_made", lambda: [])
    redirected = _run([_authorize(), _token()], finished=True)
    redirected.sign_ins[0].urls = ["http://127.0.0.1:9302/invoices?access_token=access-token-value-1"]
    with pytest.raises(NothingToCheck, match=r"sent the browser its access token in a URL.*APPC-26's failure"):
        nothing_secret_in_pages(WEB, redirected)
    nothing_secret_in_pages(WEB, _run([_authorize(), _token()], finished=True))  # no token in any URL: a pass


def test_the_error_quoted_from_an_apache_error_log_is_the_first_of_the_last_failed_request():
    """Apache mod_auth_openidc could not read the stand-in's CA file (its workers run as www-data): the NOTE after
    its HTTP 500 sign-in page quoted no line of the application, whose error log writes `[auth_openidc:error]`."""
    from appside.steps.sign_ins import application_error_line

    log = "\n".join(
        [
            "[Sun Dec 06 23:30:43.508217 2026] [auth_openidc:error] [pid 25742:tid 25777] [client 127.0.0.1:53510] "
            "oidc_util_http_call: curl_easy_perform() failed on: https://localhost:12800/.well-known/openid-"
            "configuration (error setting certificate file: /root/.cache/stand-in-ca.pem)",
            "[Sun Dec 06 23:30:43.513407 2026] [auth_openidc:error] [pid 25742:tid 25777] [client 127.0.0.1:53510] "
            "oidc_provider_static_config: could not retrieve metadata from url: https://localhost:12800/.well-known/"
            "openid-configuration",
            '127.0.0.1 - - [06/Dec/2026:23:30:43 +0000] "GET /app/ HTTP/1.1" 500 531',
        ]
    )
    assert application_error_line(log) == (
        "[auth_openidc:error] oidc_util_http_call: curl_easy_perform() failed on: https://localhost:12800/.well-known/"
        "openid-configuration (error setting certificate file: /root/.cache/stand-in-ca.pem)"
    )
    proxy = "[Sun Dec 06 23:31:00.1 2026] [proxy:error] [pid 7:tid 8] (111)Connection refused: AH00957: backend down"
    assert application_error_line(log + "\n" + proxy) == "[proxy:error] (111)Connection refused: AH00957: backend down"
    nginx = "2026/12/07 00:00:00 [error] 12#12: *1 connect() failed (111: Connection refused) while connecting"
    assert application_error_line(nginx) == nginx


def test_an_id_token_fault_whose_sign_in_never_reached_the_callback_in_time_names_drive_timeout_not_the_app():
    """okta-auth-js at load 41: APPC-21 said "the application did not redeem the code of the sign-in with
    id-token-aud-other-azp" while its authorization request came at +50 s and no callback within drive.timeout:
    the application never had a code to redeem."""
    from appside.steps.refusals import id_token_fault_delivered

    stalled = SignIn(False, None, seconds=21.0, urls=[], page_urls=[], contents=[])
    app_run = AppRun(sign_ins=[stalled], observed=[Observed([_authorize()])], fault="id-token-aud-other-azp")
    with pytest.raises(NothingToCheck) as unchecked:
        id_token_fault_delivered(WEB, SimpleNamespace(issuer="http://localhost:9000"), app_run)
    said = str(unchecked.value)
    assert "did not redeem" not in said, said
    assert said.startswith(
        "the sign-in with id-token-aud-other-azp had not reached the application's callback within the 20 s "
        "drive.timeout (watched 21 s), so the application had no code to redeem"
    ), said
    assert "raise drive.timeout" in said
    # its callback answered, and no code was redeemed: that is the application's
    app_run.sign_ins = [SignIn(False, 200, seconds=3.0, urls=[], page_urls=[], contents=[])]
    with pytest.raises(NothingToCheck, match="the application did not redeem the code of the sign-in with"):
        id_token_fault_delivered(WEB, SimpleNamespace(issuer="http://localhost:9000"), app_run)
