"""The state rules on recorded requests, without a browser. RFC 9700 section 2.1: a client that uses
PKCE, or an OpenID Connect nonce, may rely on it against CSRF; only "otherwise" must the state be a
one-time CSRF token. So APPC-03 to APPC-05 judge the state of an application that relies on it, and
APPC-29 warns one that does not (express-openid-connect sends the same encoded {"returnTo": ...}
every time). APPC-04 judges only the part of a state that varies between the two sign-ins."""

import base64
import dataclasses
import hashlib
import json
import secrets
import string
import time
import uuid
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from _pytest.outcomes import Skipped

from appside.entropy import varying_part
from appside.observed import Observed
from appside.record import UNCHECKED, ApplicationRecorder, application_rule_sources
from appside.steps import refusals, requests_sent
from appside.steps.refusals import _accepted, sends_state
from appside.steps.requests_sent import (
    NONCE_PROTECTS,
    callback_protection,
    callback_protection_shown,
    callback_protections,
    random_state_entropy,
    relies_on_state,
    state_entropy,
    state_present_besides,
    states_differ,
    states_differ_besides,
)
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NonConformance, NothingToCheck

# express-openid-connect 2.x: base64url of {"returnTo": ...}, the same in every sign-in
RETURN_TO_STATE = base64.urlsafe_b64encode(json.dumps({"returnTo": "http://127.0.0.1:3000/"}).encode()).decode()


NO_RUN: Any = SimpleNamespace(config=None)  # the pytest request the state steps read the run's evidence through
NO_STAND_IN: Any = None


@pytest.fixture(autouse=True)
def _nonce_checked(monkeypatch):
    """The run saw the application refuse APPC-21's nonce faults, unless a test says otherwise."""
    monkeypatch.setattr(requests_sent, "nonce_checked", lambda config, stand_in: True)


STAND_IN: Any = SimpleNamespace(issuer="http://localhost:9000")  # whose issuer the wrong-iss faults extend
SPA: Any = SimpleNamespace(is_interactive=True)  # what the state steps read of the application


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _authorize(state=None, pkce="S256", nonce=True, scope="openid profile email", verifier=None) -> RecordedRequest:
    """An authorization request; `nonce` True: a random one of 132 bits; `verifier`: the code_verifier
    behind its challenge (a random one of 256 bits by default), redeemed in the same sign-in (_run)."""
    query = [("response_type", "code"), ("scope", scope)]
    if state is not None:
        query.append(("state", state))
    if pkce:
        verifier = verifier or secrets.token_urlsafe(32)
        query += [("code_challenge", _challenge(verifier)), ("code_challenge_method", pkce)]
    if nonce:
        query.append(("nonce", secrets.token_urlsafe(16) if nonce is True else nonce))
    request = RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], tuple(query), (), {}, "", 302)
    request.notes["verifier"] = verifier
    return request


def _redemption(verifier: str) -> RecordedRequest:
    form = (("grant_type", "authorization_code"), ("code", "c0de"), ("code_verifier", verifier))
    return RecordedRequest(1.0, "POST", PATHS["token_endpoint"], (), form, {}, "", 200)


def _run(*requests: RecordedRequest) -> AppRun:
    """A sign-in per authorization request, its code redeemed with its code_verifier where it had one."""
    return AppRun(
        observed=[
            Observed([request, *([_redemption(request.notes["verifier"])] if request.notes["verifier"] else [])])
            for request in requests
        ]
    )


def test_pkce_or_a_nonce_makes_appc03_to_05_not_applicable_and_appc29_judge_the_state():
    for pkce, nonce in (("S256", True), ("S256", False), (None, True)):
        run = _run(_authorize(RETURN_TO_STATE, pkce, nonce), _authorize(RETURN_TO_STATE, pkce, nonce))
        with pytest.raises(Skipped, match=r"not applicable: .* protects? the callback .*RFC 9700 section 2\.1"):
            relies_on_state(NO_RUN, NO_STAND_IN, run)
        callback_protection_shown(NO_RUN, NO_STAND_IN, SPA, run)  # APPC-29 applies: its state steps warn
        with pytest.raises(NonConformance, match="two sign-ins used the same state"):
            states_differ(SPA, run)


def test_without_a_new_s256_challenge_or_nonce_the_state_alone_protects_the_callback():
    reused = _authorize("a" * 22, "S256", nonce=False)
    for run in (
        _run(_authorize("a" * 22, None, False), _authorize("b" * 22, None, False)),
        _run(_authorize("a" * 22, "plain", False), _authorize("b" * 22, "plain", False)),  # plain: no S256
        _run(reused, reused),  # the same challenge twice
        _run(_authorize("a" * 22, None, scope="profile"), _authorize("b" * 22, None, scope="profile")),  # no openid
        _run(_authorize("a" * 22, None, False), _authorize("b" * 22, "S256", True)),  # one sign-in only
    ):
        relies_on_state(NO_RUN, NO_STAND_IN, run)  # APPC-03 to APPC-05 apply
        callback_protection_shown(NO_RUN, NO_STAND_IN, SPA, run)  # APPC-29 judges the state too


def test_a_guessable_nonce_or_code_verifier_protects_no_callback_and_the_state_must():
    """RFC 9700 section 2.1 lets PKCE or a nonce stand in for the state's CSRF protection; a value an
    attacker can guess is no such protection (the bar APPC-04 sets the state), nor is a code_verifier shorter
    than RFC 7636 section 4.1's 43 characters. A timestamp nonce under a fixed state: APPC-03 to APPC-05 judge
    the state."""
    timestamps = [f"acme-{1765000000000 + n}" for n in (0, 1234)]  # acme-<Date.now()>
    short = [secrets.token_urlsafe(6) for _ in range(2)]  # 8 characters: 48 bits at most
    unformed = [secrets.token_urlsafe(15) for _ in range(2)]  # 20 characters: 120 bits, no RFC 7636 verifier
    for run in (
        _run(*(_authorize(RETURN_TO_STATE, None, nonce) for nonce in timestamps)),
        _run(*(_authorize(RETURN_TO_STATE, None, nonce) for nonce in short)),
        _run(*(_authorize(RETURN_TO_STATE, "S256", False, verifier=f"v-{n:041d}") for n in (1, 2))),  # a counter
        _run(*(_authorize(RETURN_TO_STATE, "S256", False, verifier=v) for v in unformed)),
        _run(
            *(
                _authorize(RETURN_TO_STATE, "S256", nonce, verifier=v)
                for nonce, v in zip(timestamps, short, strict=True)
            )
        ),
    ):
        assert callback_protections(run) == []
        relies_on_state(NO_RUN, NO_STAND_IN, run)  # APPC-03 to APPC-05 apply
        callback_protection_shown(NO_RUN, NO_STAND_IN, SPA, run)  # APPC-29 judges the state too
        with pytest.raises(NonConformance, match="two sign-ins used the same state"):
            states_differ(SPA, run)  # APPC-05 fails


def test_an_s256_challenge_whose_verifier_was_never_seen_protects_nothing_the_suite_can_judge():
    request = _authorize("a" * 22, "S256", False)
    unredeemed = AppRun(observed=[Observed([request]), Observed([_authorize("b" * 22, "S256", False)])])
    assert callback_protections(unredeemed) == []


def test_appc04_a_random_state_of_128_bits_passes_even_where_two_share_a_few_characters():
    for _ in range(200):
        first, second = secrets.token_urlsafe(16), secrets.token_urlsafe(16)  # 22 characters, 132 bits
        state_entropy(SPA, _run(_authorize(first), _authorize(second)))
        # by chance the same first and last three characters (not four): still all of it counts
        middle = "".join("A" if a == "B" else "B" for a in first[3] + first[-4]) + second[4:-4]
        chance = first[:3] + middle[0] + middle[2:] + middle[1] + first[-3:]
        state_entropy(SPA, _run(_authorize(first), _authorize(chance)))


def test_appc04_judges_the_part_that_varies_not_a_long_fixed_prefix():
    prefix = RETURN_TO_STATE[:-2]  # 46 characters that never change
    run = _run(_authorize(prefix + "0123456789ab"), _authorize(prefix + "ba9876543210"))
    with pytest.raises(NonConformance, match="of which 12 differ from the other sign-in's, carries at most 48 bits"):
        state_entropy(SPA, run)
    # a structured state with enough randomness in it passes
    structured = [
        base64.urlsafe_b64encode(json.dumps({"returnTo": "/", "csrf": secrets.token_urlsafe(24)}).encode()).decode()
        for _ in range(2)
    ]
    state_entropy(SPA, _run(*(_authorize(state) for state in structured)))


def test_appc04_has_nothing_to_judge_in_two_equal_states_and_names_appc05():
    with pytest.raises(NothingToCheck, match=r"same state.*\(APPC-05\)"):
        state_entropy(SPA, _run(_authorize(RETURN_TO_STATE), _authorize(RETURN_TO_STATE)))


def test_appc04_with_one_sign_in_judges_the_whole_state():
    with pytest.raises(NonConformance, match="a state of 12 characters carries at most 48 bits"):
        state_entropy(SPA, _run(_authorize(secrets.token_hex(6))))
    state_entropy(SPA, _run(_authorize(secrets.token_urlsafe(16))))


# @azure/msal-browser 5.31: base64 of {"id": "<UUID version 7>", "meta": {...}}, two sign-ins' states and nonces
MSAL_STATES = [
    "eyJpZCI6IjAxYTI0YzdjLWNkMWQtN2Y3MC05Y2I3LWNhMTg5YmYzMmE1ZCIsIm1ldGEiOnsiaW50ZXJhY3Rpb25UeXBlIjoicmVkaXJlY3QifX0=",
    "eyJpZCI6IjAxYTI0YzdjLWNlNDQtN2ZlMC1hNTVmLTkzMGMwZGQ0MWFhNyIsIm1ldGEiOnsiaW50ZXJhY3Rpb25UeXBlIjoicmVkaXJlY3QifX0=",
]
MSAL_NONCES = ["01a24c7c-cd1d-7040-9f00-f8100fa2ae1d", "01a24c7c-ce44-79ac-98c7-555e6deb515b"]


def test_appc29_counts_a_uuid_by_its_random_bits_under_base64_and_json():
    """MSAL.js's state carries a UUID version 7: 74 random bits (48 are the time in ms). As written, its 120
    characters of base64 passed APPC-29, whose sentence warns a state whose varying part carries fewer than 128."""
    run = _run(*(_authorize(state, "S256", nonce) for state, nonce in zip(MSAL_STATES, MSAL_NONCES, strict=True)))
    callback_protection_shown(NO_RUN, NO_STAND_IN, SPA, run)  # PKCE and the nonce protect it: APPC-29 judges the state
    with pytest.raises(
        NonConformance,
        match=r"decoded from base64, JSON; a UUID version 7 counted by its 74 random bits.*at most 74 bits",
    ):
        random_state_entropy(NO_RUN, NO_STAND_IN, SPA, run)
    uuid4 = _run(*(_authorize(str(uuid.uuid4())) for _ in range(2)))
    with pytest.raises(NonConformance, match=r"a UUID version 4 counted by its 122 random bits.*at most 122 bits"):
        random_state_entropy(NO_RUN, NO_STAND_IN, SPA, uuid4)
    percent = _run(*(_authorize(quote(json.dumps({"csrf": str(uuid.uuid4()), "to": "/"}))) for _ in range(2)))
    with pytest.raises(NonConformance, match=r"decoded from percent-encoding, JSON.*at most 122 bits"):
        random_state_entropy(NO_RUN, NO_STAND_IN, SPA, percent)
    # random values as written, base64url of random bytes and hex digits (oidc-client-ts's state: a UUID
    # version 4 without its hyphens, read as 32 hex digits) are measured as before
    for make in (lambda: secrets.token_urlsafe(16), lambda: secrets.token_hex(16), lambda: uuid.uuid4().hex):
        random_state_entropy(NO_RUN, NO_STAND_IN, SPA, _run(_authorize(make()), _authorize(make())))


def _uuid7() -> str:
    """RFC 9562 section 5.7: 48 bits of Unix time in ms, the version, 74 random bits with the variant."""
    value = (int(time.time() * 1000) << 80) | (7 << 76) | secrets.randbits(76)
    value = value & ~(0b11 << 62) | (0b10 << 62)
    return str(uuid.UUID(int=value))


def test_no_critical_rule_fails_a_uuid_state_or_nonce():
    """RFC 6749 section 10.10's 2^(-128) binds the authorization server's "generated tokens"; the client's state
    is bound by section 10.12's "non-guessable value", at least 64 bits (NIST SP 800-63B section 7.1). A UUID
    counts by its random bits (122 in version 4, 74 in version 7), above that bar, and a UUID nonce still protects
    the callback (APPC-03 to APPC-05 do not apply)."""
    for states in (MSAL_STATES, [str(uuid.uuid4()) for _ in range(2)], [_uuid7() for _ in range(2)]):
        state_entropy(SPA, _run(*(_authorize(state, None, False) for state in states)))
    for nonces in (MSAL_NONCES, [str(uuid.uuid4()) for _ in range(2)]):
        run = _run(*(_authorize(RETURN_TO_STATE, None, nonce) for nonce in nonces))
        assert callback_protection(run, None, NO_STAND_IN) == NONCE_PROTECTS
    # what APPC-04 failed before it still fails: 8 random bytes in a fixed {"returnTo": ...}, in base64url
    weak = [
        base64.urlsafe_b64encode(json.dumps({"returnTo": "/", "csrf": secrets.token_hex(6)}).encode()).decode()
        for _ in range(2)
    ]
    with pytest.raises(NonConformance, match=r"decoded from base64(url)?, JSON; only what differs.*at most 48 bits"):
        state_entropy(SPA, _run(*(_authorize(state, None, False) for state in weak)))


def test_varying_part_strips_only_shared_runs_of_four_or_more():
    assert varying_part("abcdefgh1234xyzw", "abcdefgh9876xyzw") == "1234"
    assert varying_part("abcXYZdef", "abcQRSdef") == "abcXYZdef"
    assert varying_part("same", "same") == ""


def test_appc16_and_17_do_not_apply_to_an_application_that_sends_no_state():
    run = _run(_authorize(None))
    run.baseline = (None, run.last)
    with pytest.raises(Skipped, match=r"not applicable: the application sends no state, .*RFC 6749 section 4\.1\.2"):
        sends_state(run)
    run = _run(_authorize(secrets.token_urlsafe(16)))
    run.baseline = (None, run.last)
    sends_state(run)


def test_appc16_and_17_cite_what_binds_an_openid_connect_client_that_sends_a_state():
    """PKCE and a nonce make APPC-03 to APPC-05 not apply (RFC 9700 section 2.1), not APPC-16 and APPC-17:
    OpenID Connect Core 1.0 section 3.1.2.7 has the client validate the response by RFC 6749 section
    4.1.2. The catalogue quotes both, and the failure message names them."""
    for rule_id in ("APPC-16", "APPC-17"):
        quotes = {source.get("source"): source.get("quote") for source in application_rule_sources(rule_id)}
        assert quotes["OpenID Connect Core 1.0 section 3.1.2.7"] == (
            "When using the Authorization Code Flow, the Client MUST validate the response according to RFC 6749, "
            "especially Sections 4.1.2 and 10.12."
        )
        assert quotes["RFC 6749 section 4.1.2"] == (
            'state: REQUIRED if the "state" parameter was present in the client authorization request. '
            "The exact value received from the client."
        )
    for fault in ("callback-state-wrong", "callback-state-missing"):
        accepted = _accepted(_scenario(fault, _run(_authorize(secrets.token_urlsafe(16)))))
        assert "OpenID Connect Core 1.0 section 3.1.2.7" in accepted and "RFC 6749 section 4.1.2" in accepted


def _scenario(fault: str, run: AppRun, scope: str = "openid profile email") -> Any:
    """The pytest request of APPC-17's scenario with `fault` injected, after `run`'s first sign-in as its normal one,
    for an application registered with `scope`."""
    run.baseline = (None, run.observed[0])
    node = SimpleNamespace(user_properties=[("rule", {"rule_id": "APPC-17", "level": "failure"}), ("fault", fault)])
    fixtures = {"app_run": run, "application": SimpleNamespace(scope=scope)}
    return SimpleNamespace(node=node, getfixturevalue=fixtures.get, config=None)


OAUTH_ONLY = "profile email offline_access"


def test_an_oauth_only_client_whose_callback_pkce_protects_need_not_compare_its_state(monkeypatch):
    """A Rust oauth2 web application asked no openid, sent a state and a new S256 challenge, and did not compare the
    callback's state: APPC-16 and APPC-17 failed it citing OpenID Connect Core 1.0 section 3.1.2.7, which does not bind
    an OAuth 2.0 client. RFC 6749 section 10.12 asks for CSRF protection (its state a SHOULD), and RFC 9700 section 2.1
    lets a client rely on PKCE's: not applicable, as APPC-03 to APPC-05. An OpenID Connect client is still judged, and
    so is an OAuth 2.0 client without PKCE, whose failure cites RFC 6749 section 10.12's MUST, not OpenID Connect."""

    def judged(run: AppRun, scope: str) -> None:
        monkeypatch.setattr(
            refusals, "normal_sign_ins", lambda config, stand_in: [(None, observed) for observed in run.observed]
        )
        refusals.must_validate_state(_scenario("callback-state-wrong", run, scope), NO_STAND_IN, run)

    def sign_ins(pkce) -> AppRun:
        return _run(*(_authorize(secrets.token_urlsafe(16), pkce, False, OAUTH_ONLY) for _ in range(2)))

    with pytest.raises(Skipped, match=r"^not applicable: the application asks no openid, .*RFC 9700 section 2\.1"):
        judged(sign_ins("S256"), OAUTH_ONLY)
    judged(_run(*(_authorize(secrets.token_urlsafe(16), "S256", True) for _ in range(2))), "openid profile email")
    without_pkce = sign_ins(None)
    judged(without_pkce, OAUTH_ONLY)
    accepted = _accepted(_scenario("callback-state-missing", without_pkce, OAUTH_ONLY))
    assert 'RFC 6749 section 10.12: "The client MUST implement CSRF protection' in accepted, accepted
    assert "OpenID Connect" not in accepted, accepted


def test_a_warned_application_exits_0():
    """An application that only APPC-29 (or another warning-level rule) warns is "conformant with 1
    warning", exit code 0: the application recorder turns a warned scenario into a skip before pytest
    counts it as failed, as the suite's recorder whose hook it overrides does."""
    assert ApplicationRecorder.pytest_runtest_logreport.pytest_impl["tryfirst"]  # type: ignore[attr-defined]


def test_appc31_another_browsers_callback_is_the_fault_whatever_protects_it_and_equal_requests_leave_it_nothing():
    """The callback delivered to this browser is the stand-in's answer to the other browser's authorization
    request (its code), and this browser's own sign-in sent one of its own: that is the fault delivered,
    whatever protects the callback (state, PKCE or nonce; RFC 9700 section 2.1.1 binds them all to the
    browser). Where both requests carry the same state, code_challenge and nonce (or none), nothing tells
    the browsers apart: the rule has nothing to check (APPC-03, APPC-05). Accepting it fails by the
    user-agent binding."""
    from appside.browser_driver import HeldCallback, SignIn
    from appside.concurrent import OTHER_BROWSER
    from appside.steps.refusals import fault_delivered

    WEB_APP = SimpleNamespace(app_type="web")

    def delivered(other: dict, own: dict, held_code: str = "c0de", form: bool = False) -> AppRun:
        callback = RecordedRequest(
            0.0, "GET", PATHS["authorization_endpoint"], tuple(other.items()), (), {}, "", 302,
            f"http://127.0.0.1:5081/callback?code=c0de&state={other.get('state', '')}",
        )  # fmt: skip
        fields = (("code", held_code), ("state", other.get("state", "")))
        held = (
            HeldCallback("POST", "http://127.0.0.1:5081/callback", fields)
            if form
            else HeldCallback("GET", "http://127.0.0.1:5081/callback?code=" + held_code)
        )
        own_request = "http://127.0.0.1:9/connect/authorize?" + "&".join(f"{k}={v}" for k, v in own.items())
        sign_in = SignIn(False, 400, own_request=own_request, other_browser_callback=held)  # the application answered
        run = AppRun(observed=[Observed([callback])], sign_ins=[sign_in])
        run.fault = OTHER_BROWSER
        return run

    fault_delivered(WEB_APP, STAND_IN, delivered({"state": "theirs"}, {"state": "mine"}))
    fault_delivered(WEB_APP, STAND_IN, delivered({"state": "theirs"}, {"state": "mine"}, form=True))  # form_post
    # no state, or the same one: a challenge or a nonce of its own is what the application can tell it by
    fault_delivered(WEB_APP, STAND_IN, delivered({"code_challenge": "B"}, {"code_challenge": "A"}))
    fault_delivered(
        WEB_APP,
        STAND_IN,
        delivered({"state": "same", "nonce": "B"}, {"state": "same", "nonce": "A"}),
    )
    with pytest.raises(NonConformance, match="the fault callback-of-other-browser was not delivered"):
        fault_delivered(
            WEB_APP,
            STAND_IN,
            delivered({"state": "theirs"}, {"state": "mine"}, held_code="another"),
        )
    with pytest.raises(NothingToCheck, match=r"same state, code_challenge and nonce .*\(APPC-03, APPC-05\)"):
        fault_delivered(WEB_APP, STAND_IN, delivered({"state": "always"}, {"state": "always"}))
    with pytest.raises(NothingToCheck, match="same state, code_challenge and nonce"):
        fault_delivered(WEB_APP, STAND_IN, delivered({}, {}))
    node = SimpleNamespace(
        user_properties=[("rule", {"rule_id": "APPC-31", "level": "failure"}), ("fault", OTHER_BROWSER)]
    )
    stateless = delivered({"code_challenge": "B"}, {"code_challenge": "A"})
    said = _accepted(SimpleNamespace(node=node, getfixturevalue=lambda name: stateless))
    assert "securely bound to the client and the user agent" in said
    # no redemption of the held code was answered: the stand-in compared its verifier and refused every one
    assert "sent a code_challenge, bound to this browser alone" in said and "nonce" not in said.split("(RFC 6749")[-1]
    assert "the stand-in refused every redemption of that browser's code" in said, said
    # one it answered was made with that browser's verifier: the stand-in compares it (RFC 7636 section 4.6)
    redeemed = RecordedRequest(
        1.0, "POST", PATHS["token_endpoint"], (),
        (("grant_type", "authorization_code"), ("code", "c0de"), ("code_verifier", "theirs")), {}, "", 200,
    )  # fmt: skip
    stateless.last.entries.append(redeemed)
    said = _accepted(SimpleNamespace(node=node, getfixturevalue=lambda name: stateless))
    assert "redeemed that browser's code with that browser's code_verifier" in said, said


NONCE_CHECKED = requests_sent.nonce_checked


def _nonce_fault_sign_in(fault: str, accepted: bool) -> tuple:
    """APPC-21's sign-in with `fault`: its code redeemed for an ID token that shows it, and the application
    showing its signed-in marker (accepted) or not."""
    from appside.browser_driver import SignIn

    sent = secrets.token_urlsafe(16)
    claims = {} if fault == "id-token-nonce-missing" else {"nonce": "another-" + sent}
    payload = base64.urlsafe_b64encode(json.dumps({"sub": "u", **claims}).encode()).rstrip(b"=").decode()
    redemption = dataclasses.replace(
        _redemption("v" * 43), response_json={"access_token": "at-" + fault, "id_token": f"e30.{payload}.sig"}
    )
    return [SignIn(accepted)], Observed([_authorize(secrets.token_urlsafe(16), None, sent), redemption])


def test_a_skip_reason_names_the_nonce_only_where_the_run_saw_it_checked(monkeypatch):
    """RFC 9700 section 2.1 lets PKCE, or a nonce the client checks, stand in for the state against CSRF. A run
    in which the application accepted an ID token with another nonce (APPC-21, NIMBUS_DEFECT=no-nonce-check)
    skipped APPC-03 to APPC-05 for "a new, unguessable OpenID Connect nonce in each sign-in" as
    well as PKCE: the reason must name only what the run showed to hold, and a nonce alone, not seen checked
    (APPC-21 accepted it, or did not run), makes none of them skip."""
    from appside.browser_driver import SignIn

    monkeypatch.setattr(requests_sent, "nonce_checked", NONCE_CHECKED)
    for pkce in ("S256", None):
        two = _run(*(_authorize(secrets.token_urlsafe(16), pkce) for _ in "ab"))
        normal = [(SignIn(True), observed) for observed in two.observed]
        monkeypatch.setattr(requests_sent, "normal_sign_ins", lambda config, stand_in, normal=normal: normal)
        for seen in ("refused", "accepted", "not run"):
            evidence = {
                f"sign-in with {fault}": _nonce_fault_sign_in(fault, seen == "accepted")
                for fault in ("id-token-nonce-wrong", "id-token-nonce-missing")
                if seen != "not run"
            }
            monkeypatch.setattr(
                requests_sent, "evidence_at_once", lambda config, stand_in, title, found=evidence: found.get(title)
            )
            request: Any = SimpleNamespace(config=None)
            steps = ((relies_on_state, (request, NO_STAND_IN, two)),)  # APPC-03 to APPC-05 (APPC-31 runs always)
            for step, arguments in steps:
                if seen == "refused":
                    with pytest.raises(Skipped, match="OpenID Connect nonce") as skipped:
                        step(*arguments)
                    assert ("a new PKCE S256 code_challenge" in str(skipped.value)) == bool(pkce)
                elif pkce:
                    with pytest.raises(Skipped, match="not applicable: a new PKCE S256") as skipped:
                        step(*arguments)
                    assert "nonce in each sign-in" not in str(skipped.value)
                else:
                    step(*arguments)  # not skipped: the state must protect the callback
            if not pkce and seen != "refused":
                callback_protection_shown(request, NO_STAND_IN, SPA, two)  # APPC-29 judges the state too


# Flask-pyoidc 3.14 (oic's rndstr()): 16 letters and digits, a new one in each sign-in, for the state and the nonce
def _rndstr() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(16))


def test_appc04_passes_a_state_of_16_letters_and_digits_and_appc29_warns_it():
    """Flask-pyoidc's state carries log2(62) * 16 = 95 bits: non-guessable as RFC 6749 section 10.12 binds the
    client (at least 64 bits, NIST SP 800-63B section 7.1), so APPC-04 passes it; APPC-29 warns it below the 128
    bits of section 10.10, whether or not its nonce protects the callback. Before, APPC-04 failed it (critical)."""
    alone = _run(*(_authorize(_rndstr(), None, False) for _ in range(2)))  # only the state protects the callback
    relies_on_state(NO_RUN, NO_STAND_IN, alone)
    state_entropy(SPA, alone)
    with_nonce = _run(*(_authorize(_rndstr(), None, _rndstr()) for _ in range(2)))  # its nonce: 95 bits, checked
    assert callback_protection(with_nonce, None, NO_STAND_IN) == NONCE_PROTECTS
    for run in (alone, with_nonce):
        callback_protection_shown(NO_RUN, NO_STAND_IN, SPA, run)
        with pytest.raises(NonConformance, match=r"at most 96 bits, fewer than 128: RFC 6749 section 10\.10") as warned:
            random_state_entropy(NO_RUN, NO_STAND_IN, SPA, run)
        assert not isinstance(warned.value, NothingToCheck)  # APPC-29's own check, a warning


def test_appc29_leaves_a_state_below_appc04s_bar_to_appc04_where_the_state_alone_protects_the_callback():
    """One cause, one failure: 48 bits of state fail APPC-04 (critical); APPC-29, which needs it, is blocked by it
    (NothingToCheck) rather than warning the same state again. Where PKCE protects the callback, APPC-04 does not
    apply and APPC-29 warns it."""
    weak = [secrets.token_hex(6) for _ in range(2)]
    alone = _run(*(_authorize(state, None, False) for state in weak))
    with pytest.raises(NonConformance, match=r"fewer than 64: RFC 6749 section 10\.12.*NIST SP 800-63B section 7\.1"):
        state_entropy(SPA, alone)
    with pytest.raises(NothingToCheck, match="APPC-04's bar"):
        random_state_entropy(NO_RUN, NO_STAND_IN, SPA, alone)
    with pytest.raises(NonConformance, match="fewer than 128") as warned:
        random_state_entropy(NO_RUN, NO_STAND_IN, SPA, _run(*(_authorize(state) for state in weak)))
    assert not isinstance(warned.value, NothingToCheck)
    # a missing state where nothing else protects the callback is APPC-03's: APPC-29 is blocked by it
    none = _run(_authorize(None, None, False), _authorize(None, None, False))
    with pytest.raises(NothingToCheck, match="APPC-03"):
        state_present_besides(NO_RUN, NO_STAND_IN, SPA, none)


def test_appc29_leaves_a_repeated_state_to_appc05_where_the_state_alone_protects_the_callback():
    same = _run(_authorize(RETURN_TO_STATE, None, False), _authorize(RETURN_TO_STATE, None, False))
    with pytest.raises(NothingToCheck, match="APPC-05's failure"):
        states_differ_besides(NO_RUN, NO_STAND_IN, SPA, same)
    protected = _run(_authorize(RETURN_TO_STATE), _authorize(RETURN_TO_STATE))  # PKCE and the nonce: APPC-29's own
    with pytest.raises(NonConformance, match="two sign-ins used the same state") as warned:
        states_differ_besides(NO_RUN, NO_STAND_IN, SPA, protected)
    assert not isinstance(warned.value, NothingToCheck)


def _unfinished(*requests: RecordedRequest) -> AppRun:
    """A sign-in per authorization request that never came back to redeem its code (stalled at the stand-in's
    pages, as AppAuth's under load): what protects the callback besides the state was never shown."""
    return AppRun(observed=[Observed([request]) for request in requests])


def test_appc03_to_05_could_not_be_checked_not_failed_where_no_sign_in_showed_what_protects_the_callback(monkeypatch):
    """@openid/appauth under load: each sign-in sent a new S256 challenge and a state of 10 characters, and none
    redeemed its code. APPC-04 failed it (critical): "no verifier seen" became "nothing but the state protects the
    callback". Idle, its verifier protects the callback and APPC-04 does not apply; under load the run could not
    tell, so a state that falls short could not be checked. The same for a nonce whose check APPC-21's sign-ins did
    not show either way (nonce_checked None); a state that meets the bar still passes, and evidence that nothing
    protects the callback (a guessable verifier, a nonce accepted in the wrong ID token) still fails it."""
    short = [secrets.token_urlsafe(8)[:10] for _ in range(2)]  # AppAuth's: 10 characters, 60 bits
    for run in (
        _unfinished(*(_authorize(state, "S256", False) for state in short)),
        _unfinished(*(_authorize(None, "S256", False) for _ in short)),  # no state: APPC-03
        _unfinished(*(_authorize(short[0], "S256", False) for _ in short)),  # the same state twice: APPC-05
    ):
        relies_on_state(NO_RUN, NO_STAND_IN, run)  # applies: the state is judged
        unchecked = []
        for step in (requests_sent.state_present, state_entropy, states_differ):
            try:
                step(SPA, run)  # passes, or could not be checked: never fails
            except NothingToCheck:  # APPC-04 of two equal states: blocked by APPC-05 or, as here, not checked
                pass
            except Skipped as skipped:  # or not applicable ("the application sent no state (see APPC-03)")
                if str(skipped).startswith(UNCHECKED):
                    assert "may protect the callback instead" in str(skipped), skipped
                    unchecked.append(step)
        assert unchecked, "each run's state falls short of one of APPC-03 to APPC-05"
        assert run.unshown_protection and "code_verifier the suite never saw" in run.unshown_protection
    fresh = _unfinished(*(_authorize(secrets.token_urlsafe(16), "S256", False) for _ in range(2)))
    relies_on_state(NO_RUN, NO_STAND_IN, fresh)
    state_entropy(SPA, fresh)  # a state that meets the bar passes whatever else protects the callback
    # APPC-29 warns the short state itself, not "APPC-04's failure"
    run = _unfinished(*(_authorize(state, "S256", False) for state in short))
    callback_protection_shown(NO_RUN, NO_STAND_IN, SPA, run)
    with pytest.raises(NonConformance, match="fewer than 128") as warned:
        random_state_entropy(NO_RUN, NO_STAND_IN, SPA, run)
    assert not isinstance(warned.value, NothingToCheck)
    # a nonce whose check the run could not show: the same
    monkeypatch.setattr(requests_sent, "nonce_checked", lambda config, stand_in: None)
    nonce_only = _run(*(_authorize(state, None, True) for state in short))
    relies_on_state(NO_RUN, NO_STAND_IN, nonce_only)
    with pytest.raises(Skipped, match=r"could not be checked.*OpenID Connect nonce.*gave no evidence"):
        state_entropy(SPA, nonce_only)
    # evidence that nothing else protects it: the state alone must, and falls short
    monkeypatch.setattr(requests_sent, "nonce_checked", lambda config, stand_in: False)
    for shown in (
        _run(*(_authorize(state, None, True) for state in short)),  # the nonce accepted in a wrong ID token
        _run(*(_authorize(state, "S256", False, verifier=f"v-{n:041d}") for n, state in enumerate(short))),
    ):
        relies_on_state(NO_RUN, NO_STAND_IN, shown)
        with pytest.raises(NonConformance, match="carries at most 60 bits, fewer than 64"):
            state_entropy(SPA, shown)
