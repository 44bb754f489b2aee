"""A token request that authenticates with a client_assertion (RFC 7523) carries no client secret: client_secret_jwt,
as omniauth-openid-connect's `client_auth_method: :jwt_bearer` and requests-oauth2client's ClientSecretJwt send it,
or private_key_jwt. Visma Connect's registration takes the secret in HTTP Basic or the form body: the failure names
what was sent and what is accepted. Where it broke every sign-in, the run's note names that failure, not
drive.signed_in, or the failure that blocked the rule that broke them."""

import base64
import json
from types import SimpleNamespace

from appside.observed import client_authentication
from appside.record import ApplicationRecorder
from sandbox.recording import RecordedRequest

CLIENT_ID = "acme-web"
SECRET = "Abc+def 123"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _jwt(alg: str) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': alg, 'typ': 'JWT'})}.{part({'iss': CLIENT_ID, 'sub': CLIENT_ID})}.c2lnbmF0dXJl"


def _with_assertion(alg: str) -> RecordedRequest:
    form = (
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", _jwt(alg)),
    )
    return RecordedRequest(0.0, "POST", "/connect/token", (), form, {"Content-Type": "x"})


def test_a_client_assertion_is_named_with_what_visma_connect_accepts_instead():
    secret_jwt = client_authentication(_with_assertion("HS256"), CLIENT_ID, SECRET)
    assert secret_jwt.method == "a client_assertion (a JWT signed with HS256 from the secret: client_secret_jwt)"
    for said in (
        "sends a client_assertion of type jwt-bearer",
        "client_secret_jwt",
        "in an HTTP Basic header or as client_secret in the form body (RFC 6749 section 2.3.1)",
        "client_secret_basic, client_secret_post",
    ):
        assert said in secret_jwt.problem, secret_jwt.problem
    assert "carries no client secret" not in secret_jwt.problem
    private_key_jwt = client_authentication(_with_assertion("RS256"), CLIENT_ID, SECRET)
    assert "a JWT signed with RS256: private_key_jwt" in private_key_jwt.problem


def _recorder(notice_cause: str, failed: dict, blocked: dict | None = None) -> SimpleNamespace:
    """`blocked`: rule id -> the failed rule it is blocked by."""
    said = "no normal sign-in finished: the application never showed an element '#user' (see the report; "
    recorder = SimpleNamespace(notices=[f"{said}{notice_cause})"], unfinished_sign_ins=(0, said))
    record = {
        "rules": [
            {"rule_id": rule_id, "status": "failed", "scenarios": [{"status": "failed", "reason": reason}]}
            for rule_id, reason in failed.items()
        ]
        + [
            {"rule_id": rule_id, "status": "blocked", "blocked_by": cause, "scenarios": [{"status": "blocked"}]}
            for rule_id, cause in (blocked or {}).items()
        ]
    }
    ApplicationRecorder._name_what_broke_the_sign_ins(recorder, record)  # type: ignore[arg-type]
    return recorder


def test_the_note_that_no_sign_in_finished_names_the_failed_rule_that_broke_them_not_drive_signed_in():
    hint = "check drive.signed_in and where the sign-in ended"
    reason = "a token request (authorization_code) does not authenticate the application with its secret: it sends"
    broken = _recorder(hint, {"APPC-29": "a weak state", "APPC-10": f"{reason} (the sentences APPC-10 enforces, ...)"})
    assert "drive.signed_in)" in broken.notices[0] and hint not in broken.notices[0], broken.notices
    assert f"APPC-10 failed, which explains it: {reason};" in broken.notices[0], broken.notices
    # nothing that breaks a sign-in failed: the marker is still the thing to check
    assert _recorder(hint, {"APPC-29": "a weak state"}).notices[0].endswith(f"{hint})")


def test_the_note_names_the_failure_that_blocked_the_rule_that_broke_the_sign_ins():
    """aiohttp-oauthlib's force_querystring=True: every code redemption carried its secret only in its URL and was
    refused; APPC-10 is blocked by APPC-11, and the note names APPC-11, not drive.signed_in."""
    hint = "check drive.signed_in and where the sign-in ended"
    reason = "the client secret was sent in the URL of POST /connect/token (a authorization_code request)"
    broken = _recorder(hint, {"APPC-29": "a weak state", "APPC-11": reason}, {"APPC-10": "APPC-11"})
    assert f"APPC-11 failed, which explains it: {reason};" in broken.notices[0], broken.notices
    # APPC-11 failed beside sign-ins it did not break (its secret in the URL and in the body): the marker it is
    assert _recorder(hint, {"APPC-11": reason}).notices[0].endswith(f"{hint})")
