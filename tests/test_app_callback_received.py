"""A refusal is judged on what the application did with the faulty callback, so the callback must have reached it.
A native application's loopback listener (RFC 8252 section 7.3) listens only while its sign-in is pending; under a
loaded run (load 25-30), the reference native app with form-post,no-nonce,fixed-pkce,state-not-checked, which signs
in another browser's callback delivered to it, passed APPC-31: the stand-in's log showed the other browser's callback
sent, and the application neither signed in nor redeemed it, because it never received it. The browser's load of the
callback must have got an HTTP answer; where it did not, and nothing shows the application acted on it, the rule
could not be checked, with the cause."""

from types import SimpleNamespace

import pytest
from _pytest.outcomes import Skipped

from appside.browser_driver import HeldCallback, SignIn
from appside.concurrent import OTHER_BROWSER
from appside.observed import Observed
from appside.record import UNCHECKED
from appside.steps.refusals import fault_delivered
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest

NATIVE, WEB = SimpleNamespace(app_type="native"), SimpleNamespace(app_type="web")
STAND_IN = SimpleNamespace(issuer="http://localhost:9000")  # whose issuer the wrong-iss faults extend
OWN_PORT_REFUSED = (
    "the browser could not load http://127.0.0.1:41234/callback: connection refused (nothing listens on its host and "
    "port) (net::ERR_CONNECTION_REFUSED)"
)


def _callback(state: str, code: str = "c0de", port: int = 40000) -> RecordedRequest:
    """The stand-in's answer to a sign-in, as its log has it: sent to the loopback listener of that sign-in."""
    location = f"http://127.0.0.1:{port}/callback?code={code}&state={state}"
    return RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], (("state", "s"),), (), {}, "", 302, location)


def _redemption(code: str) -> RecordedRequest:
    form = (("grant_type", "authorization_code"), ("code", code))
    answer = {"access_token": f"access-token-of-{code}", "token_type": "Bearer"}
    return RecordedRequest(1.0, "POST", PATHS["token_endpoint"], (), form, {}, "", 200, response_json=answer)


def _api_call(access_token: str) -> RecordedRequest:
    return RecordedRequest(2.0, "GET", "/api/v1/me", (), (), {"Authorization": f"Bearer {access_token}"}, "", 200)


def _other_browsers(
    answered: int | None, finished: bool = False, redeemed: bool = False, load_error: str = "", api_called=False
):
    """The other browser's callback (form_post) delivered to this sign-in's listener, which answered it or not."""
    held = HeldCallback("POST", "http://127.0.0.1:40000/callback", (("code", "c0de"), ("state", "theirs")))
    own = "http://localhost:9/connect/authorize?state=mine&redirect_uri=http%3A%2F%2F127.0.0.1%3A41234%2Fcallback"
    sign_in = SignIn(finished, answered, load_error=load_error, own_request=own, other_browser_callback=held)
    entries = [_callback("theirs"), *([_redemption("c0de")] if redeemed else [])]
    entries += [_api_call("access-token-of-c0de")] if api_called else []
    run = AppRun(sign_ins=[sign_in], observed=[Observed(entries)])
    run.fault = OTHER_BROWSER
    return run


def _own_faulty_callback(answered: int | None) -> AppRun:
    run = AppRun(
        sign_ins=[SignIn(False, answered, watch="drive.timeout ran out")], observed=[Observed([_callback("x")])]
    )
    run.fault = "callback-state-wrong"
    return run


def test_another_browsers_callback_that_no_listener_answered_could_not_be_checked():
    with pytest.raises(Skipped, match=f"^{UNCHECKED}: the fault callback-of-other-browser was sent") as skipped:
        fault_delivered(NATIVE, STAND_IN, _other_browsers(None, load_error=OWN_PORT_REFUSED))
    assert "net::ERR_CONNECTION_REFUSED" in str(skipped.value), skipped.value
    assert "loopback listener listens only while its sign-in is pending" in str(skipped.value), skipped.value
    # the suite delivers it itself, whatever the type: a web application's unanswered load is no evidence either
    with pytest.raises(Skipped, match=r"got no HTTP answer from the application \(no answer within drive.timeout"):
        fault_delivered(WEB, STAND_IN, _other_browsers(None))


def test_another_browsers_callback_the_application_answered_or_acted_on_is_judged():
    fault_delivered(NATIVE, STAND_IN, _other_browsers(400))  # refused by the listener: the steps after pass it
    fault_delivered(NATIVE, STAND_IN, _other_browsers(302))  # accepted: the steps after fail it
    # no answer seen, yet the application signed in, or called the API with the code's tokens: it received it
    fault_delivered(NATIVE, STAND_IN, _other_browsers(None, finished=True))
    fault_delivered(NATIVE, STAND_IN, _other_browsers(None, redeemed=True, api_called=True))
    # a redemption alone is no acceptance of another browser's callback (the rule's text), and with no answer seen
    # the page the application answered with is unknown: the delivery's load ran out of drive.timeout
    # the application did receive it, though: the reason says so, and that its acceptance is what is unknown
    with pytest.raises(Skipped, match=f"^{UNCHECKED}: .*application redeemed its code, so it received it") as skipped:
        fault_delivered(NATIVE, STAND_IN, _other_browsers(None, redeemed=True))
    assert "nothing shows whether it accepted the sign-in" in str(skipped.value), skipped.value
    assert "nothing shows that the application received it" not in str(skipped.value), skipped.value
    restarted = _other_browsers(None)
    restarted.sign_ins[-1].restarted = True  # a new sign-in after it: received, and no acceptance either
    with pytest.raises(Skipped, match="sent the browser to a new sign-in after it, so it received it; "):
        fault_delivered(NATIVE, STAND_IN, restarted)


def test_a_native_applications_own_faulty_callback_that_no_listener_answered_could_not_be_checked():
    with pytest.raises(Skipped, match=rf"^{UNCHECKED}: the fault callback-state-wrong .*\(drive.timeout ran out\)"):
        fault_delivered(NATIVE, STAND_IN, _own_faulty_callback(None))
    fault_delivered(NATIVE, STAND_IN, _own_faulty_callback(400))
    fault_delivered(WEB, STAND_IN, _own_faulty_callback(None))  # a web application's server does not stop listening
