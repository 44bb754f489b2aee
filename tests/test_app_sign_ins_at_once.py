"""Application side: sign-ins made at once (appside.concurrent) are told apart. A fault armed for one
test user reaches only that user's sign-in, and the stand-in's log is sorted into each sign-in's
requests by whom the stand-in served, what its browser asked and the codes and tokens it was given."""

import pytest

from appside.application_schema import MOST_AT_ONCE
from appside.concurrent import EXPIRY, NORMAL, TWO_EXPIRIES, USED_THEN_API, fault_title, flows, run_at_once
from appside.observed import Observed, of_one_sign_in
from sandbox.faults import Faults
from sandbox.recording import RecordedRequest

ISSUER = "http://localhost:9000"
AUTHORIZE, TOKEN, API = "/connect/authorize", "/connect/token", "/api/v1/me"


def test_a_fault_armed_for_one_user_reaches_that_user_only():
    faults = Faults()
    faults.inject("callback-state-wrong", user="test.user.1")
    assert not faults.take("callback-state-wrong", "test.user.2")
    assert not faults.take("callback-state-wrong")  # nor whoever comes without a user
    assert faults.take("callback-state-wrong", "test.user.1")
    assert not faults.take("callback-state-wrong", "test.user.1")  # armed once: used up


def test_a_fault_armed_for_no_user_reaches_whoever_comes_next():
    faults = Faults()
    faults.inject("access-denied")
    assert faults.armed("access-denied", "test.user.3")
    assert faults.take("access-denied", "test.user.3")
    assert not faults.armed("access-denied")


def _entry(
    at, method, path, query=(), form=(), headers=None, status=200, location="", response=None, user="", notes=None
):
    notes = {**({"user": user} if user else {}), **(notes or {})}
    return RecordedRequest(at, method, path, query, form, headers or {}, "", status, location, response, notes)


def _sign_in(user: str, state: str, code: str, token: str, at: float) -> list:
    query = (("client_id", "app"), ("state", state))
    callback = f"http://127.0.0.1:5000/callback?code={code}&state={state}"
    return [
        _entry(at, "GET", AUTHORIZE, query, status=302, location="/account/login"),  # before the user signed in
        _entry(at + 1, "POST", AUTHORIZE, query, status=302, location=callback, user=user),
        # the redemption is refused: no user noted, its code ties it to the sign-in
        _entry(at + 2, "POST", TOKEN, form=(("grant_type", "authorization_code"), ("code", code)), status=400),
        _entry(at + 3, "POST", TOKEN, form=(("code", code),), response={"access_token": token}, user=user),
        _entry(at + 4, "GET", API, headers={"Authorization": f"Bearer {token}"}, status=401),
        _entry(at + 5, "GET", API, query=(("access_token", token),), status=401),
    ]


def test_the_log_is_sorted_into_each_sign_in_by_its_user_its_browser_its_code_and_its_tokens():
    first, second = _sign_in("test.user.1", "s1", "c1", "t1", 0.0), _sign_in("test.user.2", "s2", "c2", "t2", 0.5)
    discovery = _entry(0.2, "GET", "/.well-known/openid-configuration")
    entries = sorted([*first, *second, discovery], key=lambda e: e.at)
    browser = [f"{ISSUER}{AUTHORIZE}?client_id=app&state=s1", "http://127.0.0.1:5000/login"]
    assert of_one_sign_in(entries, "test.user.1", browser, ISSUER) == first
    # without its browser's URLs, the request made before the user signed in belongs to no one
    assert of_one_sign_in(entries, "test.user.2", [], ISSUER) == second[1:]
    observed = Observed(of_one_sign_in(entries, "test.user.1", browser, ISSUER))
    assert [c.location_params["code"] for c in observed.callbacks] == ["c1"]
    assert len(observed.api_calls) == 2 and len(observed.grants("authorization_code")) == 1


def test_sign_ins_that_send_the_same_state_and_nonce_are_told_apart_by_the_browser_the_stand_in_noted():
    """A fixed state, a fixed nonce and no PKCE make every sign-in's authorization request the same
    query: the stand-in's note of the browser (its own session) ties each to its sign-in, and each
    login to its user, so no sign-in's log holds another user's login."""
    query = (("client_id", "app"), ("nonce", "a super secret nonce"), ("state", "foobar"))
    login = "/account/login"

    def sign_in(user: str, browser: str, code: str, at: float) -> list:
        callback = f"http://127.0.0.1:5000/callback?code={code}&state=foobar"
        return [
            _entry(at, "GET", AUTHORIZE, query, status=302, location=login, notes={"browser": browser}),
            _entry(
                at + 1, "POST", login, form=(("username", user),), status=302, notes={"browser": browser, "user": user}
            ),
            _entry(at + 2, "GET", AUTHORIZE, query, location=callback, notes={"browser": browser, "user": user}),
            _entry(at + 3, "POST", TOKEN, form=(("code", code),), response={"access_token": code + "t"}, user=user),
        ]

    first, second = sign_in("test.user.1", "b1", "c1", 0.0), sign_in("test.user.2", "b2", "c2", 0.5)
    entries = sorted([*first, *second], key=lambda e: e.at)
    same_urls = [f"{ISSUER}{AUTHORIZE}?client_id=app&nonce=a+super+secret+nonce&state=foobar"]
    assert of_one_sign_in(entries, "test.user.1", same_urls, ISSUER) == first
    assert of_one_sign_in(entries, "test.user.2", same_urls, ISSUER) == second


def _config(
    steps, use_api_url="http://127.0.0.1:5000/profile", scope="openid offline_access", client_secret="s", at_once=6
):
    from types import SimpleNamespace

    application = SimpleNamespace(
        drive=SimpleNamespace(use_api_url=use_api_url),
        scope=scope,
        client_secret=client_secret,
        sign_ins_at_once=at_once,
    )
    return SimpleNamespace(application=application, planned_steps=steps)


@pytest.mark.parametrize(
    ("steps", "wanted"),
    [
        # a refused sign-in's watch is bounded by the normal sign-ins: they are made too, and first
        (['the stand-in answers a sign-in with the fault "access-denied"'], [*NORMAL, fault_title("access-denied")]),
        (
            [
                "the stand-in issues a short-lived access token and the application uses the API after it expired",
                "the access token expires twice and the application uses the API after each expiry",
            ],
            [TWO_EXPIRIES, EXPIRY],
        ),
        (["the application has signed in twice through the stand-in"], list(NORMAL)),
        (['the application is a "web" application'], []),
        # the normal use then the API's, read with the normal sign-ins (APPC-11 and the leak rules)
        (["the application has been used as a user would"], [*NORMAL, USED_THEN_API]),
        (
            ["the application has been used as a user would, and what it showed and sent was kept"],
            [*NORMAL, USED_THEN_API],
        ),
    ],
)
def test_only_what_the_selected_scenarios_name_is_made_at_once(steps, wanted):
    assert list(flows(_config(steps), None, None)) == wanted


def test_the_renewal_of_the_secret_rules_is_the_same_expiry():
    steps = ["the application renews an expired access token, where the suite can make it"]
    assert list(flows(_config(steps), None, None)) == [EXPIRY]


def test_no_expiry_is_waited_for_without_a_page_that_uses_the_api_or_a_refresh_token():
    steps = [
        "the stand-in issues a short-lived access token and the application uses the API after it expired",
        "the access token expires twice and the application uses the API after each expiry",
    ]
    assert not flows(_config(steps, use_api_url=""), None, None)
    assert list(flows(_config(steps, scope="openid"), None, None)) == [EXPIRY]


def test_the_stand_in_serves_a_repeated_nonce_and_notes_each_browser_and_its_login():
    """Visma Connect does not refuse a nonce an earlier authorization request carried (Authlib's default
    does, "Replay attack"): a client that repeats its nonce gets its code and is judged for the nonce by
    its rule, not stalled by the stand-in. The log notes each browser (the stand-in's own session) on
    its authorization requests and login, and the user on the login."""
    from urllib.parse import parse_qsl, urlsplit

    import requests

    from sandbox import SandboxServer, default_registry

    query = {"response_type": "code", "client_id": "sandbox-web", "redirect_uri": "https://web.app.local/callback"}
    query.update(scope="openid", state="foobar", nonce="a super secret nonce")
    server = SandboxServer(default_registry()).start()
    try:
        codes = []
        for _ in range(2):  # the first code not redeemed yet when the second sign-in asks
            browser = requests.Session()
            login = browser.get(server.url + AUTHORIZE, params=query, allow_redirects=False, timeout=10)
            return_url = dict(parse_qsl(urlsplit(login.headers["Location"]).query))["returnUrl"]
            form = {"username": "test.user", "password": "sandbox-password", "returnUrl": return_url}
            browser.post(server.url + "/account/login", data=form, allow_redirects=False, timeout=10)
            answer = browser.post(
                server.url + return_url, data={"decision": "allow"}, allow_redirects=False, timeout=10
            )
            codes.append(dict(parse_qsl(urlsplit(answer.headers["Location"]).query)).get("code"))
        entries = server.recording.entries()
    finally:
        server.stop()
    assert all(codes) and len(set(codes)) == 2, codes
    browsers = [e.notes.get("browser") for e in entries if e.path in (AUTHORIZE, "/account/login")]
    assert browsers[0] != browsers[3] and browsers == [browsers[0]] * 3 + [browsers[3]] * 3, browsers  # each its own
    assert [e.notes.get("user") for e in entries if e.method == "POST" and e.path == "/account/login"] == [
        "test.user",
        "test.user",
    ]


def test_an_application_without_a_secret_is_not_used_for_the_secret_rule():
    """APPC-11's step skips an application without a client secret: nothing is made for it."""
    assert not flows(_config(["the application has been used as a user would"], client_secret=None), None, None)


def test_each_flow_gets_its_browser_context_as_it_starts_not_all_before_the_first():
    """The first flows (the longest waits) start at once; the others' contexts are made while they go on."""
    from types import SimpleNamespace

    events = []

    class Driver:
        watchdog = None  # no browser to stop

        def session(self, username):
            events.append(("context", username))
            page = SimpleNamespace(wait_for_timeout=lambda ms: None)
            return SimpleNamespace(username=username, urls=[], page=page, close=lambda: None)

    def flow(title):
        def steps(session, progress):
            events.append(("start", title))
            yield
            return [title]

        return steps

    log = SimpleNamespace(clear=lambda: None, listeners=[], entries=lambda: [])
    stand_in = SimpleNamespace(recording=log, faults=SimpleNamespace(clear=lambda: None), issuer=ISSUER)
    evidence = run_at_once(Driver(), stand_in, {title: flow(title) for title in ("a", "b", "c")}, MOST_AT_ONCE)
    assert [sign_ins for sign_ins, _ in evidence.values()] == [["a"], ["b"], ["c"]]
    assert events == [
        ("context", "test.user.1"),
        ("start", "a"),
        ("context", "test.user.2"),
        ("start", "b"),
        ("context", "test.user.3"),
        ("start", "c"),
    ]


def test_the_printed_work_says_how_many_sign_ins_went_together_and_how_many_at_a_time(monkeypatch):
    """Every web run printed "16 sessions at once" while the docs said at most six go on at once: both were
    true of different things. The line says both: the sign-ins made together, and the most at the same time."""
    from types import SimpleNamespace

    from appside import browser_driver
    from appside.effort import Effort

    work = Effort()
    monkeypatch.setattr(browser_driver, "EFFORT", work)

    def flow(number):
        yield
        yield
        return number

    page = SimpleNamespace(wait_for_timeout=lambda milliseconds: None)
    assert browser_driver.run_together(page, [flow(n) for n in range(16)]) == list(range(16))
    work.at_once, work.at_once_planned, work.at_once_seconds = 16, 16, 47.1
    assert work.most_at_once == MOST_AT_ONCE
    assert "16 browser sessions made together (at most 6 at a time) in 47.1 s wall" in work.summary()
    work.at_once = 4  # a browser stopped in the middle: the others never started
    assert "4 browser sessions made together of the 16 planned (the browser was stopped before the others " in (
        work.summary()
    )


class _Session:
    """A browser session's steps, each a single step: what a flow opens, and with which watch."""

    username = "test.user.1"

    def __init__(self) -> None:
        self.opened: list = []

    def sign_in_steps(self):
        yield
        return "signed in"

    def open_steps(self, url, quiet=None):
        self.opened.append((url, quiet))
        yield
        return "opened"

    def wait_steps(self, seconds):
        yield


@pytest.mark.parametrize("normal", [None, ["normal sign-in 1", "normal sign-in 2"]], ids=["not-ended", "ended"])
def test_a_page_opened_after_a_sign_in_is_watched_on_the_normal_sign_ins_evidence_where_they_ended(normal):
    """Where the normal sign-ins ended, the page the application opens to use the API (after its sign-in, after an
    expiry) ends its watch on their evidence (appside.browser_driver.QuietWatch); where not, drive.timeout."""
    from types import SimpleNamespace

    steps = [
        "the application has been used as a user would, and what it showed and sent was kept",
        "the stand-in issues a short-lived access token and the application uses the API after it expired",
        "the access token expires twice and the application uses the API after each expiry",
    ]
    wanted = flows(_config(steps), SimpleNamespace(faults=Faults()), lambda normal: ("the quiet watch of", normal))
    progress = SimpleNamespace(
        normal_sign_ins=lambda: normal,
        tokens_answered={},
        none_reached_the_stand_in=lambda: False,  # the normal sign-ins reached it (or have not ended)
        reached=lambda session: True,
    )
    for title, pages in ((USED_THEN_API, 1), (EXPIRY, 1), (TWO_EXPIRIES, 2)):
        session = _Session()
        flow = wanted[title](session, progress)
        with pytest.raises(StopIteration):
            while True:
                next(flow)
        watch = ("the quiet watch of", normal) if normal else None
        assert session.opened == [("http://127.0.0.1:5000/profile", watch)] * pages, title


def test_a_call_with_another_sign_ins_token_is_not_this_sign_ins_though_its_browser_called_the_same_path():
    """angular-oauth2-oidc with offline_access: the two-expiries sign-in's second expired call to /api/v1/me
    (an SPA's call carries no cookie, so no browser note) was counted in APPC-20's sign-in, whose browser
    called /api/v1/me too, and APPC-20 warned that it 'never signed in again' after it, unlike the clean run."""
    mine, theirs = _sign_in("test.user.1", "s1", "c1", "t1", 0.0), _sign_in("test.user.2", "s2", "c2", "t2", 0.5)
    their_call = _entry(9.0, "GET", API, headers={"Authorization": "Bearer t2"}, status=401)
    anonymous = _entry(9.5, "GET", API, status=401)  # no token: its browser's, by the path it asked
    entries = sorted([*mine, *theirs, their_call, anonymous], key=lambda e: e.at)
    browser = [f"{ISSUER}{AUTHORIZE}?client_id=app&state=s1", f"{ISSUER}{API}"]
    own = of_one_sign_in(entries, "test.user.1", browser, ISSUER)
    assert their_call not in own and anonymous in own
    assert their_call in of_one_sign_in(entries, "test.user.2", [f"{ISSUER}{API}"], ISSUER)


def test_a_call_with_a_sign_ins_id_token_as_the_bearer_token_is_that_sign_ins():
    """An application that sends its ID token as the bearer token (the API refuses it): the call carries the
    ID token the stand-in gave one sign-in, so it is that sign-in's, not a request tied to no sign-in, which
    would count for every sign-in going on (a refused one's evidence included)."""
    first, second = _sign_in("test.user.1", "s1", "c1", "t1", 0.0), _sign_in("test.user.2", "s2", "c2", "t2", 0.5)
    answer = {"access_token": "t1", "id_token": "i1"}
    first[3] = _entry(3.0, "POST", TOKEN, form=(("code", "c1"),), response=answer, user="test.user.1")
    with_id_token = _entry(3.5, "GET", API, headers={"Authorization": "Bearer i1"}, status=401)
    entries = sorted([*first, *second, with_id_token], key=lambda e: e.at)
    assert with_id_token in of_one_sign_in(entries, "test.user.1", [], ISSUER)
    assert with_id_token not in of_one_sign_in(entries, "test.user.2", [], ISSUER)


def test_a_token_of_a_sign_in_that_had_ended_used_meanwhile_is_named():
    """An outside Flask application kept one token for every user: after the expiries, this sign-in's page used
    the API with the token of a sign-in that had ended seconds before (its user's data shown to another user)."""
    from appside.observed import TRAILING, tokens_of_ended_sign_ins

    mine = _sign_in("test.user.1", "s1", "c1", "t1", 0.0)[:4]
    theirs = _sign_in("test.user.2", "s2", "c2", "t2", 0.5)[:4]
    during = _entry(5.0, "GET", API, headers={"Authorization": "Bearer t2"})  # theirs, while their sign-in went on
    after = _entry(8.0 + TRAILING + 0.5, "GET", API, headers={"Authorization": "Bearer t2"})
    own = Observed(mine, ISSUER, (0.0, 20.0))
    other = Observed([*theirs, during, after], ISSUER, (0.5, 8.0))
    found = tokens_of_ended_sign_ins(own, [own, other])
    assert [(call, user) for call, user, _ in found] == [(after, "test.user.2")]
    assert tokens_of_ended_sign_ins(Observed(mine, ISSUER), [other]) == []  # not made at once: no windows to compare


NATIVE = """name: AppAuth native CLI
application:
  type: native
  client_id: native-appauth
  redirect_uris: [{uris}]
  scope: openid profile
drive:
  sign_in_url: http://127.0.0.1:14501/login
  signed_in: {{text: Welcome}}
{extra}"""


def test_a_native_app_on_a_fixed_loopback_port_signs_in_one_at_a_time(tmp_path):
    """@openid/appauth's NodeBasedHandler and oidc-agent listen on a fixed loopback port (RFC 8252 section 7.3
    forbids no such port): six sign-ins at once left all but one with EADDRINUSE, and the certification was
    incomplete. A native application whose every redirect URI names its port signs in one sign-in at a time;
    drive.sign_ins_at_once says otherwise where the application file knows better."""
    from types import SimpleNamespace

    from appside.application import load_application
    from appside.browser_driver import run_together

    def made(uris: str, extra: str = ""):
        path = tmp_path / "app.yaml"
        path.write_text(NATIVE.format(uris=uris, extra=extra))
        return load_application(path, {})

    assert made('"http://127.0.0.1:14511/callback"').sign_ins_at_once == 1
    assert made('"http://localhost:14505/", "http://localhost:14506/"').sign_ins_at_once == 1
    assert made('"http://127.0.0.1/callback"').sign_ins_at_once == MOST_AT_ONCE  # a port from the system each time
    assert made('"http://127.0.0.1:14511/cb", "http://127.0.0.1/cb"').sign_ins_at_once == MOST_AT_ONCE
    assert made('"http://127.0.0.1:14511/callback"', "  sign_ins_at_once: 3\n").sign_ins_at_once == 3
    assert made('"http://127.0.0.1/callback"', "  sign_ins_at_once: 1\n").sign_ins_at_once == 1

    listening: list[int] = []  # the flows holding the port

    def flow(number):
        listening.append(number)
        assert listening == [number], f"sign-in {number} found the port taken by {listening[0]}"
        yield
        yield
        listening.remove(number)
        return number

    page = SimpleNamespace(wait_for_timeout=lambda milliseconds: None)
    assert run_together(page, [flow(n) for n in range(4)], at_once=1) == [0, 1, 2, 3]


def test_one_sign_in_at_a_time_delivers_another_browsers_callback_last():
    """APPC-31 holds another browser's sign-in before its callback: a fixed-port application's sign-in process
    then listens on its port for good, and every sign-in after it found the port taken (EADDRINUSE: APPC-21's,
    APPC-18's and APPC-19's "had not reached the application's callback ... raise drive.timeout"). One sign-in at
    a time, that flow goes last."""
    from appside.concurrent import OTHER_BROWSER

    steps = [f'the stand-in answers a sign-in with the fault "{fault}"' for fault in (OTHER_BROWSER, "access-denied")]
    one_at_a_time = list(flows(_config(steps, at_once=1), None, None))
    assert one_at_a_time == [*NORMAL, fault_title("access-denied"), fault_title(OTHER_BROWSER)]
    at_once = list(flows(_config(steps), None, None))
    assert at_once == [*NORMAL, fault_title(OTHER_BROWSER), fault_title("access-denied")]
