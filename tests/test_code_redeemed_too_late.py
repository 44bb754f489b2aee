"""A code redeemed past its deadline on a busy machine is refused, which may only mean it expired: the
suite then asks for a fresh code with the same authorization request (steps.authorization.redeem). The
fresh code must be redeemed as the first was, every redemption of the scenario in order: a second
redemption (CODE-01's, CODE-07's) judged on a fresh code's first one was granted, and CODE-01 failed a
server that keeps the rule (seen on a loaded machine: 4 runs of 12)."""

import time
from pathlib import Path

import pytest

from steps.authorization import redeem
from suite.configuration.environment import load_environment
from suite.wire.authorization import authorize
from suite.wire.embedded_sandbox import start_sandbox
from suite.wire.http import EnvironmentProblem, HttpClient
from suite.wire.scenario import ScenarioState
from suite.wire.server import fetch_discovery

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sandbox_environment():
    environment = load_environment(str(ROOT / "environments" / "sandbox.yaml"))
    sandbox = start_sandbox(environment)
    environment.issuer = sandbox.issuer
    yield environment, fetch_discovery(environment), sandbox
    sandbox.stop()


def _signed_in(environment, discovery) -> ScenarioState:
    state = ScenarioState(http=HttpClient(environment.http, environment.issuer))
    state.client = environment.clients["spa"]
    authorize(state, environment, discovery)
    return state


def _redemptions(sandbox) -> list[int]:
    return [e.status for e in sandbox.recording.entries() if e.method == "POST" and e.path == "/connect/token"]


def test_a_second_redemption_that_came_too_late_is_made_again_as_the_second(sandbox_environment):
    environment, discovery, sandbox = sandbox_environment
    state = _signed_in(environment, discovery)
    assert redeem(state, discovery, code_verifier=state.authorization.verifier).status_code == 200
    first_access_token = state.token_responses[0]["access_token"]
    state.code_deadline = time.monotonic() - 1  # the suite was slow: the second redemption comes past it
    sandbox.recording.clear()
    again = redeem(state, discovery, code_verifier=state.authorization.verifier)
    # the late second redemption (refused), then the fresh code redeemed twice: granted, then refused
    assert _redemptions(sandbox) == [400, 200, 400]
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    # "the code's first redemption" (CODE-07) is the fresh code's now
    assert len(state.token_responses) == 1 and state.token_responses[0]["access_token"] != first_access_token


def test_a_first_redemption_that_came_too_late_is_made_once_with_a_fresh_code(sandbox_environment):
    environment, discovery, sandbox = sandbox_environment
    state = _signed_in(environment, discovery)
    state.code_deadline = time.monotonic() - 1
    sandbox.recording.clear()
    elsewhere = "https://elsewhere.example/cb"
    assert (
        redeem(state, discovery, code_verifier=state.authorization.verifier, redirect_uri=elsewhere).status_code == 400
    )
    # refused late (another redirect_uri), a fresh code redeemed once the same way: refused in time
    assert _redemptions(sandbox) == [400, 400]


def test_a_fresh_code_answered_unlike_the_first_is_no_verdict(sandbox_environment):
    environment, discovery, _ = sandbox_environment
    state = _signed_in(environment, discovery)
    assert redeem(state, discovery, code_verifier=state.authorization.verifier).status_code == 200
    state.redemptions[0].status = 400  # as if the first code's first redemption had been refused
    state.code_deadline = time.monotonic() - 1
    with pytest.raises(EnvironmentProblem, match="did not answer the same redemption the same way twice"):
        redeem(state, discovery, code_verifier=state.authorization.verifier)
