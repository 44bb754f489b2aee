"""Application side: a refused sign-in's watch ends early only on positive evidence, a bound
derived from how fast the same application followed its normal sign-ins' callbacks up, and never
while one of its requests is still being answered."""

import threading
import time
from types import SimpleNamespace

import pytest
import requests

from appside.application import Drive
from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.steps import sign_ins
from sandbox.recording import RecordedRequest, RecordingMiddleware, RequestLog

AUTHORIZE, TOKEN, API = "/connect/authorize", "/connect/token", "/api/v1/me"


def _entry(at: float, path: str, status: int = 200, location: str = "") -> RecordedRequest:
    return RecordedRequest(at, "GET" if path != TOKEN else "POST", path, (), (), {}, "", status, location)


def _normal(at: float, gaps: list[float], finish: float | None = None):
    """A normal sign-in: the authorization request, the callback, then a request after each gap."""
    entries = [_entry(at, AUTHORIZE), _entry(at + 1, AUTHORIZE, 302, "http://127.0.0.1:1/callback?code=c&state=s")]
    moment = at + 1
    for gap, path in zip(gaps, (TOKEN, API, API), strict=False):
        moment += gap
        entries.append(_entry(moment, path))
    return SignIn(finish is not None, 200, "", 3.0, callback_to_finish=finish), Observed(entries)


def test_the_follow_up_gaps_start_at_the_callback():
    _, observed = _normal(100.0, [0.2, 0.05])
    assert observed.follow_up_gaps() == pytest.approx([0.2, 0.05])
    assert Observed([_entry(1.0, AUTHORIZE)]).follow_up_gaps() == []  # no callback, no follow-up


@pytest.mark.parametrize(
    ("normal", "settle", "seconds"),
    [
        ([([0.2, 0.05], 0.1), ([0.1], 0.1)], 2.0, pytest.approx(0.6)),  # three times the slowest, 0.2 s
        ([([0.01], None), ([0.02], None)], 2.0, 0.5),  # never below the floor
        ([([1.5], None), ([0.1], 0.1)], 2.0, 2.0),  # never above drive.settle
        ([([], 0.3), ([], None)], 2.0, pytest.approx(0.9)),  # an app that calls nothing: its marker's delay
    ],
)
def test_the_bound_is_three_times_the_slowest_follow_up_within_the_floor_and_settle(
    monkeypatch, normal, settle, seconds
):
    signed = [_normal(100.0 * n, gaps, finish) for n, (gaps, finish) in enumerate(normal, 1)]
    monkeypatch.setitem(sign_ins._baseline, "sign_ins", signed)
    config = SimpleNamespace(application=SimpleNamespace(drive=Drive("browser", settle=settle)))
    watch = sign_ins.refusal_watch(config, SimpleNamespace(recording=RequestLog()))
    assert watch.seconds == seconds
    assert "slowest follow-up in its normal sign-ins" in watch.basis


def test_no_follow_up_in_the_normal_sign_ins_leaves_the_full_settle_time(monkeypatch):
    monkeypatch.setitem(sign_ins._baseline, "sign_ins", [_normal(1.0, [], None), _normal(2.0, [], None)])
    config = SimpleNamespace(application=SimpleNamespace(drive=Drive("browser")))
    assert sign_ins.refusal_watch(config, SimpleNamespace(recording=RequestLog())) is None


def test_a_request_being_answered_counts_as_activity_until_its_answer_is_logged():
    from werkzeug.serving import make_server

    release, inside = threading.Event(), threading.Event()

    def slow(environ, start_response):
        inside.set()
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    log = RequestLog()
    server = make_server("127.0.0.1", 0, RecordingMiddleware(slow, log), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert log.activity() == (0, 0.0)
        client = threading.Thread(target=requests.get, args=(f"http://127.0.0.1:{server.port}/connect/token",))
        client.start()
        assert inside.wait(10)
        in_flight, last = log.activity()
        assert in_flight == 1 and not log.entries()  # on its way: not yet in the log, yet not quiet
        time.sleep(0.05)
        release.set()
        client.join(10)
        in_flight, answered = log.activity()
        assert in_flight == 0 and answered > last and len(log.entries()) == 1
    finally:
        server.shutdown()


def test_a_stalled_sign_in_names_the_client_id_the_application_sent_when_it_is_not_the_files():
    """An application and its file that name different clients: the stand-in knows only the file's,
    the sign-in stalls at its error page, and the attachment says why rather than only that it stalled."""
    application = SimpleNamespace(
        client_id="registered-app",
        drive=Drive(mode="browser", sign_in_url="http://127.0.0.1:1/login"),
        app_type="web",
        redirect_uris=("http://127.0.0.1:1/callback",),
    )
    sent = RecordedRequest(1.0, "GET", AUTHORIZE, (("client_id", "typo-app"),), (), {}, "", 400, "")
    stalled = SignIn(False, 0, "", 3.0)
    said = sign_ins.unfinished(application, stalled, 1, Observed([sent]))
    assert "client_id 'typo-app', not the application file's 'registered-app'" in said
    same = RecordedRequest(1.0, "GET", AUTHORIZE, (("client_id", "registered-app"),), (), {}, "", 200, "")
    assert "client_id" not in sign_ins.unfinished(application, stalled, 1, Observed([same]))
