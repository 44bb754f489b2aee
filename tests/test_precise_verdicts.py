"""Every behaviour the cited sentence allows passes: a state of VSCHAR only (RFC 6749 Appendix A.5), a
token response without scope when it is the one requested (section 5.1), expires_in counted down by
a few seconds, a 401 with several challenges (RFC 9110 section 11.6.1), an error page served with
200 (RFC 6749 section 4.1.2.1 says nothing of its status); and a value of the wrong type is a
non-conformance with its sentence, never a Python error."""

import json
from types import SimpleNamespace

import pytest
from faulty_servers import FaultyProxy
from run import run_suite, write_environment

from sandbox import SandboxServer, default_registry
from steps.token_endpoint import expires_in_as_expected, scope_as_requested, scope_well_formed
from suite.configuration.environment import Expectations
from suite.verdict.checks import NonConformance
from suite.wire.authorization import STATES
from suite.wire.challenges import Challenge, challenge_for, parse_challenges


def test_every_state_the_suite_sends_is_vschar_and_the_encoding_one_needs_encoding():
    for kind, make in STATES.items():
        value = make()
        assert value and all(" " <= c <= "~" for c in value), (kind, value)  # RFC 6749 Appendix A.5
    needing = STATES["URL-encoding-needing"]()
    assert all(c in needing for c in " &=/?#+%:;@,")


def _state(tokens: dict, scope="visma_api:read", requested=None):
    authorization = SimpleNamespace(params={"scope": requested or scope})
    return SimpleNamespace(tokens=tokens, client=SimpleNamespace(scope=scope), authorization=authorization)


def test_a_token_response_without_scope_grants_the_scope_requested():
    scope_as_requested(_state({"access_token": "x"}))  # RFC 6749 section 5.1: OPTIONAL if identical
    scope_as_requested(_state({"scope": "visma_api:read"}))
    with pytest.raises(NonConformance, match="visma_api:write"):
        scope_as_requested(_state({"scope": "visma_api:write"}))


def test_a_token_response_may_grant_other_than_asked_if_it_names_it():
    """CODE-06, RT-07: RFC 6749 section 3.3 lets the server ignore the requested scope, naming what it grants."""
    scope_well_formed(_state({"scope": "openid profile email visma_api:write"}, scope="openid"))
    scope_well_formed(_state({}, scope="openid"))


@pytest.mark.parametrize("check_scope", [scope_as_requested, scope_well_formed])
@pytest.mark.parametrize("wrong", [["visma_api:read"], {"visma_api:read": True}, 1])
def test_a_scope_of_the_wrong_type_is_a_non_conformance_citing_section_3_3(check_scope, wrong):
    with pytest.raises(NonConformance, match=r"not a string \(RFC 6749 section 3.3"):
        check_scope(_state({"scope": wrong}))


@pytest.mark.parametrize(
    "given, conformant",
    [(3600, True), (3599, True), (3540, True), (3539.0, False), (3601, False), (None, False), ("3600", False)],
)
def test_expires_in_within_the_declared_tolerance(given, conformant):
    environment = SimpleNamespace(expectations=Expectations())
    assert environment.expectations.access_token_lifetime_tolerance == 60
    state = _state({} if given is None else {"expires_in": given})
    if conformant:
        expires_in_as_expected(state, environment)
    else:
        with pytest.raises(NonConformance, match="expires_in"):
            expires_in_as_expected(state, environment)


def test_the_tolerance_is_declared_per_environment():
    strict = SimpleNamespace(expectations=Expectations(access_token_lifetime_tolerance=0))
    with pytest.raises(NonConformance, match="expires_in is 3599"):
        expires_in_as_expected(_state({"expires_in": 3599}), strict)


def test_challenges_are_parsed_as_rfc_9110_section_11_6_1_has_them():
    header = 'Basic realm="a, b", Bearer error="invalid_token", error_description="the \\"x\\", expired"'
    assert parse_challenges(header) == [
        Challenge("basic", {"realm": "a, b"}),
        Challenge("bearer", {"error": "invalid_token", "error_description": 'the "x", expired'}),
    ]
    assert parse_challenges("Negotiate abc123==, bearer realm=api") == [
        Challenge("negotiate", token68="abc123=="),
        Challenge("bearer", {"realm": "api"}),
    ]
    assert challenge_for("DPoP algs=ES256, Bearer", "Bearer") == Challenge("bearer")
    assert challenge_for('Basic realm="Bearer"', "Bearer") is None  # a quoted word is no scheme
    assert challenge_for("", "Bearer") is None


WEB_AND_SPA = """name: proxied
issuer: {issuer}
clients:
  web:
    client_id: sandbox-web
    client_secret: ${{T_WEB_SECRET}}
    redirect_uri: https://web.app.local/callback
    scope: openid profile email
  spa:
    client_id: sandbox-spa
    redirect_uri: https://spa.app.local/callback
    scope: openid profile email
login:
  method: form
  username: test.user
  password: ${{T_PASSWORD}}
"""


def _run_through(tmp_path, rewrite, *rules) -> dict:
    """The rules against the standalone sandbox behind a proxy that rewrites its answers: rule -> status."""
    proxy = FaultyProxy(rewrite=rewrite)
    sandbox = SandboxServer(default_registry(), issuer=proxy.url).start()
    proxy.target = sandbox.url
    record = tmp_path / "compliance.json"
    try:
        environment = write_environment(tmp_path, WEB_AND_SPA.format(issuer=proxy.url))
        result = run_suite(
            f"--env={environment}",
            f"--compliance={record}",
            "-p",
            "no:xdist",
            *map("--rule={}".format, rules),
            environ={"T_WEB_SECRET": "sandbox-web-secret", "T_PASSWORD": "sandbox-password"},
        )
    finally:
        proxy.close()
        sandbox.stop()
    rules_run = json.loads(record.read_text()).get("rules", [])
    return {r["rule_id"]: r["status"] for r in rules_run} | {"output": result.stdout[-3000:] + result.stderr[-2000:]}


def test_error_pages_served_with_200_pass_auth05_and_auth07(tmp_path):
    """RFC 6749 section 4.1.2.1: MUST NOT redirect; nothing about the error page's status."""

    def with_200(method, path, status, headers, body):
        return (200 if path.startswith("/connect/authorize") and status == 400 else status), headers, body

    statuses = _run_through(tmp_path, with_200, "AUTH-05", "AUTH-07")
    assert statuses.get("AUTH-05") == statuses.get("AUTH-07") == "passed", statuses["output"]


@pytest.mark.parametrize(
    "challenges, expected",
    [('Basic realm="userinfo", Bearer error="invalid_token"', "passed"), ('Basic realm="userinfo"', "failed")],
)
def test_a_bearer_challenge_among_several_passes_uinfo02(tmp_path, challenges, expected):
    def several(method, path, status, headers, body):
        if path.startswith("/connect/userinfo") and status == 401:
            headers = {**{k: v for k, v in headers.items() if k.lower() != "www-authenticate"}}
            headers["WWW-Authenticate"] = challenges
        return status, headers, body

    statuses = _run_through(tmp_path, several, "UINFO-02")
    assert statuses.get("UINFO-02") == expected, statuses["output"]
