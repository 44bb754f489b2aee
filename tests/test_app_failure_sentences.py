"""Every failure of an application rule cites the sentence that forbids what the application did:
APPC-03's missing state says that a new, checked nonce or PKCE would protect the callback too (RFC 9700
section 2.1), APPC-21 names the ID token's fault and the step of OpenID Connect Core 1.0 section 3.1.3.7
it breaks, and a check whose message quotes nothing gets its rule's sentence from
appside/features/rules.yaml (appside.record.with_its_sentence, applied as a step fails)."""

import re

import pytest

from appside.record import CITES, application_rule_sources, with_its_sentence
from appside.steps.refusals import MUST_REFUSE_BECAUSE
from appside.steps.requests_sent import NO_STATE
from sandbox.faults import ID_TOKEN_FAULTS
from suite.configuration.fast_yaml import safe_load
from suite.configuration.rules import WARNING

FEATURES = "appside/features/*.feature"


def test_a_missing_state_quotes_its_sentence_and_the_protections_that_would_do_instead():
    assert 'RFC 6749 section 10.12, "The client MUST implement CSRF protection for its redirection URI"' in NO_STATE
    assert "nonce" in NO_STATE and "PKCE" in NO_STATE and "RFC 9700 section 2.1" in NO_STATE


@pytest.mark.parametrize(
    "fault, step, claim",
    [
        ("id-token-iss-wrong", 2, "iss"),
        ("id-token-aud-wrong", 3, "aud"),
        ("id-token-aud-suffixed", 3, "aud"),
        ("id-token-aud-prefixed", 3, "aud"),
        ("id-token-aud-other-azp", 3, "aud"),
        ("id-token-expired", 9, "exp"),
        ("id-token-expired-recently", 9, "exp"),
        ("id-token-nonce-wrong", 11, "nonce"),
        ("id-token-nonce-missing", 11, "nonce"),
    ],
)
def test_an_id_token_accepted_names_its_fault_and_the_validation_step(fault, step, claim):
    said = MUST_REFUSE_BECAUSE[fault]
    assert f"OpenID Connect Core 1.0 section 3.1.3.7 (ID Token Validation) step {step}: " in said
    assert f"the ID token's {claim}" in said or f"no {claim}" in said


def test_every_fault_a_rule_that_is_no_warning_injects_names_its_sentence():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    levels = {
        rule: entry.get("level")
        for rule, entry in safe_load((root / "appside/features/rules.yaml").read_text()).items()
    }
    faults: set[str] = set()
    for feature in root.glob(FEATURES):
        for block in re.split(r"\n\s*@rule:", feature.read_text())[1:]:
            rule = block.split()[0]
            if "@level:warning" in block.split("\n")[0] or levels.get(rule) == WARNING:
                continue
            faults |= set(re.findall(r'with the fault "([a-z-]+)"', block))
            if 'with the fault "<fault>"' in block:
                faults |= {f for f in re.findall(r"\|\s*([a-z-]+)\s*\|", block) if f in ID_TOKEN_FAULTS}
    assert set(ID_TOKEN_FAULTS) <= faults
    assert faults <= set(MUST_REFUSE_BECAUSE), faults - set(MUST_REFUSE_BECAUSE)


def test_a_message_that_quotes_nothing_gets_its_rules_sentence_and_one_that_cites_keeps_its_own():
    said = with_its_sentence("a refresh used an older refresh token", "APPC-15")
    assert said.startswith('a refresh used an older refresh token (RFC 6749 section 6: "The authorization server MAY')
    # several sentences: each named, none picked that the check may not have meant (a wrong secret is no POST)
    said = with_its_sentence("the client_secret in its form body is not the application's secret", "APPC-10")
    assert said.endswith(
        "(the sentences APPC-10 enforces, quoted in the record: Interactive Integrations, Step 4 Exchange "
        "Authorization Code for Tokens; RFC 6749 section 3.2; RFC 6749 section 2.3.1)"
    ), said
    assert CITES.search(said)
    cited = "a refresh used an older refresh token (RFC 9700 section 4.14.2)"
    assert with_its_sentence(cited, "APPC-24") == cited


def test_every_application_rule_has_a_sentence_to_quote():
    from pathlib import Path

    rules = safe_load((Path(__file__).resolve().parent.parent / "appside/features/rules.yaml").read_text())
    for rule in rules:
        assert any(source.get("quote") for source in application_rule_sources(rule)), rule
        assert with_its_sentence("it did what it must not", rule) != "it did what it must not", rule


@pytest.mark.parametrize("kind", ["spa", "native", "web"])
def test_appc06_cites_what_binds_each_kind_of_application_to_pkce(kind):
    """RFC 7636 section 4.3 defines the parameters and binds no one to send them: a public client is bound by
    RFC 9700 section 2.1.1 and Visma Connect's application types; a web application only by its own file."""
    from types import SimpleNamespace

    from appside.observed import Observed
    from appside.steps.requests_sent import pkce_challenge
    from appside.steps.sign_ins import AppRun
    from sandbox.app import PATHS
    from sandbox.recording import RecordedRequest
    from suite.verdict.checks import NonConformance

    application = SimpleNamespace(client_id="c", app_type=kind, uses_pkce=True, is_interactive=True)
    sent = RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], (("client_id", "c"),), (), {}, "", 302)
    run = AppRun(sign_ins=[None], observed=[Observed([sent])])
    with pytest.raises(NonConformance) as failure:
        pkce_challenge(application, run)
    said = str(failure.value)
    assert "RFC 7636 section 4.3" not in said
    if kind == "web":
        assert "declares PKCE (application.pkce)" in said and "RFC 7636 section 4.1" in said
    else:
        assert "'Public clients MUST use PKCE [RFC7636] to this end' (RFC 9700 section 2.1.1)" in said
        assert ("client secrets cannot be safely stored" if kind == "spa" else "relies on PKCE") in said


@pytest.mark.parametrize("app_type", ["web", "spa"])
def test_a_missing_code_challenge_of_a_web_app_that_declares_pkce_names_the_other_fix(app_type):
    """An Apache mod_auth_openidc application declared application.pkce: true and sent no code_challenge: for a web
    application PKCE is optional, so the other fix is to declare what it does (application.pkce: false)."""
    from pathlib import Path

    from appside.application import Application, Drive
    from appside.browser_driver import SignIn
    from appside.observed import Observed
    from appside.steps.requests_sent import pkce_challenge
    from appside.steps.sign_ins import AppRun
    from sandbox.app import PATHS
    from sandbox.recording import RecordedRequest
    from suite.verdict.checks import NonConformance

    application = Application(
        "a", Path("a.yaml"), app_type, "acme", Drive("browser"), redirect_uris=("http://x/cb",), pkce_declared=True
    )
    authorize = RecordedRequest(1.0, "GET", PATHS["authorization_endpoint"], (("state", "s"),), (), {}, status=302)
    app_run = AppRun(sign_ins=[SignIn(True)], observed=[Observed([authorize])])
    with pytest.raises(NonConformance) as failed:
        pkce_challenge(application, app_run)
    said = "set application.pkce: false in the application file"
    assert (said in str(failed.value)) == (app_type == "web"), failed.value
