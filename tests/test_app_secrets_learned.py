"""The application side learns the stand-in's tokens as they are issued: an application that
prints its access token (or a page showing it, pictured) before any request log is attached gets
it scrubbed all the same."""

import time

import requests

from appside.application import load_application
from appside.observed import learn_secrets
from appside.stand_in import start_stand_in
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.secrets.redaction import REDACTOR, learn_plain_code_challenge


def test_a_stand_in_token_is_a_secret_from_the_moment_it_is_issued():
    application = load_application(
        "examples/service_app/application.yaml",
        {"SERVICE_APP_CLIENT_SECRET": "Svc-app-secret-4d2f9a", "ISSUER_PORT": "0"},
    )
    server, _ = start_stand_in(application)
    try:
        answer = requests.post(
            server.issuer + "/connect/token",
            data={"grant_type": "client_credentials", "scope": application.scope, "tenant_id": application.tenant_id},
            auth=(application.client_id, "Svc-app-secret-4d2f9a"),
            timeout=10,
        )
    finally:
        server.stop()
    token = answer.json()["access_token"]
    shown = f"the service's own outcome: called the API with Bearer {token}"
    assert token not in REDACTOR.scrub(shown)


def _authorization_request(*query: tuple[str, str]) -> RecordedRequest:
    return RecordedRequest(
        time.time(), "GET", PATHS["authorization_endpoint"], (("client_id", "web-app"), *query), (), {}
    )


def test_a_plain_code_challenge_is_masked_as_the_verifier_it_is_before_any_redemption_shows_it():
    """RFC 7636 section 4.2: with the plain method the challenge is the verifier; without a method plain is meant
    (section 4.3). The outsider's pkce-plain mod_auth_openidc run showed it whole in the authorization request of
    the sign-in whose code was never redeemed (APPC-33's), and the token request masked the same value."""
    plain, unnamed, s256 = "pLain-verifier-" + "a" * 40, "nO-method-verifier-" + "b" * 40, "S256-challenge-" + "c" * 28
    learn_secrets(
        [
            _authorization_request(("code_challenge", plain), ("code_challenge_method", "plain")),
            _authorization_request(("code_challenge", unnamed)),
            _authorization_request(("code_challenge", s256), ("code_challenge_method", "S256")),
        ]
    )
    shown = REDACTOR.scrub(f"/connect/authorize?code_challenge={plain}\n{unnamed}\n{s256}")
    assert plain not in shown and unnamed not in shown and "[code_verifier" in shown
    assert s256 in shown  # an S256 challenge is a hash anyone may see


def test_the_suites_own_plain_challenge_given_as_an_override_is_masked_too():
    learn_plain_code_challenge("oVerride-verifier-" + "d" * 40, None)
    assert "oVerride-verifier-" not in REDACTOR.scrub("code_challenge=oVerride-verifier-" + "d" * 40)


def test_a_code_verifier_the_application_logs_is_masked_also_where_its_code_was_never_redeemed(tmp_path):
    """@openid/appauth logs each AuthorizationRequest with its code_verifier. application.log masked the verifiers
    of redeemed codes (the token request showed them) and left those of sign-ins that never finished in clear. A
    string of the application's output whose S256 is a code_challenge the stand-in received is that verifier."""
    import base64
    import hashlib
    import secrets

    from appside.output_file import read_from

    unredeemed, unrelated = secrets.token_urlsafe(96), secrets.token_urlsafe(96)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(unredeemed.encode()).digest()).rstrip(b"=").decode()
    learn_secrets([_authorization_request(("code_challenge", challenge), ("code_challenge_method", "S256"))])
    log = tmp_path / "appauth.log"
    log.write_text(f"  internal: {{\n    code_verifier: '{unredeemed}'\n  }}\nnonce: '{unrelated}'\n")
    output, _ = read_from(log)
    assert unredeemed not in REDACTOR.scrub(output) and "[code_verifier" in REDACTOR.scrub(output)
    assert unrelated in REDACTOR.scrub(output)  # no challenge hides it: not a verifier the suite knows of


def test_a_code_verifier_the_application_prints_cut_short_is_masked_where_the_suite_knows_it():
    """An application that prints the head of its verifier (20 characters or more, no ellipsis after) shows part of
    its secret: masked wherever the suite knows the verifier (its token request sent it, or the application printed
    it whole), also where other characters of its alphabet follow the head (the longest prefix it shares with the
    verifier is masked). A head shorter than VERIFIER_HEAD is no cut verifier."""
    import secrets

    from suite.secrets.redaction import VERIFIER_HEAD

    verifier = secrets.token_urlsafe(48)
    redemption = (("grant_type", "authorization_code"), ("code", "c-" + "e" * 30), ("code_verifier", verifier))
    learn_secrets([RecordedRequest(time.time(), "POST", PATHS["token_endpoint"], (), redemption, {})])
    for head in (verifier[:VERIFIER_HEAD], verifier[:40]):
        shown = REDACTOR.scrub(f"PKCE verifier (head): {head}\nverifier={head}&state=x")
        assert head not in shown and shown.count("[code_verifier]") == 2, shown
    short, other = verifier[: VERIFIER_HEAD - 1], verifier[:30] + "!"
    assert short in REDACTOR.scrub(f"head: {short} ")
    assert "[code_verifier]!" in REDACTOR.scrub(other)  # a head that ends where its alphabet ends is cut there
