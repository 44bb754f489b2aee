"""An application run as the leak and evidence rules read it, for tests that call their steps directly: one
finished sign-in whose code redemption the stand-in answered with `access_token`."""

from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest


def one_redemption(access_token: str) -> AppRun:
    redemption = RecordedRequest(
        0.0,
        "POST",
        PATHS["token_endpoint"],
        (),
        (("grant_type", "authorization_code"),),
        {},
        "",
        200,
        response_json={"access_token": access_token, "token_type": "Bearer"},
    )
    return AppRun(sign_ins=[SignIn(finished=True)], observed=[Observed([redemption])])
