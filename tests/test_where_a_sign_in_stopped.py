"""A refused sign-in that never reached the application's callback said "the sign-in never reached the
stand-in's callback" (the callback is the application's), and not where it stopped: an outsider's native
app, slow to send the browser on while six sign-ins went on at once, left the stand-in's consent page
unclicked when drive.timeout ran out, which only the screenshot showed."""

from types import SimpleNamespace

import pytest

from appside.observed import Observed
from appside.steps.refusals import _faulted_callback
from appside.steps.sign_ins import AppRun
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NothingToCheck

STAND_IN = "https://localhost:14140"
AUTHORIZE = f"{STAND_IN}/connect/authorize?response_type=code&client_id=app&state=s"


def _unreached(final_url: str) -> str:
    sign_in = SimpleNamespace(
        finished=False, final_url=final_url, seconds=15.2, urls=[AUTHORIZE, f"{STAND_IN}/account/login"], contents=[]
    )
    authorize = RecordedRequest(0.0, "GET", "/connect/authorize", (("response_type", "code"),), (), {}, "", 200)
    run = AppRun(sign_ins=[sign_in], observed=[Observed([authorize])], fault="callback-state-wrong")
    with pytest.raises(NothingToCheck) as unchecked:
        _faulted_callback(run)
    return str(unchecked.value)


def test_a_sign_in_left_on_the_consent_page_names_it_and_how_long_it_ran():
    said = _unreached(AUTHORIZE)
    assert said.startswith(
        "the sign-in never reached the application's callback (it stopped at the stand-in's consent page"
    ), said
    assert "15 s after the sign-in began" in said and "callback-state-wrong was not delivered" in said


def test_a_sign_in_left_on_the_login_page_names_it():
    assert "it stopped at the stand-in's login page" in _unreached(f"{STAND_IN}/account/login?returnUrl=x")


def test_a_sign_in_left_on_the_applications_page_names_its_address():
    said = _unreached("http://127.0.0.1:14141/login")
    assert "at http://127.0.0.1:14141/login" in said and "stand-in's" not in said.split("callback", 1)[1]


def test_a_sign_in_that_ran_out_of_drive_timeout_on_a_quiet_machine_does_not_blame_the_load(monkeypatch):
    """An oidc-agent sign-in at load 1.2 on 2 cores was told "the machine may be loaded": the cause was the app."""
    monkeypatch.setattr("appside.browser_driver.os.getloadavg", lambda: (1.2, 1.0, 1.0))
    monkeypatch.setattr("appside.browser_driver.os.cpu_count", lambda: 2)
    said = _unreached(AUTHORIZE)
    assert "the machine's load was 1.2 on 2 cores, not loaded: the application or its page was that slow" in said
    assert "may be loaded" not in said, said


def test_a_sign_in_that_ran_out_of_drive_timeout_says_so_with_the_load_in_every_rules_words(monkeypatch):
    """An outsider's @axa-fr/oidc-client SPA at load 29: APPC-16, 17, 19 and 25 said "it stopped at the stand-in's
    consent page, 22 s after the sign-in began; drive.timeout bounds it", while APPC-21's message alone added "the
    machine may be loaded; raise drive.timeout". Every such message gives the same hint, with the load."""
    from appside.steps.refusals import _not_redeemed

    monkeypatch.setattr("appside.browser_driver.os.getloadavg", lambda: (29.04, 20.0, 10.0))
    monkeypatch.setattr("appside.browser_driver.os.cpu_count", lambda: 2)
    hint = "the machine's load was 29.0 on"
    said = _unreached(AUTHORIZE)
    assert "when drive.timeout ran out: " + hint in said and "may be loaded; raise drive.timeout" in said, said
    sign_in = SimpleNamespace(callback_status=None, watch="", seconds=23.0)
    application = SimpleNamespace(drive=SimpleNamespace(timeout=20.0))
    run = AppRun(sign_ins=[sign_in], mode="browser", fault="id-token-iss-wrong")
    unredeemed = _not_redeemed(application, run)
    assert said.split("ran out: ")[1].split(")")[0] in unredeemed, unredeemed


def test_a_sign_in_whose_watch_ended_early_blames_no_timeout():
    sign_in = SimpleNamespace(
        finished=False,
        final_url=AUTHORIZE,
        seconds=3.0,
        watch="the stand-in answered with an error page",
        urls=[AUTHORIZE],
        contents=[],
    )
    run = AppRun(sign_ins=[sign_in], observed=[Observed([])], fault="callback-state-wrong")
    with pytest.raises(NothingToCheck) as unchecked:
        _faulted_callback(run)
    assert "3 s after the sign-in began)" in str(unchecked.value) and "drive.timeout" not in str(unchecked.value)
