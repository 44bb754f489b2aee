"""APPC-23 (RFC 6749 section 4.1.2: "The client MUST NOT use the authorization code more than once"): the suite
loads one normal sign-in's callback URL again once it finished, as a user pressing reload on it does. An
application that redeems the code again then fails, its message naming the reload; whatever else it answers (an
error page, a redirect home) passes. Before, the suite never loaded a callback twice, and such an application
(one that keeps its sign-in's state after the callback) was certified."""

import json
import re
from types import SimpleNamespace

import pytest
from run import certify_application

from appside.observed import Observed, s256
from appside.stand_in import free_port
from appside.steps.requests_sent import verifier_matches
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NonConformance


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("switch", "verdict"), [("callback-replayable", "failed"), ("", "passed")])
def test_a_callback_loaded_again_that_redeems_its_code_again_fails_appc23(tmp_path, switch, verdict):
    completed = certify_application(
        "examples/oauthlib_web_app/application.yaml",
        tmp_path,
        {
            "REFERENCE_APP_DEFECTS": switch,
            "OAUTHLIB_WEB_APP_CLIENT_SECRET": "Reload+Secret %41/é",
            "OAUTHLIB_WEB_APP_PORT": str(free_port()),
        },
        "--rule=APPC-23",
    )
    record = json.loads((tmp_path / "record.json").read_text())
    rule = next(rule for rule in record["rules"] if rule["rule_id"] == "APPC-23")
    assert rule["status"] == verdict, (completed.stdout + completed.stderr)[-3000:]
    if verdict == "failed":
        reason = rule["scenarios"][0]["reason"]
        assert "redeemed one authorization code 2 times" in reason, reason
        assert "loaded the sign-in's callback URL once more, as a user pressing reload on it does" in reason, reason
    else:  # the reload reached the application: it refused it (no sign-in pending), and redeemed nothing
        log = (tmp_path / "application.log").read_text()
        assert re.search(r'GET /callback\?[^"]*" 400 ', log), log[-2000:]


def _sign_in(*verifiers: str | None) -> Observed:
    """A sign-in whose code the application redeemed once per verifier (None: without one), the first answered 200
    and the others 400 (invalid_grant: the code was used)."""
    verifier = "v" * 43
    authorize = RecordedRequest(
        0.0,
        "GET",
        PATHS["authorization_endpoint"],
        (("code_challenge", s256(verifier)), ("code_challenge_method", "S256"), ("state", "s")),
        (),
        {},
        "",
        302,
        "http://127.0.0.1:1/callback?code=c1&state=s",
    )
    redemptions = [
        RecordedRequest(
            1.0 + n,
            "POST",
            PATHS["token_endpoint"],
            (),
            (("grant_type", "authorization_code"), ("code", "c1"), *((("code_verifier", v),) if v else ())),
            {},
            "",
            200 if n == 0 else 400,
        )
        for n, v in enumerate(verifiers)
    ]
    return Observed([authorize, *redemptions])


def test_a_reload_that_redeems_the_code_again_without_its_verifier_is_appc23s_failure_not_appc08s():
    """A Rust oauth2 web application redeemed its code, then, its callback reloaded, redeemed it again without a
    verifier: that one request failed APPC-23 and APPC-08 ("a code redemption carries no code_verifier"). APPC-08
    judges a code's redemptions until the stand-in redeemed it; one whose first redemption lacks the verifier still
    fails it."""
    spa = SimpleNamespace(client_id="spa", app_type="spa", is_interactive=True, uses_pkce=True)
    verifier = "v" * 43
    verifier_matches(spa, AppRun(observed=[_sign_in(verifier, None), _sign_in(verifier)]))
    with pytest.raises(NonConformance, match="a code redemption carries no code_verifier"):
        verifier_matches(spa, AppRun(observed=[_sign_in(None), _sign_in(verifier)]))
