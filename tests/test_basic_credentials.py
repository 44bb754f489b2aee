"""HTTP Basic client authentication as RFC 6749 section 2.3.1 has it: the client id and secret are
form-urlencoded first, then Basic-encoded, and the server decodes them the same way; secrets of
every character class a partner may have (a space, `+`, `/`, `=`, `%`, `:`, `&`, `~`, non-ASCII, and
`%41`, which a server that decodes twice or not at all reads as another secret)."""

import base64
import json
from urllib.parse import unquote_plus

import requests
from run import SANDBOX_YAML, run_suite, write_environment

from suite.wire.token_requests import basic_credentials

SECRETS = ("a b", "a+b", "a/b=", "100%41", "id:secret", "x&y=z", "tilde~", "grønn-secret", "%2B%20+")


def _decoded_as_rfc_6749_says(header: str) -> tuple[str, str]:
    user_id, _, password = base64.b64decode(header.removeprefix("Basic ")).decode("ascii").partition(":")
    return unquote_plus(user_id), unquote_plus(password)


def test_basic_credentials_are_form_urlencoded_before_basic_encoding():
    """The header a server reads back, decoding as the RFC says, names the very client and secret;
    a colon in the client id can no longer be read as the separator."""
    for secret in SECRETS:
        for client_id in ("plain-client", "client:with colon+plus"):
            prepared = requests.Request(
                "POST", "https://issuer.example/token", auth=basic_credentials(client_id, secret)
            ).prepare()
            assert _decoded_as_rfc_6749_says(prepared.headers["Authorization"]) == (client_id, secret)


def _environment_with_secrets(tmp_path, service_secret: str, web_secret: str):
    text = SANDBOX_YAML.replace(
        'client_secret: "sandbox-service-secret +/=%41:&~ø"', f"client_secret: {json.dumps(service_secret)}"
    ).replace(
        "client_secret: sandbox-web-secret\n",
        f"client_secret: {json.dumps(web_secret)}\n    token_endpoint_auth_method: client_secret_basic\n",
    )  # the web app redeems its codes and refresh tokens with HTTP Basic
    assert json.dumps(service_secret) in text and json.dumps(web_secret) in text
    return write_environment(tmp_path, text)


def test_secrets_of_every_character_class_authenticate_with_http_basic_at_the_sandbox(tmp_path):
    """The service client's Basic token request (SVC-02), the web app's code and refresh token redeemed
    with Basic (RT-01) and the revocation request (REV-01, REV-02) all authenticate, with secrets that
    form-urlencoding changes; the sandbox decodes them as RFC 6749 section 2.3.1 says."""
    path = _environment_with_secrets(tmp_path, "svc " + "".join(SECRETS), "web+%41 :&=~é/")
    record = tmp_path / "compliance.json"
    rules = ("SVC-02", "RT-01", "REV-01", "REV-02", "UINFO-03")
    result = run_suite(f"--env={path}", f"--compliance={record}", "-p", "no:xdist", *(f"--rule={r}" for r in rules))
    statuses = {rule["rule_id"]: rule["status"] for rule in json.loads(record.read_text())["rules"]}
    assert statuses == dict.fromkeys(rules, "passed"), result.stdout[-3000:]
    assert "svc a b" not in result.stdout + record.read_text()  # still a secret, however it was encoded


def test_a_server_that_does_not_decode_basic_credentials_fails_svc02(tmp_path):
    """The defect switch that compares the Basic password as sent (no form-urlencoded decoding) fails
    SVC-02 with the shipped sandbox file, whose service secret has characters the encoding changes."""
    record = tmp_path / "compliance.json"
    run_suite(
        "--env=sandbox",
        "--defect=basic-credentials-not-form-decoded",
        "--rule=SVC-02",
        f"--compliance={record}",
        "-p",
        "no:xdist",
    )
    (rule,) = json.loads(record.read_text())["rules"]
    reason = rule["scenarios"][0]["reason"]
    assert rule["status"] == "failed" and "401" in reason
    # the cause, as @node-oauth/oauth2-server's refusal of such a secret needed it said
    assert "the server refused the form-urlencoded Basic credentials (RFC 6749 section 2.3.1)" in reason, reason
    assert "service client's secret has characters form-urlencoding changes" in reason
    assert "(client_secret_post) was accepted" in reason and "+/=%41" not in reason


def test_another_client_whose_basic_credentials_are_not_decoded_blocks_the_binding_rules(tmp_path):
    """CODE-03 and RT-06 send the other client's request: where the server cannot authenticate that client
    by HTTP Basic (its secret has characters form-urlencoding changes, and the server compares it as
    sent), invalid_client says nothing of whose code or refresh token it was. The control (the same
    client's Basic for a code nobody issued) is refused too, so both are blocked by SVC-02, saying so."""
    written = _other_client_with_basic_not_decoded(tmp_path, SANDBOX_YAML)
    assert written["SVC-02"]["status"] == "failed", written["SVC-02"]
    for rule in ("CODE-03", "RT-06"):
        reason = written[rule]["scenarios"][0]["reason"]
        assert (written[rule]["status"], written[rule].get("blocked_by")) == ("blocked", "SVC-02"), reason
        assert reason.startswith("blocked by SVC-02: the other_web client's authentication by HTTP Basic was refused")
        assert "expected invalid_grant" not in reason and "other+%41" not in reason


def _other_client_with_basic_not_decoded(tmp_path, text: str) -> dict:
    """SVC-02, CODE-03 and RT-06 (rule id -> its record entry) against a sandbox that compares the Basic password
    as sent, the other client's secret one that form-urlencoding changes, sent by HTTP Basic."""
    text = text.replace(
        "client_secret: sandbox-web-other-secret\n",
        f"client_secret: {json.dumps('other+%41 :secret')}\n    token_endpoint_auth_method: client_secret_basic\n",
    )
    assert "other+%41" in text
    record = tmp_path / "compliance.json"
    run_suite(
        f"--env={write_environment(tmp_path, text)}",
        "--defect=basic-credentials-not-form-decoded",
        f"--compliance={record}",
        "-p",
        "no:xdist",
        *(f"--rule={r}" for r in ("SVC-02", "CODE-03", "RT-06")),
    )
    return {rule["rule_id"]: rule for rule in json.loads(record.read_text())["rules"]}


def test_another_client_whose_basic_alone_is_refused_leaves_the_binding_rules_unchecked(tmp_path):
    """As above, but the service client's secret is plain, so SVC-02 passes: no rule of the run shows the server
    refusing a Basic authentication, and only the other client's is refused (its control, a code nobody issued,
    too; its secret in the form body is accepted). CODE-03 and RT-06 never reached whose grant it was: they could
    not be checked, an environment problem naming the other client's credentials, not failed for invalid_grant."""
    plain = SANDBOX_YAML.replace('client_secret: "sandbox-service-secret +/=%41:&~ø"', "client_secret: plain-secret")
    assert "plain-secret" in plain
    written = _other_client_with_basic_not_decoded(tmp_path, plain)
    assert written["SVC-02"]["status"] == "passed", written["SVC-02"]
    for rule in ("CODE-03", "RT-06"):
        reason = written[rule]["scenarios"][0]["reason"]
        assert written[rule]["status"] == "error", (written[rule]["status"], reason)
        assert reason.startswith(
            "environment problem: could not be checked: the other_web client's authentication by HTTP Basic was refused"
        ), reason
        assert "clients.other_web.token_endpoint_auth_method" in reason and "clients.other_web.client_secret" in reason
        assert "expected invalid_grant" not in reason and "other+%41" not in reason
