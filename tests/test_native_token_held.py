"""google-auth-oauthlib's InstalledAppFlow answers the loopback redirect with a fixed text ("you may close
this window") before the application redeems the code, so the sign-in given APPC-20's short-lived token
never shows the signed-in marker. APPC-20 said "the application never showed that it held the token"
though the stand-in saw the Visma API called with that token and answered it: that call is the evidence."""

from types import SimpleNamespace

import pytest

from appside.application import Marker
from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.steps.refusals import renewed
from appside.steps.sign_ins import AppRun
from sandbox.recording import RecordedRequest

LIFETIME = 5


def _application():
    drive = SimpleNamespace(
        shows_signed_in=lambda: "the text 'Welcome'", signed_in=Marker(text="Welcome"), timeout=15.0, mode="browser"
    )
    return SimpleNamespace(
        app_type="native",
        client_id="google-native-app",
        is_interactive=True,
        access_token_lifetime=LIFETIME,
        drive=drive,
    )


def _run(api_status: int | None) -> AppRun:
    authorize = RecordedRequest(0.0, "GET", "/connect/authorize", (("response_type", "code"),), (), {}, "", 302)
    issued = {"access_token": "issued-at", "expires_in": LIFETIME, "token_type": "Bearer"}
    form = (("grant_type", "authorization_code"), ("code", "c"))
    token = RecordedRequest(1.0, "POST", "/connect/token", (), form, {}, "", 200, response_json=issued)
    entries = [authorize, token]
    if api_status is not None:
        bearer = {"Authorization": "Bearer issued-at"}
        entries.append(RecordedRequest(2.0, "GET", "/api/invoices", (), (), bearer, "", api_status))
    again = RecordedRequest(
        20.0, "GET", "/connect/authorize", (("response_type", "code"), ("state", "2")), (), {}, "", 302
    )
    sign_in = SignIn(False, callback_status=200, final_url="http://127.0.0.1:14142/?code=c", seconds=3.0, contents=[])
    return AppRun(sign_ins=[sign_in], observed=[Observed([*entries, again])])


def test_an_api_call_with_the_issued_token_shows_the_application_held_it():
    renewed(_application(), _run(api_status=200))  # the new sign-in after the expiry is the renewal: passes


@pytest.mark.parametrize("api_status", [None, 401])
def test_without_such_a_call_nothing_shows_it_held_the_token(api_status):
    with pytest.raises(BaseException, match="never showed that it held the token"):
        renewed(_application(), _run(api_status))
