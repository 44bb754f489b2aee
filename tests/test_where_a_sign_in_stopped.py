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
