"""APPC-23 (RFC 6749 section 4.1.2: "The client MUST NOT use the authorization code more than once"): the suite
loads one normal sign-in's callback URL again once it finished, as a user pressing reload on it does. An
application that redeems the code again then fails, its message naming the reload; whatever else it answers (an
error page, a redirect home) passes. Before, the suite never loaded a callback twice, and such an application
(one that keeps its sign-in's state after the callback) was certified."""

import json
import re

import pytest
from run import certify_application

from appside.stand_in import free_port


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
