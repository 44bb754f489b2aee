"""UINFO-08, an access token refused at userinfo once it has expired (and UINFO-09, refused as RFC 6750
section 3.1 says it SHOULD be: 401, invalid_token), without the run standing still while the token ages.

A documented client's access token lives 3600 s (expires_in 3600 is a rule of the contract), too long
to wait for. So the rule runs only where the environment declares `clients.short_lived`: an
interactive app registered with access tokens that live `access_token_lifetime` seconds (real servers
let a client's registration shorten it), and only where that lifetime, with the leeway the server
may give a token past its expiry (`expectations.access_token_expiry_leeway`, by default
`expectations.clock_skew`), fits in `expectations.longest_wait_for_expiry`. Elsewhere the rule is
not checked, with the reason and the key to set; its severity is normal, so that this leaves no run
incomplete: a partner whose server offers no short lifetime (Visma Connect's own environments) cannot
give one.

The token is got at the start of the run, and userinfo asked with it at once (the control: the
refusal later is the token's expiry, not a token that never worked); the scenario runs last and
waits only what is left of the token's lifetime since it came back (steps/early_start.py). The
wait counts from the answer the suite received, after the server issued the token, so it is never
shorter than the token's life on the server's own clock, whatever the difference between the clocks."""

import secrets
import time

import allure
import pytest
from pytest_bdd import given, parsers, then, when

from steps.authorization import redeem
from steps.early_start import LONG_WAIT, early_start_of, early_step, received_at, wait_until
from steps.id_tokens import openid_scope
from steps.userinfo import call_userinfo, userinfo_accepts
from suite.configuration.environment import Environment, display_path
from suite.verdict.checks import require, skip_for_missing_data
from suite.wire.authorization import authorize
from suite.wire.http import HttpClient
from suite.wire.scenario import ScenarioState
from suite.wire.server import discovery_of

MARGIN = 1  # second past the lifetime and leeway: expires_in is whole seconds, and a server may round
ROLE = "short_lived"
EARLY_TOKEN = parsers.parse(
    'an access token the "{role}" client got at the start of the run, and userinfo\'s answer to it then'
)


def _wait_needed(environment: Environment) -> int:
    """The longest the scenario waits for the declared client's token: its lifetime, the leeway, MARGIN."""
    lifetime = environment.clients[ROLE].access_token_lifetime or 0
    return lifetime + environment.expectations.expiry_leeway + MARGIN


def _not_checked(environment: Environment) -> bool:
    """The rule cannot run here: no short-lived client, or its token takes too long to expire."""
    client = environment.clients.get(ROLE)
    return client is None or _wait_needed(environment) > environment.expectations.longest_wait_for_expiry


def pytest_report_header(config):
    """Said before the run starts, where the wait is long: UINFO-08 runs last and waits for its token."""
    environment = getattr(config, "conformance_environment", None)
    rules = config.getoption("--rule", default=[])
    wanted = not rules or any(rule.startswith(r) for rule in ("UINFO-08", "UINFO-09") for r in rules)
    if environment is None or _not_checked(environment) or not wanted:
        return None
    needed = _wait_needed(environment)
    if needed < LONG_WAIT:
        return None
    return (
        f"UINFO-08 and -09 ask userinfo with access tokens got at the start of the run once they have expired: "
        f"they run last and wait up to {needed} s for them (clients.{ROLE}.access_token_lifetime and "
        "expectations.access_token_expiry_leeway)"
    )


@early_step(EARLY_TOKEN)
def _get_token(item, environment, role) -> ScenarioState | None:
    """Signs in with openid (userinfo's scope), redeems the code and asks userinfo with the token at once."""
    if role != ROLE or _not_checked(environment):
        return None  # the Given step says why the rule is not checked
    client = environment.clients[role]
    discovery = discovery_of(item.config, environment)
    state = ScenarioState(http=HttpClient(environment.http, environment.issuer), client=client)
    authorize(
        state,
        environment,
        discovery,
        overrides={"scope": openid_scope(client.scope), "nonce": "n-" + secrets.token_urlsafe(16)},
    )
    if not (state.authorization and state.outcome and state.outcome.callback_params.get("code")):
        return state  # no code: the control step finds no token and says so
    response = redeem(state, discovery, code_verifier=state.authorization.verifier)
    came_back = time.monotonic()
    if response.status_code != 200 or not state.tokens.get("access_token"):
        return state
    call_userinfo(state, discovery, state.tokens["access_token"])
    lifetime, answer = _lifetime_told(environment, state), state.userinfo
    if answer is not None and answer.status_code != 200 and time.monotonic() - came_back >= lifetime:
        pytest.skip(
            f"inconclusive: userinfo was asked with the access token {time.monotonic() - came_back:.1f} s after it "
            f"came back, past its lifetime of {lifetime} s (this machine was too busy), so its refusal "
            f"(HTTP {answer.status_code}) shows nothing about a token that has not expired: run again"
        )
    return state


def _lifetime_told(environment, state) -> int:
    """The token's lifetime as the server told it (expires_in); where it did not, as the environment declares
    (RFC 6749 section 5.1: without expires_in, the expiration time is provided "via other means")."""
    told = state.tokens.get("expires_in")
    declared: int = environment.clients[ROLE].access_token_lifetime
    return told if isinstance(told, int) and told > 0 else declared


@given(EARLY_TOKEN)
def early_token(request, state, environment, role):
    client = environment.clients.get(role)
    if client is None:
        skip_for_missing_data(
            f"clients.{role}",
            f"no '{role}' client is configured in {display_path(environment.path)}: an interactive app registered "
            "with access tokens that live a few seconds (clients.short_lived.access_token_lifetime), so that the "
            "run can wait for one to expire; the documented clients' tokens live 3600 s",
        )
    if _not_checked(environment):
        expectations = environment.expectations
        pytest.skip(
            f"not checked: the '{role}' client's access tokens would take up to {_wait_needed(environment)} s to "
            f"expire (clients.{role}.access_token_lifetime {client.access_token_lifetime} s, leeway "
            f"{expectations.expiry_leeway} s: expectations.access_token_expiry_leeway, by default "
            f"expectations.clock_skew), longer than the run may wait (expectations.longest_wait_for_expiry: "
            f"{expectations.longest_wait_for_expiry} s); raise that key, or register a shorter lifetime"
        )
    early = early_start_of(request).state
    assert early is not None, "no access token was got for this scenario at the start of the run"
    state.client, state.authorization, state.outcome = early.client, early.authorization, early.outcome
    state.token_responses, state.userinfo = early.token_responses, early.userinfo


@then("userinfo accepted the access token when it was fresh")
def userinfo_accepted_fresh(state):
    require(
        bool(state.tokens.get("access_token")),
        "the code of the sign-in at the start of the run was not redeemed for an access token, so userinfo "
        "could not be asked with one (RFC 6749 section 5.1)",
    )
    userinfo_accepts(state)


@when("the access token's lifetime has passed since it was issued")
def token_lifetime_passed(request, state, environment):
    lifetime, leeway = _lifetime_told(environment, state), environment.expectations.expiry_leeway
    longest = environment.expectations.longest_wait_for_expiry
    if lifetime + leeway + MARGIN > longest:
        pytest.skip(
            f"not checked: the server gave the access token expires_in {lifetime}, more than the "
            f"{environment.clients[ROLE].access_token_lifetime} s declared (clients.{ROLE}.access_token_lifetime): "
            f"with the leeway of {leeway} s it takes longer to expire than the run may wait "
            f"(expectations.longest_wait_for_expiry: {longest} s)"
        )
    came_back, rule = received_at(request), request.node.get_closest_marker("rule")
    waited = wait_until(
        request,
        came_back + lifetime + leeway + MARGIN,
        f"{rule.args[0] if rule else 'UINFO-08'}: waiting {{waited:.0f}} s more for the access token from the start "
        "of the run to expire "
        f"(expires_in {lifetime} s, leeway {leeway} s), then asking userinfo with it",
    )
    allure.attach(
        f"The access token came back {time.monotonic() - came_back:.1f} s ago, at the start of the run, with "
        f"expires_in {lifetime}; the server may accept it {leeway} s longer "
        f"(expectations.access_token_expiry_leeway, by default expectations.clock_skew), and {MARGIN} s more for "
        f"rounding. Waited here: {waited:.1f} s.",
        name="the access token's age",
        attachment_type=allure.attachment_type.TEXT,
    )
