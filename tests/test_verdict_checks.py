"""Checks judged on what a server answered, without a server: the messages a reviewer reads and
the answers that must not pass for a refusal."""

import ast
import re
from dataclasses import replace
from pathlib import Path

import pytest
from run import ROOT

from steps.authorization import authorization_refused
from steps.discovery import endpoints_listed
from suite.configuration.environment import load_environment
from suite.verdict.checks import NonConformance
from suite.wire.login import Outcome
from suite.wire.scenario import ScenarioState
from suite.wire.server import Discovery

ISSUER = "https://connect.example"
TABLE = [
    ["endpoint"],
    ["authorization_endpoint"],
    ["token_endpoint"],
    ["revocation_endpoint"],
    ["introspection_endpoint"],
    ["jwks_uri"],
]


def _environment():
    environment = load_environment(str(ROOT / "environments" / "sandbox.yaml"))
    environment.issuer = ISSUER
    return environment


def test_every_missing_discovery_member_is_named_in_one_message():
    metadata = {
        "issuer": ISSUER,
        "authorization_endpoint": ISSUER + "/connect/authorize",
        "jwks_uri": ISSUER + "/.well-known/openid-configuration/jwks",
    }
    discovery = Discovery(ISSUER + "/.well-known/openid-configuration", 200, metadata, None)
    with pytest.raises(NonConformance) as failure:
        endpoints_listed(discovery, _environment(), TABLE)
    message = str(failure.value)
    for name in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert f"{name} is missing" in message
    assert "required: RFC 8414 section 2" in message  # the token endpoint may not be declared away


def test_an_endpoint_the_environment_does_not_offer_passes_with_its_reason():
    metadata = {
        "issuer": ISSUER,
        **{
            name: ISSUER + path
            for name, path in {
                "authorization_endpoint": "/connect/authorize",
                "token_endpoint": "/connect/token",
                "introspection_endpoint": "/connect/introspect",
                "jwks_uri": "/.well-known/openid-configuration/jwks",
            }.items()
        },
    }
    environment = _environment()
    environment.expectations = replace(
        environment.expectations, endpoints_not_offered={"revocation_endpoint": "tokens are short-lived"}
    )
    endpoints_listed(Discovery(ISSUER, 200, metadata, None), environment, TABLE)


@pytest.mark.parametrize(
    "outcome",
    [
        Outcome("no_answer"),  # a person pasted nothing
        Outcome("page", ISSUER + "/wait", 200, body="<p>Please wait</p>"),  # a flow that stalled
        Outcome("loop", ISSUER + "/connect/authorize"),
    ],
    ids=["empty paste", "stalled page", "loop"],
)
def test_nothing_but_an_error_redirect_or_a_4xx_page_counts_as_a_refusal(outcome):
    state = ScenarioState(http=None, outcome=outcome)
    with pytest.raises(NonConformance):
        authorization_refused(state, None)


def test_a_4xx_error_page_counts_as_a_refusal():
    authorization_refused(
        ScenarioState(http=None, outcome=Outcome("page", ISSUER + "/error", 400, body="<p>bad</p>")), None
    )


CITATION = re.compile(r"RFC \d{4}|OpenID Connect|Visma|visma-connect-facts|(Service|Interactive) Integrations")
# name: index of the message
CHECKS = {"check": 1, "require": 1, "check_granted": 1, "NonConformance": 0, "NothingToCheck": 0}


def _uncited_messages(path: Path) -> list[str]:
    """Messages written out in a check, require or raise NonConformance call (or in a lambda there)
    that name no sentence. A message built elsewhere (a variable) is judged where its parts are written."""
    source = path.read_text(encoding="utf-8")
    found = []
    for node in ast.walk(ast.parse(source)):
        name = getattr(node, "func", None) and getattr(node.func, "id", None)
        if name not in CHECKS or len(node.args) <= CHECKS[name]:
            continue
        message = node.args[CHECKS[name]]
        if isinstance(message, ast.Lambda):  # a message built only when the check fails
            message = message.body
        written = [
            part.value for part in ast.walk(message) if isinstance(part, ast.Constant) and isinstance(part.value, str)
        ]
        if isinstance(message, (ast.Constant, ast.JoinedStr, ast.BinOp)) and not CITATION.search(" ".join(written)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.get_source_segment(source, node)[:120]}")
    return found


def test_every_failing_check_cites_the_sentence_that_forbids_it():
    """Issue 10: each failing outcome is backed by a sentence (Visma page, facts file, RFC or OpenID
    section), and the failure message names it."""
    files = sorted((ROOT / "steps").glob("*.py")) + sorted((ROOT / "suite").rglob("*.py"))
    assert [line for path in files for line in _uncited_messages(path)] == []
