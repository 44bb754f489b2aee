"""Checks judged on what a server answered, without a server: the messages a reviewer reads and
the answers that must not pass for a refusal."""

from dataclasses import replace

import pytest
from run import ROOT

from steps.authorization import authorization_refused
from steps.discovery import endpoints_listed
from suite.checks import NonConformance
from suite.environment import load_environment
from suite.login import Outcome
from suite.scenario import ScenarioState
from suite.server import Discovery

ISSUER = "https://connect.example"
TABLE = [["endpoint"], ["authorization_endpoint"], ["token_endpoint"], ["revocation_endpoint"],
         ["introspection_endpoint"], ["jwks_uri"]]


def _environment():
    environment = load_environment(str(ROOT / "environments" / "sandbox.yaml"))
    environment.issuer = ISSUER
    return environment


def test_every_missing_discovery_member_is_named_in_one_message():
    metadata = {"issuer": ISSUER, "authorization_endpoint": ISSUER + "/connect/authorize",
                "jwks_uri": ISSUER + "/.well-known/openid-configuration/jwks"}
    discovery = Discovery(ISSUER + "/.well-known/openid-configuration", 200, metadata, None)
    with pytest.raises(NonConformance) as failure:
        endpoints_listed(discovery, _environment(), TABLE)
    message = str(failure.value)
    for name in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert f"{name} is missing" in message
    assert "required: RFC 8414 section 2" in message  # the token endpoint may not be declared away


def test_an_endpoint_the_environment_does_not_offer_passes_with_its_reason():
    metadata = {"issuer": ISSUER, **{name: ISSUER + path for name, path in {
        "authorization_endpoint": "/connect/authorize", "token_endpoint": "/connect/token",
        "introspection_endpoint": "/connect/introspect", "jwks_uri": "/.well-known/openid-configuration/jwks"}.items()}}
    environment = _environment()
    environment.expectations = replace(environment.expectations,
                                       endpoints_not_offered={"revocation_endpoint": "tokens are short-lived"})
    endpoints_listed(Discovery(ISSUER, 200, metadata, None), environment, TABLE)


@pytest.mark.parametrize("outcome", [
    Outcome("no_answer"),                                 # a person pasted nothing
    Outcome("page", ISSUER + "/wait", 200, body="<p>Please wait</p>"),  # a flow that stalled
    Outcome("loop", ISSUER + "/connect/authorize"),
], ids=["empty paste", "stalled page", "loop"])
def test_nothing_but_an_error_redirect_or_a_4xx_page_counts_as_a_refusal(outcome):
    state = ScenarioState(http=None, outcome=outcome)
    with pytest.raises(NonConformance):
        authorization_refused(state)


def test_a_4xx_error_page_counts_as_a_refusal():
    authorization_refused(ScenarioState(http=None, outcome=Outcome("page", ISSUER + "/error", 400, body="<p>bad</p>")))
