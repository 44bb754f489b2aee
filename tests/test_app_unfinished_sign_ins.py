"""Sign-ins that did not finish, in a run where a rule that breaks a sign-in failed as well: the failure is named
as the cause only where it can be one. A Spring-style web application that declared PKCE and sent no challenge, at
load 50: its sign-ins never reached their callbacks within drive.timeout, and thirteen rules (four blockers) were
"blocked by APPC-06" though the stand-in redeems a web application's code without PKCE (it did, in the same run).
Only the rules that judge the challenge itself (APPC-07, 08, 22) are blocked by it; the others could not be
checked, and the run's NOTE sends the reader to drive.signed_in, not to APPC-06. A signed-in marker the application
never shows reproduces that without load (the sign-ins work, and the rules that judge a refusal by the marker have
nothing to judge); the record the load left is resolved as it ended, below."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from run import ROOT, certify_application

from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.record import UNCHECKED, ApplicationRecorder
from appside.stand_in import free_port
from appside.steps.requests_sent import renewed_without_refreshing
from appside.steps.sign_ins import unfinished
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.verdict.blocking import resolve_blocked

NO_CHALLENGE = ("APPC-07", "APPC-08", "APPC-22")


def _never_signed_in(tmp_path: Path) -> Path:
    """The reference web application's file, with a signed-in marker its pages never show and a short watch."""
    text = (ROOT / "examples/web_app/application.yaml").read_text()
    marked = text.replace('signed_in: {text: "Signed in."}', 'signed_in: {text: "Never on its pages"}\n  timeout: 10')
    assert marked != text
    (tmp_path / "application.yaml").write_text(marked)
    return tmp_path / "application.yaml"


@pytest.mark.timeout(400)
def test_a_missing_challenge_blocks_only_the_rules_on_the_challenge_when_the_sign_ins_show_nothing(tmp_path):
    completed = certify_application(
        _never_signed_in(tmp_path),
        tmp_path,
        {
            "REFERENCE_APP_DEFECTS": "no-pkce",
            "WEB_APP_CLIENT_SECRET": "Unfinished+Secret %41/é",
            "WEB_APP_PORT": str(free_port()),
            "ISSUER_PORT": str(free_port()),
        },
        timeout=360,
    )
    terminal = (completed.stdout + completed.stderr)[-4000:]
    record = json.loads((tmp_path / "record.json").read_text())
    rules = {rule["rule_id"]: rule for rule in record["rules"]}
    assert completed.returncode == 1 and rules["APPC-06"]["status"] == "failed", terminal
    blocked = {rule_id: rule.get("blocked_by") for rule_id, rule in rules.items() if rule["status"] == "blocked"}
    assert blocked == dict.fromkeys(NO_CHALLENGE, "APPC-06"), (blocked, terminal)
    # its refusal is judged by the marker the normal sign-in never showed either: no evidence, not APPC-06's
    assert rules["APPC-19"]["status"] == "skipped", rules["APPC-19"]
    assert rules["APPC-19"]["scenarios"][0]["reason"].startswith(UNCHECKED), rules["APPC-19"]
    note = next(n for n in record["notices"] if n.startswith("no normal sign-in finished"))
    assert "APPC-06" not in note and "check drive.signed_in" in note, note
    for rule_id, rule in rules.items():  # a could-not-be-checked need is no failure, a delivered one no need
        for scenario in rule["scenarios"]:
            assert "which this rule needs" not in str(scenario.get("reason", "")), (rule_id, scenario["reason"])


def _failed(step: str, **flags) -> dict:
    scenario = {"id": step, "status": "failed", "reason": f"r {step}", "failed_step": {"step": step, **flags}}
    return {"status": "failed", "level": "failure", "scenarios": [scenario]}


def _nothing(step: str, **flags) -> dict:
    return _failed(step, own_check=False, nothing_to_check=True, **flags)


def test_a_missing_challenge_the_stand_in_let_through_blocks_only_what_judges_the_challenge():
    """The reporter's record at load 50, as its scenarios ended: APPC-06 failed at its own check in sign-ins the
    stand-in did not refuse for it (Delivered), APPC-07, 08 and 22 met its missing challenge (MetTheCause), and the
    rules that need a finished sign-in found nothing to judge. They could not be checked: not "blocked by APPC-06",
    nor by it through APPC-08, which only met the challenge's absence. Where the stand-in refused the sign-ins for it
    (a public client's authorization request), APPC-06 keeps them from their check, and blocks them."""
    for refused in (False, True):
        rules = {
            "APPC-06": _failed("Then every authorization request carries a PKCE code_challenge", own_check=True),
            **{rule_id: _nothing(f"Then {rule_id}", met_the_cause=True) for rule_id in NO_CHALLENGE},
            **{rule_id: _nothing("Given a normal sign-in") for rule_id in ("APPC-10", "APPC-16", "APPC-21", "APPC-23")},
        }
        rules["APPC-06"]["scenarios"][0]["failed_step"]["delivered"] = not refused
        resolve_blocked(rules, lambda rule_id: ApplicationRecorder.needs(None, rule_id))
        blocked = {rule_id: rule.get("blocked_by") for rule_id, rule in rules.items() if rule["status"] == "blocked"}
        assert blocked == dict.fromkeys(
            (*NO_CHALLENGE, *(("APPC-10", "APPC-16", "APPC-21", "APPC-23") * refused)), "APPC-06"
        )
        if not refused:  # left to appside.record: could not be checked
            assert {rules[r]["status"] for r in ("APPC-10", "APPC-16", "APPC-21", "APPC-23")} == {"failed"}


def test_a_need_is_named_beside_a_failure_only_where_it_failed_a_check_and_as_what_it_kept():
    """APPC-20 warned "(also failed in this run: APPC-08, which this rule needs ...)" where APPC-08 could not be
    checked (nothing to judge: no failure), and APPC-18 and APPC-25 named APPC-06 "which this rule needs": a web
    application's missing challenge, which gave their sign-ins all they rely on (Delivered), is named as that. A need
    that failed a check of its own and kept them from nothing is named as before."""
    rules = {
        "APPC-06": _failed("Then every authorization request carries a PKCE code_challenge", own_check=True),
        "APPC-08": _nothing("Then every code_verifier matches its code_challenge"),
        "APPC-18": _failed("Then the application refuses the callback", own_check=True),
        "APPC-20": _failed("Then it renewed", own_check=True),
    }
    rules["APPC-06"]["scenarios"][0]["failed_step"]["delivered"] = True
    resolve_blocked(rules, lambda rule_id: ApplicationRecorder.needs(None, rule_id))
    for rule_id in ("APPC-18", "APPC-20"):  # APPC-08 unnamed
        reason = rules[rule_id]["scenarios"][0]["reason"]
        assert reason.endswith(
            "(also failed in this run: APPC-06, whose failure still gave this rule all it relies on)"
        )
    rules["APPC-10"] = _failed("Then every token request authenticates the application", own_check=True)
    rules["APPC-20"] = _failed("Then it renewed", own_check=True)
    resolve_blocked(rules, lambda rule_id: ApplicationRecorder.needs(None, rule_id))
    reason = rules["APPC-20"]["scenarios"][0]["reason"]
    assert reason.endswith(
        "(also failed in this run: APPC-06, whose failure still gave this rule all it relies on; APPC-10, which this "
        "rule needs, in a way that did not keep it from its check)"
    ), reason


def _entry(at: float, path: str, status: int = 200, query=(), form=(), response=None) -> RecordedRequest:
    method = "GET" if query or path.startswith("/api") else "POST"
    return RecordedRequest(at, method, path, tuple(query), tuple(form), {}, "", status, response_json=response)


def test_a_second_authorization_request_before_the_code_was_redeemed_is_no_sign_in_again():
    """The reporter's web-offline run: the browser tried its sign-in again at +36.5 s, before any code was redeemed
    (+44.9 s), the API answered 200 then 401 for the expired token (+51.3 s), and nothing came after. APPC-15 said
    "it signed in again after the API refused its expired access token": the order recorded says neither. A new
    authorization request after the redemption is a sign-in again, after the refusal only where it came later."""
    authorize = PATHS["authorization_endpoint"]
    token = {"access_token": "access-token-of-the-test-1", "expires_in": 3, "token_type": "Bearer"}
    redemption = _entry(
        44.93, PATHS["token_endpoint"], form=[("grant_type", "authorization_code"), ("code", "c")], response=token
    )
    bearer = {"Authorization": "Bearer access-token-of-the-test-1"}
    calls = [_entry(45.13, "/api/invoices"), _entry(51.33, "/api/invoices", status=401)]
    for call in calls:
        call.headers.update(bearer)
    calls[1].notes["bearer"] = "expired"
    first, retried = (_entry(at, authorize, 302, query=[("state", f"s{at}")]) for at in (0.0, 36.54))
    assert renewed_without_refreshing(Observed([first, retried, redemption, *calls])) == ""
    again = _entry(52.0, authorize, 302, query=[("state", "s52")])
    said = renewed_without_refreshing(Observed([first, retried, redemption, *calls, again]))
    after = "after the API refused its expired access token (APPC-20 judges that use)"
    assert said == f"the application never refreshed: it signed in again {after}", said
    earlier = _entry(46.0, authorize, 302, query=[("state", "s46")])
    said = renewed_without_refreshing(Observed([first, redemption, calls[0], earlier, calls[1]]))
    assert said == "the application never refreshed: it signed in again", said


def test_a_sign_in_watched_past_drive_timeout_says_why_the_watch_ran_longer():
    """The reporter's "watched 28 s" with a 20 s drive.timeout, where the documentation says each sign-in ends at
    drive.timeout: the last looks at the page waited for a loaded browser, and the text says so."""
    application = SimpleNamespace(
        client_id="spring-web",
        app_type="web",
        redirect_uris=["http://127.0.0.1:14341/login/oauth2/code/visma"],
        drive=SimpleNamespace(timeout=20.0, shows_signed_in=lambda: "the text 'Welcome'", signed_in=None),
    )
    for seconds, said in (
        (20.4, "(watched 20 s; the browser never reached its callback)"),
        (
            28.2,
            "(watched 28 s: until the 20 s drive.timeout, then 8 s more for the browser to answer the last looks at "
            "its page; the browser never reached its callback)",
        ),
    ):
        sign_in = SignIn(False, None, seconds=seconds, urls=[], page_urls=[], contents=[])
        text = unfinished(application, sign_in, 1, Observed([]))
        assert said in text, text
