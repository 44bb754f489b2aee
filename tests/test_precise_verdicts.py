"""Every behaviour the cited sentence allows passes: a state of VSCHAR only (RFC 6749 Appendix A.5), a
token response without scope when it is the one requested (section 5.1), expires_in counted down by
a few seconds, a 401 with several challenges (RFC 9110 section 11.6.1), an error page served with
200 (RFC 6749 section 4.1.2.1 says nothing of its status); and a value of the wrong type is a
non-conformance with its sentence, never a Python error."""

import json
from types import SimpleNamespace

import pytest
from faulty_servers import Fault, FaultyProxy, Relay
from run import run_suite, write_environment

from sandbox import SandboxServer, default_registry
from sandbox.registry import INTERACTIVE_SCOPES, Application, Registry, User
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
  service:
    client_id: sandbox-service
    client_secret: ${{T_SERVICE_SECRET}}
    scope: visma_api:read
    tenant_id: af1140c1-52e0-46c7-b684-df894d4b8a5a
    ungranted_scope: visma_api:write
  web:
    client_id: sandbox-web
    client_secret: ${{T_WEB_SECRET}}
    redirect_uri: https://web.app.local/callback
    scope: openid profile email
  other_web:
    client_id: sandbox-web-other
    client_secret: ${{T_OTHER_SECRET}}
    redirect_uri: https://web-other.app.local/callback
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


def _run_through(
    tmp_path, rewrite, *rules, faults=(), defects=(), environ=None, proxy=None, environment=WEB_AND_SPA, registry=None
) -> dict:
    """The rules against the standalone sandbox behind a proxy that rewrites its answers (or answers
    `faults` in its place; or `proxy`, made by the test): rule -> status, and "output", and "record"."""
    proxy = proxy or FaultyProxy(faults, rewrite=rewrite)
    sandbox = SandboxServer(registry or default_registry(), defects=defects, issuer=proxy.url).start()
    proxy.target = sandbox.url
    record = tmp_path / "compliance.json"
    try:
        environment_file = write_environment(tmp_path, environment.format(issuer=proxy.url))
        result = run_suite(
            f"--env={environment_file}",
            f"--compliance={record}",
            "-p",
            "no:xdist",
            *map("--rule={}".format, rules),
            environ={
                "T_SERVICE_SECRET": "sandbox-service-secret",
                "T_WEB_SECRET": "sandbox-web-secret",
                "T_OTHER_SECRET": "sandbox-web-other-secret",
                "T_PASSWORD": "sandbox-password",
                **(environ or {}),
            },
        )
    finally:
        proxy.close()
        sandbox.stop()
    written = json.loads(record.read_text())
    statuses = {r["rule_id"]: r["status"] for r in written.get("rules", [])}
    output = result.stdout[-3000:] + result.stderr[-2000:]
    return statuses | {"output": output, "record": written, "returncode": result.returncode, "proxy": proxy}


def test_token_errors_sent_with_200_are_said_as_errors_not_grants(tmp_path):
    """A server that answers its token endpoint's refusals with HTTP 200 and {"error": ...} granted
    nothing: SVC-12 and SVC-13 say what it answered (RFC 6749 section 5.2 wants 400), as the other
    refusal rules do, and no message joins its clauses with a double comma."""

    def errors_with_200(method, path, status, headers, body):
        return (200 if path.startswith("/connect/token") and status >= 400 else status), headers, body

    statuses = _run_through(tmp_path, errors_with_200, "SVC-12", "SVC-13", "APP-02")
    reasons = {r["rule_id"]: r["scenarios"][0]["reason"] for r in statuses["record"]["rules"]}
    assert statuses["SVC-12"] == statuses["SVC-13"] == statuses["APP-02"] == "failed", statuses["output"]
    for rule, error in (("SVC-12", "invalid_scope"), ("SVC-13", "unauthorized_client"), ("APP-02", "invalid_client")):
        assert f"answered with an error, error='{error}', sent with HTTP 200" in reasons[rule], reasons[rule]
        assert "a token was granted" not in reasons[rule] and "granted a token" not in reasons[rule], reasons[rule]
        assert ",," not in reasons[rule], reasons[rule]


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


INVALID_GRANT = b'{"error": "invalid_grant", "error_description": "refused, whatever it is"}'


def test_refusals_of_a_server_that_refuses_every_spa_redemption_are_blocked_by_pkce01(tmp_path):
    """With every SPA token request answered invalid_grant, the wrong verifier's, the missing verifier's
    and the wrong redirect_uri's refusals show nothing: blocked by PKCE-01, whose SPA redemption was
    refused too; the web app's rows, whose control worked, still pass."""
    refuse_spa = Fault(
        "POST", r"/connect/token$", 400, times=99, body_contains="client_id=sandbox-spa", answer=INVALID_GRANT
    )
    rules = ("PKCE-01", "PKCE-02", "PKCE-03", "CODE-02", "CODE-05")
    statuses = _run_through(tmp_path, None, *rules, faults=[refuse_spa])
    assert statuses["PKCE-01"] == "failed", statuses["output"]
    assert {rule: statuses[rule] for rule in rules[1:]} == dict.fromkeys(rules[1:], "blocked"), statuses["output"][
        "output"
    ]
    pkce03 = next(r for r in statuses["record"]["rules"] if r["rule_id"] == "PKCE-03")
    by_role = {s["client_role"]: (s["status"], s.get("blocked_by")) for s in pkce03["scenarios"]}
    assert by_role == {"spa": ("blocked", "PKCE-01"), "web": ("passed", None)}, by_role


def test_refusals_of_a_server_that_refuses_every_refresh_are_blocked_by_rt01(tmp_path):
    refuse_refresh = Fault(
        "POST", r"/connect/token$", 400, times=99, body_contains="grant_type=refresh_token", answer=INVALID_GRANT
    )
    statuses = _run_through(tmp_path, None, "RT-01", "RT-06", "REV-02", faults=[refuse_refresh])
    assert statuses["RT-01"] == "failed", statuses["output"]
    assert statuses["RT-06"] == statuses["REV-02"] == "blocked", statuses["output"]
    assert {r["rule_id"]: r.get("blocked_by") for r in statuses["record"]["rules"]}["REV-02"] == "RT-01"


def test_a_revocation_endpoint_missing_from_discovery_blocks_the_revocation_rules_by_disc02(tmp_path):
    def without_revocation(method, path, status, headers, body):
        if path.startswith("/.well-known/o") and status == 200 and body.startswith(b"{"):  # both metadata documents
            metadata = json.loads(body)
            metadata.pop("revocation_endpoint", None)
            body = json.dumps(metadata).encode()
        return status, headers, body

    statuses = _run_through(tmp_path, without_revocation, "DISC-02", "REV-01", "REV-02", "UINFO-03")
    assert statuses["DISC-02"] == "failed", statuses["output"]
    assert statuses["REV-01"] == statuses["REV-02"] == statuses["UINFO-03"] == "blocked", statuses["output"]


def _rule(status, *scenarios):
    return {"status": status, "scenarios": [{"reason": "", **s} for s in scenarios]}


def test_rt01_is_blocked_by_at01_when_the_refreshed_token_breaks_at01s_claims():
    """The refreshed JWT's client_id and exp are AT-01's rule: RT-01 fails on its own only when AT-01 passed."""
    from suite.verdict.blocking import resolve_blocked

    not_its_own = {
        "status": "failed",
        "failed_step": {"step": "Then the refresh returns a usable access token", "own_check": False},
    }
    rules = {"AT-01": _rule("failed", {"status": "failed"}), "RT-01": _rule("failed", dict(not_its_own))}
    resolve_blocked(rules)
    assert (rules["RT-01"]["status"], rules["RT-01"].get("blocked_by")) == ("blocked", "AT-01")
    rules = {"AT-01": _rule("passed", {"status": "passed"}), "RT-01": _rule("failed", dict(not_its_own))}
    resolve_blocked(rules)
    assert rules["RT-01"]["status"] == "failed"


def test_blocking_follows_the_client_role_of_the_evidence():
    """PKCE-01 failed for the SPA alone (a 500 to its redemption, LemonLDAP::NG with HS256 ID tokens): the
    web app's RT-01, kept from its own check by the web app's missing refresh token, is its own failure,
    not blocked by the SPA's; the SPA's ID-01 is blocked by it. A needed rule without scenarios of the
    role (DISC-01's one) counts whole."""
    from suite.verdict.blocking import resolve_blocked

    def kept(role):
        return {"status": "failed", "client_role": role, "failed_step": {"step": "When", "own_check": False}}

    needs = {"RT-01": ("PKCE-01",), "ID-01": ("PKCE-01",), "KEY-02": ("DISC-01",)}
    rules = {
        "DISC-01": _rule("failed", {"status": "failed", "client_role": None}),
        "PKCE-01": _rule(
            "failed", {"status": "passed", "client_role": "web"}, {"status": "failed", "client_role": "spa"}
        ),
        "RT-01": _rule("failed", kept("web")),
        "ID-01": _rule("failed", {"status": "passed", "client_role": "web"}, kept("spa")),
        "KEY-02": _rule("failed", kept("web")),
    }
    resolve_blocked(rules, needs=lambda rule: needs.get(rule, ()), controls=lambda rule: ())
    assert (rules["RT-01"]["status"], rules["RT-01"].get("blocked_by")) == ("failed", None)
    assert [s["status"] for s in rules["ID-01"]["scenarios"]] == ["passed", "blocked"]
    assert rules["ID-01"]["scenarios"][1]["blocked_by"] == "PKCE-01"
    assert (rules["KEY-02"]["status"], rules["KEY-02"]["blocked_by"]) == ("blocked", "DISC-01")


def test_a_refusal_counts_where_its_control_failed_for_the_form_of_a_granted_answer():
    """PKCE-01 failed on token_type (the redemption was granted): PKCE-02's refusal is evidence."""
    from suite.verdict.blocking import resolve_blocked

    control = {
        "status": "failed",
        "client_role": "spa",
        "failed_step": {"step": "And the token type is", "own_check": True},
    }
    rules = {
        "PKCE-01": _rule("failed", control),
        "PKCE-02": _rule("passed", {"status": "passed", "client_role": "spa"}),
    }
    resolve_blocked(rules)
    assert rules["PKCE-02"]["status"] == "passed"
    control["failed_step"]["refused"] = True
    resolve_blocked(rules)
    assert (rules["PKCE-02"]["status"], rules["PKCE-02"]["blocked_by"]) == ("blocked", "PKCE-01")


def test_a_repeated_500_to_one_kind_of_request_fails_its_rule_where_the_server_answers_others(tmp_path):
    """Userinfo answers 500 to every attempt while the token endpoint works: UINFO-02 failed, citing its
    sentence; the run is not conformant (exit 1), not "run again later"."""
    userinfo_500 = Fault("GET", r"/connect/userinfo", 500, times=99)
    statuses = _run_through(tmp_path, None, "UINFO-02", "SVC-01", faults=[userinfo_500])
    assert (statuses["UINFO-02"], statuses["SVC-01"]) == ("failed", "passed"), statuses["output"]
    assert statuses["record"]["verdict"] == "not conformant" and statuses["returncode"] == 1
    (uinfo,) = [r for r in statuses["record"]["rules"] if r["rule_id"] == "UINFO-02"]
    assert "HTTP 500" in uinfo["scenarios"][0]["reason"] and "RFC 6750 section 3" in uinfo["scenarios"][0]["reason"]


def test_one_500_to_a_single_use_request_fails_its_rule_citing_that_the_request_is_served(tmp_path):
    """Every refresh grant answered 500 (a rotating refresh token is single use: never repeated) while
    the rest of the run is answered: RT-01 failed citing RFC 6749 section 5.1, not "run again later"."""
    refresh_500 = Fault("POST", r"/connect/token$", 500, times=99, body_contains="grant_type=refresh_token")
    statuses = _run_through(tmp_path, None, "RT-01", "SVC-01", faults=[refresh_500])
    assert (statuses["RT-01"], statuses["SVC-01"]) == ("failed", "passed"), statuses["output"]
    assert statuses["record"]["verdict"] == "not conformant" and statuses["returncode"] == 1
    assert statuses["proxy"].count("POST", "/connect/token", "grant_type=refresh_token") == 1
    (refresh,) = [r for r in statuses["record"]["rules"] if r["rule_id"] == "RT-01"]
    reason = refresh["scenarios"][0]["reason"]
    assert "HTTP 500" in reason and "RFC 6749 section 5.1" in reason and "run again later" not in reason


def test_a_userinfo_post_answered_500_is_repeated_then_fails_its_rule(tmp_path):
    """A userinfo POST only reads: it is repeated like a GET, and a 500 to every attempt fails UINFO-06
    citing OpenID Connect Core section 5.3.2."""
    statuses = _run_through(
        tmp_path, None, "UINFO-06", "SVC-01", faults=[Fault("POST", r"/connect/userinfo", 500, times=99)]
    )
    assert (statuses["UINFO-06"], statuses["SVC-01"]) == ("failed", "passed"), statuses["output"]
    assert statuses["returncode"] == 1
    assert statuses["proxy"].count("POST", "/connect/userinfo") > 1
    (uinfo,) = [r for r in statuses["record"]["rules"] if r["rule_id"] == "UINFO-06"]
    assert "OpenID Connect Core section 5.3.2" in uinfo["scenarios"][0]["reason"]


def test_a_repeated_500_with_nothing_else_answered_is_still_an_environment_problem(tmp_path):
    statuses = _run_through(tmp_path, None, "UINFO-02", faults=[Fault("GET", r"/connect/userinfo", 500, times=99)])
    assert statuses["UINFO-02"] == "error" and statuses["returncode"] == 3, statuses["output"]
    assert statuses["record"]["verdict"] == "inconclusive: environment problem"


def test_a_run_with_failed_rules_is_not_conformant_whatever_else_errored(tmp_path):
    """AUTH-02 fails (state dropped) while the token endpoint is unavailable (503: an outage, no verdict on SVC-01)."""
    outage = Fault("POST", r"/connect/token$", 503, times=99, body_contains="client_credentials")
    statuses = _run_through(tmp_path, None, "AUTH-02", "SVC-01", faults=[outage], defects=["state-dropped"])
    assert (statuses["AUTH-02"], statuses["SVC-01"]) == ("failed", "error"), statuses["output"]
    assert statuses["record"]["verdict"] == "not conformant" and statuses["returncode"] == 1


def test_critical_rules_skipped_for_want_of_environment_data_make_the_run_incomplete(tmp_path):
    """The sandbox file without unapproved_tenant_id, ungranted_scope, non_tenant_scope, other_web and
    consent_deny_value, as the shipped production and staging files are: not CONFORMANT but INCOMPLETE
    (exit 5), naming each key to add and the rules it would run."""
    from run import SANDBOX_YAML

    from suite.verdict.exit_codes import exit_code

    lines = SANDBOX_YAML.splitlines()
    kept, skipping = [], False
    for line in lines:
        if line.startswith("  other_web:"):
            skipping = True
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        left_out = ("unapproved_tenant_id:", "ungranted_scope:", "non_tenant_scope:", "consent_deny_value:", "form:")
        if not line.strip().startswith(left_out):  # the sandbox file's form: holds consent_deny_value only
            kept.append(line)
    path = write_environment(tmp_path, "\n".join(kept) + "\n")
    record = tmp_path / "compliance.json"
    rules = ("CODE-03", "CONS-01", "RT-06", "SVC-11", "SVC-12", "SVC-01")
    result = run_suite(f"--env={path}", f"--compliance={record}", "-p", "no:xdist", *map("--rule={}".format, rules))
    written = json.loads(record.read_text())
    assert written["missing_data"] == {
        "CODE-03": ["clients.other_web"],
        "CONS-01": ["login.form.consent_deny_value"],
        "RT-06": ["clients.other_web"],
        "SVC-11": ["clients.service.unapproved_tenant_id"],
        "SVC-12": ["clients.service.ungranted_scope"],
    }, result.stdout[-3000:]
    assert exit_code(written["verdict"]) == 5, result.stdout[-3000:]  # python -m suite.run's code
    assert "add to the environment file to run them: clients.other_web (CODE-03, RT-06)" in result.stdout


def test_cons01_needs_no_refusing_button_where_the_server_shows_no_consent_page(tmp_path):
    """Consent is optional (Step 2): a server with no consent page (idpyoidc's stock flask_op) has nothing to
    deny, so CONS-01 is not applicable there without login.form.consent_deny_value, not missing data
    (an INCOMPLETE run); a server that shows one still needs the key (the test above)."""
    from run import SANDBOX_YAML

    deny = "  form:\n    consent_deny_value: deny   # the consent page's refusing button (CONS-01)\n"
    assert SANDBOX_YAML.count(deny) == 1
    path = write_environment(tmp_path, SANDBOX_YAML.replace(deny, ""))
    record = tmp_path / "compliance.json"
    result = run_suite(
        f"--env={path}", "--defect=no-consent-page", f"--compliance={record}", "-p", "no:xdist", "--rule=CONS-01"
    )
    written = json.loads(record.read_text())
    assert written["missing_data"] == {}, result.stdout[-3000:]
    (scenario,) = next(r for r in written["rules"] if r["rule_id"] == "CONS-01")["scenarios"]
    assert scenario["status"] == "skipped" and "the server asked for no consent" in scenario["reason"], scenario


def test_cons01_without_a_consent_page_after_one_was_met_is_unchecked_not_inapplicable(tmp_path):
    """A server that remembers consent (LemonLDAP::NG: once per user and client) showed AUTH-01's sign-in
    a consent page and CONS-01's none: it does ask, so CONS-01 (critical) could not be checked, a
    configuration problem naming the way out, not "the server asked for no consent" and a conformant run."""
    from run import SANDBOX_YAML

    from suite.verdict.exit_codes import exit_code

    path = write_environment(tmp_path, SANDBOX_YAML)
    record = tmp_path / "compliance.json"
    result = run_suite(
        f"--env={path}",
        "--defect=consent-remembered",
        f"--compliance={record}",
        "-p",
        "no:xdist",
        "--rule=AUTH-01",
        "--rule=CONS-01",
    )
    written = json.loads(record.read_text())
    (scenario,) = next(r for r in written["rules"] if r["rule_id"] == "CONS-01")["scenarios"]
    assert exit_code(written["verdict"]) == 4 and written["failed_rules"] == [], result.stdout[-3000:]
    assert "a consent page came on an earlier sign-in" in scenario["reason"], scenario
    assert "--rule CONS-01" in scenario["reason"], scenario


@pytest.mark.parametrize("earlier", ["offline_access with prompt=consent", "the same request"])
def test_cons01_counts_a_consent_page_met_earlier_only_for_the_same_request(tmp_path, earlier):
    """Under expectations.offline_access_prompt: consent the refresh-token sign-ins send prompt=consent, and a
    server may ask consent only for offline_access: a consent page they met says nothing of CONS-01's plain
    request, which then asked for no consent (skipped as before), not "could not be checked" (exit 4). A consent
    page met by a sign-in like CONS-01's still is the evidence of a server that remembers consent."""
    from dataclasses import replace

    from _pytest.outcomes import Skipped
    from faulty_servers import Answer, HostileServer

    from steps.consent import _no_consent_asked
    from suite.configuration.environment import load_environment
    from suite.verdict.checks import ConfigurationProblem
    from suite.wire.authorization import CONSENT_PAGES_MET, authorization_url, authorize, with_offline_access
    from suite.wire.http import HttpClient
    from suite.wire.scenario import ScenarioState
    from suite.wire.server import Discovery

    callback = "https://app.example/callback"
    consent_page = b'<form method="post" action="/consent"><button name="decision" value="allow">Yes</button></form>'
    server = HostileServer(
        {
            "/connect/authorize": Answer(200, {"Content-Type": "text/html"}, consent_page),
            "/consent": Answer(302, {"Location": f"{callback}?code=c"}),
        }
    )
    text = (
        f"name: remembered\nissuer: {server.url}\nhttp: {{retries: 0}}\nclients:\n  spa:\n    client_id: spa\n"
        f"    redirect_uri: {callback}\n    scope: openid\nlogin:\n  method: form\n  username: test.user\n"
        "  password: ${T_PASSWORD}\nexpectations:\n  offline_access_prompt: consent\n"
    )
    environment = load_environment(str(write_environment(tmp_path, text)), {"T_PASSWORD": "remembered-pw"})
    discovery = Discovery("", 200, {"authorization_endpoint": f"{server.url}/connect/authorize"}, None)
    state = ScenarioState(HttpClient(environment.http, environment.issuer), client=environment.clients["spa"])
    met_before = set(CONSENT_PAGES_MET)
    try:
        offline = with_offline_access(environment, state.client.scope) if earlier != "the same request" else None
        authorize(state, environment, discovery, overrides=offline)
        assert state.outcome.consent == "allow", state.outcome.describe()
        # CONS-01's sign-in, to a server that now shows no consent page
        authorization_url(state, discovery)
        state.outcome = replace(state.outcome, kind="callback", url=f"{callback}?code=d", consent="")
        if earlier == "the same request":
            with pytest.raises(ConfigurationProblem, match="a consent page came on an earlier sign-in"):
                _no_consent_asked(state)
        else:
            with pytest.raises(Skipped, match="the server asked for no consent"):
                _no_consent_asked(state)
    finally:
        server.close()
        CONSENT_PAGES_MET.intersection_update(met_before)


@pytest.mark.parametrize("prompt", ["omitted", "consent"])
def test_offline_access_is_sent_with_prompt_consent_where_the_environment_says_so(tmp_path, prompt):
    """OpenID Connect Core section 11: "When offline access is requested, a prompt parameter value of consent
    MUST be used unless other conditions for processing the request permitting offline access to the requested
    resources are in place" (LemonLDAP::NG ignores offline_access without it). Visma needs none (the scope and the
    app's Offline Access setting), so prompt=consent goes with offline_access only under
    expectations.offline_access_prompt: consent, and RT-01 passes either way on a server that takes both."""
    environment = WEB_AND_SPA + f"expectations:\n  offline_access_prompt: {prompt}\n"
    statuses = _run_through(tmp_path, None, "RT-01", environment=environment)
    assert statuses.get("RT-01") == "passed", statuses["output"]
    offline = [
        path
        for _, path, _ in statuses["proxy"].seen
        if path.startswith("/connect/authorize?") and "offline_access" in path
    ]
    assert offline and all(("prompt=consent" in path) == (prompt == "consent") for path in offline), offline


def test_rt03_leaves_out_the_offline_access_a_web_clients_scope_names(tmp_path):
    """The web role is "configured with offline_access", so an environment may name it in the web
    client's scope; RT-03 is about a request without it and takes it out, or a server that rightly
    issues a refresh token for offline_access failed RT-03 (an outside QA engineer's Authlib server)."""
    from run import SANDBOX_YAML

    web_scope = "    client_id: sandbox-web\n    client_secret: sandbox-web-secret\n"
    assert web_scope in SANDBOX_YAML
    text = SANDBOX_YAML.replace(
        "redirect_uri: https://web.app.local/callback\n    scope: openid profile email\n",
        "redirect_uri: https://web.app.local/callback\n    scope: openid profile email offline_access\n",
    )
    assert text != SANDBOX_YAML
    record = tmp_path / "compliance.json"
    run_suite(f"--env={write_environment(tmp_path, text)}", "--rule=RT-03", f"--compliance={record}")
    [rt03] = [rule for rule in json.loads(record.read_text())["rules"] if rule["rule_id"] == "RT-03"]
    assert rt03["status"] == "passed", rt03


def test_a_login_form_posting_the_password_elsewhere_is_a_configuration_problem_not_a_failure(tmp_path):
    """No sentence of an RFC or of Visma's pages binds where a login page posts the password (RFC 6749
    section 3.1), so a form that posts it to an origin the environment does not list is no failure of
    the server's: the password is not sent, and the run is a configuration problem (exit code 4) that
    names the origin and the key that trusts it where that host is the operator's own."""
    rules = ("AUTH-01", "AUTH-02", "AUTH-03", "APP-01", "APP-02")  # CONS-01 needs a deny button this file omits
    statuses = _run_through(tmp_path, None, *rules, defects=["login-posts-elsewhere"])
    record = statuses["record"]
    assert statuses["returncode"] == 4 and record["failed_rules"] == [], statuses["output"]
    assert "failed" not in {statuses[rule] for rule in rules}, statuses["output"]
    auth01 = next(r for r in record["rules"] if r["rule_id"] == "AUTH-01")
    reason = next(s["reason"] for s in auth01["scenarios"] if "refused to send" in (s.get("reason") or ""))
    assert "refused to send password in POST http://localhost:" in reason, reason
    assert "is not the issuer's origin" in reason and "http.trusted_origins" in reason, reason
    assert "Nothing was sent there" in reason, reason


def test_a_login_form_posting_through_a_backslash_address_to_a_relay_stops_the_run_and_the_relay_gets_nothing(tmp_path):
    """`http://relay\\@issuer/account/login`: the standard library reads the issuer's host in it, urllib3
    (which the HTTP client connects with) the relay's. A relay that passes the sign-in on to the issuer
    got the test user's password while AUTH-01 passed; the address is refused before anything is sent."""
    relay = Relay()

    def backslash_action(method, path, status, headers, body):
        action = f'action="{relay.url}\\@{proxy.url.split("//")[1]}/account/login'
        return status, headers, body.replace(b'action="/account/login', action.encode())

    proxy = FaultyProxy(rewrite=backslash_action)
    relay.target = proxy.url + "/account/login"
    try:
        statuses = _run_through(tmp_path, None, "AUTH-01", proxy=proxy)
    finally:
        relay.close()
    assert relay.requests == [], "the password reached a server the issuer did not vouch for"
    assert statuses["returncode"] == 4, statuses["output"]  # another origin: a configuration problem
    auth01 = next(r for r in statuses["record"]["rules"] if r["rule_id"] == "AUTH-01")
    reason = next(s["reason"] for s in auth01["scenarios"] if "refused to send" in (s.get("reason") or ""))
    # read as a browser reads it: the backslash is a slash, so the relay's origin gets the path "/@127.0.0.1:..."
    assert f"refused to send password in POST {relay.url}/@127.0.0.1:" in reason, reason
    assert "is not the issuer's origin" in reason, reason


def test_a_client_secret_both_endpoints_refuse_is_a_configuration_problem_not_rev01_failed(tmp_path):
    """A wrong clients.web.client_secret: the revocation is refused invalid_client, and so is the same
    client's documented token request; a wrong secret is far likelier than a server refusing its own
    client, so REV-01 could not be checked (exit code 4) and the message names the key to fix."""
    statuses = _run_through(tmp_path, None, "REV-01", environ={"T_WEB_SECRET": "mistyped-web-secret"})
    assert statuses["REV-01"] == "error", statuses["output"]
    assert statuses["returncode"] == 4, statuses["output"]
    assert statuses["record"]["verdict"] == "inconclusive: configuration problem"
    assert "clients.web.client_secret: the revocation endpoint and the token endpoint both refuse" in statuses["output"]
    assert "mistyped-web-secret" not in statuses["output"]


RIGHT_SECRETS = {
    "T_SERVICE": "sandbox-service-secret",
    "T_WEB": "sandbox-web-secret",
    "T_OTHER": "sandbox-web-other-secret",
    "T_SHORT": "sandbox-web-short-lived-secret",
    "T_PASSWORD": "sandbox-password",
}


def _standalone_sandbox_file(tmp_path, url):
    """environments/sandbox.yaml for the standalone sandbox, every secret a variable (RIGHT_SECRETS)."""
    import re

    from run import SANDBOX_YAML

    text = re.sub(r"(?m)^sandbox:\n(  .*\n)*", f"issuer: {url}\n", SANDBOX_YAML)
    for variable, secret in RIGHT_SECRETS.items():
        text = re.sub(rf"(client_secret|password): \"?{re.escape(secret)}[^\n]*", rf"\1: ${{{variable}}}", text)
    return write_environment(tmp_path, text)


@pytest.mark.parametrize(
    "wrong, rules, key",
    [
        ("T_SERVICE", ["SVC"], "clients.service.client_secret"),
        ("T_WEB", ["PKCE", "APP", "REV-01"], "clients.web.client_secret"),
    ],
    ids=["service", "web"],
)
def test_a_wrong_client_secret_is_a_configuration_problem_not_failed_rules(tmp_path, wrong, rules, key):
    """invalid_client is the right answer to a wrong secret (RFC 6749 section 5.2): a secret refused
    in the form body and by HTTP Basic alike, with nothing showing the server authenticates the
    client, names the key (exit 4). SVC-01, SVC-12/13/16 (refusals whose control was refused),
    PKCE-01, PKCE-03, APP-01, APP-03 and PKCE-06 failed for it and sealed NOT CONFORMANT."""
    sandbox = SandboxServer(default_registry()).start()
    try:
        path = _standalone_sandbox_file(tmp_path, sandbox.url)
        record = tmp_path / "compliance.json"
        result = run_suite(
            f"--env={path}",
            f"--compliance={record}",
            "-q",
            *(f"--rule={rule}" for rule in rules),
            environ={**RIGHT_SECRETS, wrong: "a-wrong-secret"},
        )
    finally:
        sandbox.stop()
    summary = json.loads(record.read_text())
    assert result.returncode == 4, result.stdout[-3000:]
    assert summary["verdict"] == "inconclusive: configuration problem"
    assert not summary["failed_rules"] and not summary["blocked_rules"], summary["failed_rules"]
    assert f"{key}: the token endpoint refuses" in result.stdout
    assert "could not be checked (configuration problem)" in result.stdout
    assert "a-wrong-secret" not in result.stdout


def test_what_relies_on_a_rule_that_could_not_be_checked_could_not_be_checked_either():
    """A control or a need in error (a wrong secret, a server gone) leaves its refusal rules and its
    dependents unchecked, not failed or blocked (which would seal NOT CONFORMANT)."""
    from suite.verdict.blocking import resolve_blocked

    unchecked = {"status": "error", "client_role": "web", "reason": "configuration problem: clients.web.client_secret"}
    rules = {
        "APP-01": _rule("error", unchecked),
        "APP-03": _rule("passed", {"status": "passed", "client_role": "web"}),
        "ID-01": _rule("failed", {"status": "failed", "failed_step": {"step": "Then x", "own_check": False}}),
    }
    resolve_blocked(rules, needs=lambda r: ("APP-01",) if r == "ID-01" else (), controls=lambda r: ("APP-01",))
    assert rules["APP-03"]["status"] == rules["ID-01"]["status"] == "error"
    assert rules["APP-03"]["scenarios"][0]["reason"].startswith("configuration problem: could not be checked")
    assert rules["ID-01"]["scenarios"][0]["reason"].startswith("configuration problem: could not be checked")


def test_a_rule_a_wrong_password_left_unchecked_says_configuration_problem_beside_a_failure():
    """A failed rule makes the run NOT CONFORMANT whatever else errored; the rules the refused test
    user left unchecked still say configuration problem, not environment problem (63 rules did)."""
    from suite.reports.record_markdown import verdict_lines

    def rule(rule_id, status, reason):
        return {
            "rule_id": rule_id,
            "status": status,
            "severity": "critical",
            "scenarios": [{"status": status, "reason": reason}],
        }

    record = {
        "verdict": "not conformant",
        "rules": [
            rule("SVC-13", "failed", "the refusal says invalid_grant"),
            rule("AUTH-01", "error", "configuration problem: login.username / login.password: the login page ..."),
            rule("UINFO-01", "error", "environment problem: cannot reach http://127.0.0.1:9"),
        ],
    }
    lines = verdict_lines(record, "compliance.json")
    assert "could not be checked (configuration problem): AUTH-01 (critical)" in lines
    assert "could not be checked (environment problem): UINFO-01 (critical)" in lines


def test_an_spa_redemption_answered_500_fails_pkce01_alone(tmp_path):
    """django-oidc-provider answered HTTP 500 to every SPA redemption (HS256 for a public client): PKCE-01
    fails for it, and the rules that redeem an SPA's code before their own check (CODE-04's late
    redemption, PKCE-05's malformed verifiers, the refusal rules) are blocked by it, one cause counted once."""
    record = tmp_path / "compliance.json"
    rules = ("PKCE-01", "PKCE-02", "PKCE-05", "CODE-02", "CODE-04", "CODE-05")
    result = run_suite(
        "--defect=spa-code-redemption-500",
        *(f"--rule={rule}" for rule in rules),
        f"--compliance={record}",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    statuses = {r["rule_id"]: (r["status"], r.get("blocked_by")) for r in json.loads(record.read_text())["rules"]}
    assert statuses["PKCE-01"] == ("failed", None), result.stdout[-3000:]
    assert {rule: statuses[rule] for rule in rules[1:]} == dict.fromkeys(rules[1:], ("blocked", "PKCE-01")), statuses


def test_a_mistyped_password_answered_with_an_error_page_is_a_configuration_problem(tmp_path):
    """idpyoidc's stock login answers a wrong password with HTTP 200 and "Error: ..." (no form, nothing
    onward, no session begun): no document binds how a login page says so, and a mistyped password is
    far likelier than a server stopping after a sign-in it took, so the run is inconclusive (exit 4),
    naming the page, the keys and what the page says; AUTH-01, -02 and -12 failed for it, ~40 blocked."""
    statuses = _run_through(
        tmp_path,
        None,
        "AUTH-01",
        "AUTH-02",
        "AUTH-12",
        defects=("login-failure-error-page",),
        environ={"T_PASSWORD": "mistyped-sandbox-password"},
    )
    assert statuses["returncode"] == 4, statuses["output"]
    assert statuses["record"]["verdict"] == "inconclusive: configuration problem"
    assert not statuses["record"]["failed_rules"] and not statuses["record"]["blocked_rules"], statuses["output"]
    reasons = {s["reason"] for r in statuses["record"]["rules"] for s in r["scenarios"] if s["status"] == "error"}
    login = statuses["proxy"].url + "/account/login"
    assert reasons == {
        f"configuration problem: login.username / login.password: the login page {login} answered the environment's "
        f"test user with {login} (HTTP 200); the page says 'Error Wrong username or password.': a page with no form "
        "and no way on, no redirect onward and no session cookie set, so nothing shows the sign-in was accepted. "
        "Check login.username and login.password (and the variables they name) against a sign-in by hand"
    }, reasons
    assert "mistyped-sandbox-password" not in statuses["output"] + json.dumps(statuses["record"])


def test_a_sign_in_the_server_took_and_then_broke_still_fails_auth01(tmp_path):
    """A sign-in the server accepted (its answer begins a session) answered with the error page idpyoidc
    answers a wrong password with, in place of the redirect onward: the server's own fault, judged as before."""

    def error_page_after_sign_in(method, path, status, headers, body):
        if method == "POST" and path.startswith("/account/login") and status == 302:
            assert "Set-Cookie" in headers  # the sandbox's session, with the signed-in user
            kept = {name: value for name, value in headers.items() if name != "Location"}
            return 200, kept | {"Content-Type": "text/html"}, b"<html><body><h1>Error: internal</h1></body></html>"
        return status, headers, body

    statuses = _run_through(tmp_path, error_page_after_sign_in, "AUTH-01")
    assert statuses["AUTH-01"] == "failed", statuses["output"]
    assert statuses["returncode"] == 1, statuses["output"]
    assert "with no form to fill in" in statuses["output"]


def test_messages_say_what_was_answered_and_what_else_explains_a_refusal():
    """A page answered instead of a redirect says its status, or that it was not seen, never "HTTP None";
    a client secret refused both ways names VSCHAR (RFC 6749 Appendix A.2) where it holds characters
    outside it, a likely cause besides a wrong secret."""
    from suite.wire.login import Outcome
    from suite.wire.token_requests import outside_vschar

    assert "a page answered with HTTP 400" in Outcome("page", "http://127.0.0.1/authorize", 400).describe()
    unseen = Outcome("page", "http://127.0.0.1/authorize").describe()
    assert "None" not in unseen and "a page whose HTTP status was not seen" in unseen
    assert outside_vschar("plain-ASCII secret ~!") == ""
    assert "RFC 6749 Appendix A.2" in outside_vschar("sécret") and "VSCHAR" in outside_vschar("tab\tsecret")


def _failed_step_of(step_type: str, exception: Exception, last: bool = False) -> dict:
    """What record_failed_step records of a failure in a step of `step_type` (the last step, or one before it)."""
    from suite.verdict.blocking import record_failed_step

    step = SimpleNamespace(keyword=step_type.title(), name="x", type=step_type, line_number=5)
    after = SimpleNamespace(keyword="And", name="y", type="then", line_number=6)
    request = SimpleNamespace(node=SimpleNamespace(user_properties=[]))
    record_failed_step(request, SimpleNamespace(steps=[step] if last else [step, after]), step, exception)
    return dict(request.node.user_properties)["failed_step"]


def test_a_then_step_that_found_a_violation_is_the_rules_own_check_wherever_it_stands():
    """ID-03's aud is its second Then step: a wrong aud found there is ID-03's own check, not a failure on the
    way; nothing to check, or the documented request refused before the last step, is on the way."""
    from suite.verdict.checks import Delivered, NothingToCheck, Refused

    assert _failed_step_of("then", NonConformance("the ID token's aud is 'x'"))["own_check"] is True
    assert _failed_step_of("when", NonConformance("no code"))["own_check"] is False
    assert _failed_step_of("then", NothingToCheck("no ID token"))["own_check"] is False
    refused = _failed_step_of("then", Refused("HTTP 401"))
    assert (refused["own_check"], refused["refused"]) == (False, True)
    assert _failed_step_of("then", Refused("HTTP 401"), last=True)["own_check"] is True
    delivered = _failed_step_of("then", Delivered("a code without a sign-in"), last=True)
    assert (delivered["own_check"], delivered["delivered"]) == (True, True)


def test_a_failure_that_still_gave_the_code_blocks_nothing():
    """oidc-provider-mock gave codes without a sign-in (AUTH-01 failed, the codes came) and refused every
    public client's redemption: the SPA's refused redemption is PKCE-01's own failure, not AUTH-01's echo,
    and RT-04's unredeemed code is blocked by PKCE-01, not by AUTH-01. A sign-in that gave no code still
    blocks them."""
    from suite.verdict.blocking import resolve_blocked

    def on_the_way(step):
        return {"status": "failed", "client_role": "spa", "failed_step": {"step": step, "own_check": False}}

    def rules_after(sign_in: dict) -> dict:
        needs = {"PKCE-01": ("AUTH-01",), "RT-04": ("AUTH-01", "PKCE-01")}
        rules = {
            "AUTH-01": _rule("failed", {"status": "failed", "client_role": "spa", "failed_step": sign_in}),
            "PKCE-01": _rule("failed", on_the_way("Then the token request succeeds")),
            "RT-04": _rule("failed", on_the_way("Then no refresh token is issued")),
        }
        resolve_blocked(rules, needs=lambda rule: needs.get(rule, ()), controls=lambda rule: ())
        return {rule: (r["status"], r.get("blocked_by")) for rule, r in rules.items()}

    without_sign_in = rules_after({"step": "Then", "own_check": True, "delivered": True})
    assert without_sign_in == {
        "AUTH-01": ("failed", None),
        "PKCE-01": ("failed", None),
        "RT-04": ("blocked", "PKCE-01"),
    }
    without_code = rules_after({"step": "Then", "own_check": True, "refused": True})
    assert without_code == {
        "AUTH-01": ("failed", None),
        "PKCE-01": ("blocked", "AUTH-01"),
        "RT-04": ("blocked", "AUTH-01"),
    }


def test_rules_that_reach_their_own_check_fail_in_their_own_right_beside_a_code_given_without_sign_in(tmp_path):
    """A server issuing codes without a sign-in (AUTH-01 fails rightly) and ID tokens for another audience,
    expires_in 7200 and an SPA redemption answered 500: ID-03 and CODE-06 found their own violations, and
    PKCE-01 its own refusal; none is "blocked by AUTH-01", whose failure gave them their codes. RT-04's
    refused SPA redemption is PKCE-01's (one cause, one failure); AUTH-01 is named as context."""
    record = tmp_path / "compliance.json"
    defects = ("no-sign-in", "id-token-wrong-audience", "expires-in-wrong", "spa-code-redemption-500")
    rules = ("AUTH-01", "PKCE-01", "ID-01", "ID-02", "ID-03", "CODE-06", "RT-01", "RT-04")
    result = run_suite(
        *(f"--defect={defect}" for defect in defects),
        *(f"--rule={rule}" for rule in rules),
        f"--compliance={record}",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    written = {r["rule_id"]: r for r in json.loads(record.read_text())["rules"]}
    statuses = {rule: (r["status"], r.get("blocked_by")) for rule, r in written.items()}
    expected = dict.fromkeys(("AUTH-01", "PKCE-01", "ID-03", "CODE-06"), ("failed", None))
    assert {rule: statuses[rule] for rule in expected} == expected, result.stdout[-3000:]
    assert statuses["RT-04"] == ("blocked", "PKCE-01"), statuses
    (aud,) = [s for s in written["ID-03"]["scenarios"] if s["status"] == "failed"]
    assert "aud" in aud["reason"] and "also failed in this run: AUTH-01" in aud["reason"], aud["reason"]


def test_messages_name_what_the_server_did_and_the_sentence_that_binds_it(tmp_path):
    """D9 answers token errors with HTTP 200 and {"error": "invalid_client"}: SVC-09 says an error was sent with
    200 (RFC 6749 section 5.2), not that the request was granted. A userinfo POST refused: UINFO-06 says the
    request was a POST and cites OpenID Connect Core section 5.3. An unknown client_id redirected: AUTH-07 says
    the client_id is invalid and the server MUST NOT redirect, not "an unregistered redirect_uri"."""

    def errors_with_200(method, path, status, headers, body):
        if path.startswith("/connect/token") and status in (400, 401):
            return 200, headers, body
        return status, headers, body

    statuses = _run_through(
        tmp_path,
        errors_with_200,
        "SVC-09",
        "UINFO-06",
        "AUTH-07",
        defects=("userinfo-post-refused", "unknown-client-redirected"),
    )
    reasons = {
        r["rule_id"]: next(s["reason"] for s in r["scenarios"] if s["status"] == "failed")
        for r in statuses["record"]["rules"]
        if r["status"] == "failed"
    }
    assert set(reasons) == {"SVC-09", "UINFO-06", "AUTH-07"}, statuses["output"]
    assert (
        "answered with an error, error='invalid_client', sent with HTTP 200, to an unknown client" in reasons["SVC-09"]
    )
    assert "was granted" not in reasons["SVC-09"] and "RFC 6749 section 5.2" in reasons["SVC-09"]
    assert "sent by POST" in reasons["UINFO-06"], reasons["UINFO-06"]
    assert "MUST support the use of the HTTP GET and HTTP POST methods" in reasons["UINFO-06"]
    assert "is invalid" in reasons["AUTH-07"] and "MUST NOT automatically redirect" in reasons["AUTH-07"]
    assert "unregistered redirect_uri" not in reasons["AUTH-07"], reasons["AUTH-07"]


def test_a_redirect_uri_taken_for_the_registered_one_cites_simple_string_comparison():
    """A server that removed the dot segments of com.example.qa:/oauth/x/../callback and answered at the
    registered com.example.qa:/oauth/callback: the form method refused to follow that private-use-scheme
    address (its host is read differently by parsers); AUTH-05 says the server took the URI for the
    registered one, citing RFC 6749 section 3.1.2.3, not the suite's security policy."""
    from steps.authorization import _refused_redirect_to, no_redirect_for_varied_uris
    from suite.wire.login import Outcome

    registered, sent = "com.example.qa:/oauth/callback", "com.example.qa:/oauth/x/../callback"
    refusal = f"refused to follow the redirect to {registered}?code=[code redacted]&state=st1: URL parsers read ..."
    assert _refused_redirect_to(refusal, registered) and not _refused_redirect_to(refusal, registered[:-1])
    client = SimpleNamespace(role="native", redirect_uri=registered)
    state = SimpleNamespace(redirect_trials=[(client, sent, Outcome("callback", registered))])
    with pytest.raises(NonConformance) as failure:
        no_redirect_for_varied_uris(state)
    assert "took it for the registered" in str(failure.value) and "RFC 6749 section 3.1.2.3" in str(failure.value)
    assert "security policy" not in str(failure.value)


@pytest.mark.parametrize(
    "sent, answered",
    [
        ("https://web.app.local/callback?extra=1", "https://web.app.local/callback?extra=1&code=[code]&state=st1"),
        ("https://web.app.local/callback#fragment", "https://web.app.local/callback?code=[code]&state=st1#fragment"),
    ],
)
def test_a_response_sent_to_the_unregistered_uri_itself_is_said_so(sent, answered):
    """A server that took https://web.app.local/callback?extra=1 as registered by its prefix and redirected
    to that very address (pyop with its redirect_uri list extended): AUTH-05 says the browser went to the
    unregistered URI, not that the server took it for the registered one and answered there."""
    from steps.authorization import no_redirect_for_varied_uris
    from suite.wire.login import Outcome

    client = SimpleNamespace(role="web", redirect_uri="https://web.app.local/callback")
    state = SimpleNamespace(redirect_trials=[(client, sent, Outcome("callback", answered))])
    with pytest.raises(NonConformance) as failure:
        no_redirect_for_varied_uris(state)
    assert "took it for the registered" not in str(failure.value), failure.value
    assert "the browser was redirected to an unregistered redirect_uri" in str(failure.value), failure.value
    assert repr(answered) in str(failure.value)


def test_auth01_says_a_page_without_a_password_field_was_submitted():
    """oidc-provider-mock's sign-in page asks for a subject only: the browser method filled and submitted it, and
    AUTH-01 says so (and why it fails: RFC 6749 section 4.1 step B), not that no login page was seen."""
    from steps.authorization import _not_signed_in
    from suite.wire.login import Outcome

    outcome = Outcome(
        "callback", "https://app/cb?code=c", filled_without_password="http://127.0.0.1:1/oauth2/authorize"
    )
    said = _not_signed_in(outcome, "browser")
    assert "filled and submitted a page without a password field" in said and "without the password" in said
    assert "never saw" not in said and "authenticates the resource owner" in said
    assert "never saw and submitted a login page" in _not_signed_in(Outcome("callback", "https://app/cb"), "browser")


def test_the_same_check_failed_by_a_needed_rule_blocks_rather_than_fails_again():
    """One wrong token_type: PKCE-01's "the token type is Bearer" fails, and CODE-06's same step, its own check
    of the same kind of answer, is blocked by PKCE-01 (one cause, one failure); its wrong expires_in, a step
    PKCE-01 does not fail at, is CODE-06's own failure."""
    from suite.verdict.blocking import resolve_blocked

    def at(step):
        return {"status": "failed", "client_role": "web", "failed_step": {"step": step, "own_check": True}}

    needs = {"CODE-06": ("PKCE-01",)}
    for step, expected in (
        ('And the token type is "Bearer"', ("blocked", "PKCE-01")),
        ('And "expires_in" is the lifetime the environment expects', ("failed", None)),
    ):
        rules = {
            "PKCE-01": _rule("failed", at('And the token type is "Bearer"')),
            "CODE-06": _rule("failed", at(step)),
        }
        resolve_blocked(rules, needs=lambda rule: needs.get(rule, ()), controls=lambda rule: ())
        assert (rules["CODE-06"]["status"], rules["CODE-06"].get("blocked_by")) == expected, step


class _OtherClientsGrantRefusedAsInvalidClient(Fault):
    """invalid_client (401) for the other client's redemption of the web app's code and its refresh with the web
    app's refresh token, while the same client's authentication for a code nobody issued (no code_verifier)
    goes through: a server that names a foreign grant invalid_client, not one that cannot authenticate."""

    def matches(self, method: str, path: str, body: str) -> bool:
        foreign = "code_verifier=" in body or "grant_type=refresh_token" in body
        return (
            method == "POST" and path.startswith("/connect/token") and "client_id=sandbox-web-other" in body and foreign
        )


def test_a_foreign_grant_refused_invalid_client_to_an_authenticated_client_fails_code03_and_rt06(tmp_path):
    """The other client authenticates (its control, a code nobody issued, is refused invalid_grant), so an
    invalid_client for the web app's code or refresh token is the server's answer to the grant: RFC 6749
    section 5.2 names invalid_grant for a grant issued to another client, and both rules fail, not blocked."""
    refusal = _OtherClientsGrantRefusedAsInvalidClient(
        "POST", r"/connect/token", 401, times=99, answer=b'{"error": "invalid_client"}'
    )
    statuses = _run_through(tmp_path, None, "CODE-03", "RT-06", faults=[refusal])
    assert statuses["CODE-03"] == statuses["RT-06"] == "failed", statuses["output"]
    for rule in statuses["record"]["rules"]:
        assert "expected invalid_grant" in rule["scenarios"][0]["reason"], rule


def test_an_offline_access_request_refused_cites_openid_connect_core_section_11(tmp_path):
    """Stock pyop refuses an authorization request with offline_access and no prompt=consent. RFC 6749
    section 4.1.2 says what a granted request is answered with, not that this one is granted: RT-01's
    failure cites OpenID Connect Core section 11 (the offline_access request is ignored, not refused) and
    Visma's statement that a web app configured with offline_access can request refresh tokens."""
    refuse = Fault(
        "GET",
        r"/connect/authorize\\?.*offline_access",
        302,
        times=99,
        headers={"Location": "https://web.app.local/callback?error=invalid_request"},
        answer=b"",
    )
    statuses = _run_through(tmp_path, None, "RT-01", faults=[refuse])
    (rule,) = statuses["record"]["rules"]
    reason = rule["scenarios"][0]["reason"]
    assert rule["status"] == "failed", statuses["output"]
    assert "MUST ignore the offline_access request" in reason and "OpenID Connect Core section 11" in reason, reason
    assert "configured with `offline_access` can request refresh tokens" in reason
    assert "RFC 6749 section 4.1.2" not in reason


PRIVATE_USE_NATIVE = """name: private-use-native
issuer: {issuer}
clients:
  native:
    client_id: native-client
    redirect_uri: com.example.native:/callback
    scope: openid profile email
login:
  method: form
  username: test.user
  password: ${{T_PASSWORD}}
"""
# LemonLDAP::NG 2.16's error page loads its scripts from its own server
SAME_ORIGIN_SCRIPTS = b'<script src="/javascript/jquery/jquery.min.js"></script><script src="/psgi.js"></script>'


@pytest.mark.parametrize(
    "added, status",
    [(SAME_ORIGIN_SCRIPTS, "passed"), (b'<script>location="com.example.native:/?code=x"</script>', "failed")],
    ids=["same-origin-scripts", "script-naming-the-uri"],
)
def test_auth05_judges_what_an_error_page_sends_to_a_private_use_uri(tmp_path, added, status):
    """RFC 6749 section 4.1.2.1: "MUST NOT automatically redirect the user-agent to the invalid redirection URI".
    A private-use-scheme URI (RFC 8252 section 7.1) has no host, so its parent path com.example.native:/ names no
    server: an error page's same-origin scripts send the browser to its own server, never there (AUTH-05 failed
    LemonLDAP::NG with "a script from com.example.native:/"); a script that names the URI still fails."""

    def with_scripts(method, path, status, headers, body):
        if path.startswith("/connect/authorize") and status == 400:
            body = body.replace(b"</body>", added + b"</body>") if b"</body>" in body else body + added
        return status, headers, body

    registry = Registry()
    registry.add(
        Application(
            "native-client", "native", redirect_uris=("com.example.native:/callback",), scopes=INTERACTIVE_SCOPES
        )
    )
    registry.add_user(User("test.user", "sandbox-password"))
    statuses = _run_through(tmp_path, with_scripts, "AUTH-05", environment=PRIVATE_USE_NATIVE, registry=registry)
    assert statuses.get("AUTH-05") == status, statuses["output"]
