"""APPC-33 judges the application as it meets an untrusted certificate in production: requests lets
REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override a Session's verify = False (psf/requests#3829), and the suite set
the first for every application it launched, so an application that validates nothing passed because of the
suite. Its use under the untrusted certificate is made in an application launched again without them, with the
stand-in's authority in its default trust store instead (certifi's bundle, for Python)."""

import json
import os
import subprocess
import sys

import pytest
from run import certify_application

from appside.launcher import VALIDATION_RESTORERS, as_in_production
from appside.stand_in import free_port

# what a Python application's requests does with a Session whose verify is False, and where its default trust is
REQUESTS_SEES = """
import json, requests
session = requests.Session()
session.verify = False
verify = session.merge_environment_settings("https://localhost/", {}, None, None, None)["verify"]
print(json.dumps({"session_verify": verify, "default": requests.utils.DEFAULT_CA_BUNDLE_PATH}))
"""


def _requests_sees(environment: dict) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", REQUESTS_SEES], env=environment, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(completed.stdout)


def test_a_sessions_verify_false_stays_off_only_without_the_variables_that_override_it(tmp_path):
    authority = tmp_path / "stand-in-ca.pem"
    authority.write_text("not read here")
    suites = {
        **os.environ,
        "VISMA_CONNECT_CA_BUNDLE": str(authority),
        "REQUESTS_CA_BUNDLE": str(authority),
        "CURL_CA_BUNDLE": str(authority),
    }
    assert _requests_sees(suites)["session_verify"] == str(authority)  # validation turned back on
    production = as_in_production(suites)
    assert not set(VALIDATION_RESTORERS) & set(production)
    seen = _requests_sees(production)
    assert seen["session_verify"] is False
    # an application that names no authority trusts the stand-in's by default, as Visma Connect's in production
    assert seen["default"] == str(authority)


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("switch", "verdict"),
    [("tls-session-unverified", "failed"), ("", "passed")],
    ids=["session-verify-false-fails", "clean-passes-with-refused-handshakes"],
)
def test_a_requests_session_with_verify_false_fails_appc33(tmp_path, switch, verdict):
    completed = certify_application(
        "examples/oauthlib_web_app/application.yaml",
        tmp_path,
        {
            "REFERENCE_APP_DEFECTS": switch,
            "OAUTHLIB_WEB_APP_CLIENT_SECRET": "Tls+Secret %41/é",
            "OAUTHLIB_WEB_APP_PORT": str(free_port()),
        },
        "--rule=APPC-33",
    )
    record = json.loads((tmp_path / "record.json").read_text())
    rule = next(rule for rule in record["rules"] if rule["rule_id"] == "APPC-33")
    terminal = completed.stdout + completed.stderr
    assert rule["status"] == verdict, terminal[-3000:]
    if verdict == "failed":
        assert "sent POST /connect/token" in rule["scenarios"][0]["reason"], rule
    else:  # passed on the evidence the rule requires: the handshake its code redemption broke off
        assert "CERTIFICATE_VERIFY_FAILED" in (tmp_path / "application.log").read_text()
