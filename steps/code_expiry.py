"""CODE-04, an authorization code redeemed after its lifetime is refused, without the run standing
still while the code ages.

The lifetime is seconds on the sandbox and minutes on a real server
(`expectations.authorization_code_lifetime`), and signing in and then sleeping it out made CODE-04
most of a run's time, once per defect set of a detection matrix. So the step "Given a code the user
authorized ... at the start of the run" gets its code before the first scenario runs, the scenario
runs last, and its wait sleeps only what is left of the lifetime since the code came back
(steps/early_start.py does this for every such scenario). The rule is as strict as before: the code
is redeemed no sooner than the declared lifetime and MARGIN after the suite received it, and the
sandbox keeps its lifetime.

While the code ages, the other scenarios sign in and redeem codes of the same client. A server
may keep one code per client and cancel the older ones when it issues a newer one (no document
forbids it): it would refuse the aged code without its expiry being tested. So a control step
checks that a code survives what the others do to it, and the rule is inconclusive, not passed,
when it does not."""

import time

import allure
import pytest
from pytest_bdd import given, parsers, when

from steps.authorization import code_of, redeem
from steps.clients import client_of
from steps.early_start import LONG_WAIT, early_start_of, early_step, received_at, wait_until
from suite.wire.authorization import authorize
from suite.wire.http import HttpClient
from suite.wire.scenario import ScenarioState
from suite.wire.server import discovery_of
from suite.wire.token_requests import error_of

MARGIN = 1  # second past the declared lifetime, for clocks and the time the callback took
EARLY_CODE = parsers.parse('a code the user authorized with PKCE for the "{role}" client at the start of the run')


CODE_04_ROLE = "spa"  # the client of CODE-04's scenario (features/authorization_codes.feature)
# RFC 6749 section 4.1.2: "A maximum authorization code lifetime of 10 minutes is RECOMMENDED"
RECOMMENDED_MAXIMUM = 600


def pytest_report_header(config):
    """Said before the run starts: CODE-04 waits the declared lifetime, minutes on a real server (only
    where it runs: its client is configured and --rule selects it), and a declared lifetime above the
    10 minutes RFC 6749 recommends at most is a warning, perhaps a typo, that the run will wait that long."""
    environment = getattr(config, "conformance_environment", None)
    if environment is None:
        return None
    lifetime = environment.expectations.authorization_code_lifetime
    rules = config.getoption("--rule", default=[])
    runs = CODE_04_ROLE in environment.clients and (not rules or any("CODE-04".startswith(rule) for rule in rules))
    lines = []
    if runs and lifetime >= LONG_WAIT:
        lines.append(
            f"CODE-04 redeems a code got at the start of the run once its declared lifetime has passed: it runs "
            f"last and waits up to {lifetime + MARGIN} s for it (expectations.authorization_code_lifetime: {lifetime})"
        )
    if lifetime > RECOMMENDED_MAXIMUM:
        lines.append(
            f"WARNING: expectations.authorization_code_lifetime: {lifetime} s is above the 10 minutes RFC 6749 "
            'section 4.1.2 recommends at most ("A maximum authorization code lifetime of 10 minutes is '
            'RECOMMENDED")'
            + (f": this run waits {_minutes(lifetime + MARGIN)} for CODE-04" if runs else "")
            + ". Check that it is the server's lifetime (in seconds)"
        )
    return lines or None


def _minutes(seconds: int) -> str:
    return f"{seconds} s ({seconds / 60:.0f} minutes)"


@early_step(EARLY_CODE)
def _sign_in(item, environment, role) -> ScenarioState | None:
    client = environment.clients.get(role)
    if client is None:
        return None  # the step skips the scenario, as "the client of the environment" does
    state = ScenarioState(http=HttpClient(environment.http, environment.issuer), client=client)
    authorize(state, environment, discovery_of(item.config, environment))
    return state


@given(EARLY_CODE)
def early_code(request, state, environment, role):
    state.client = client_of(environment, role)
    early = early_start_of(request).state
    assert early is not None, "no code was requested for this scenario at the start of the run"
    state.authorization, state.outcome = early.authorization, early.outcome
    # and no code_deadline: this code is meant to be redeemed late
    state.http.authorization = state.authorization  # what the redemption's reproduction replays


@given("a code of the client is still redeemed after the client got and redeemed a newer one")
def code_outlives_newer_ones(state, environment, discovery):
    """CODE-04's control, run while the code from the start of the run ages: the client gets an
    earlier and a newer code, redeems the newer one twice (the second time it is refused, as in
    CODE-01), then the earlier one, which must still be redeemed. The newer codes' outcome is not
    this rule's to judge (CODE-01 and PKCE-01 judge it); they are what happens to a code here."""
    earlier, newer = (
        ScenarioState(http=HttpClient(environment.http, environment.issuer), client=state.client) for _ in range(2)
    )
    authorize(earlier, environment, discovery)
    code_of(earlier)
    authorize(newer, environment, discovery)
    fresh = redeem(newer, discovery, code_verifier=newer.authorization.verifier)
    redeem(newer, discovery, code_verifier=newer.authorization.verifier)
    # redeemed too late, the earlier code's refusal is no verdict at all (steps.authorization.redeem)
    response = redeem(earlier, discovery, code_verifier=earlier.authorization.verifier)
    if response.status_code == 200:
        return
    lifetime = environment.expectations.authorization_code_lifetime
    if fresh.status_code != 200:  # PKCE-01 or the token endpoint's own rules fail for it
        pytest.skip(
            f"inconclusive: the server refuses this client's codes even fresh: a code redeemed at once was "
            f"refused ({_refusal(fresh)}), and so was one within its declared lifetime of {lifetime} s "
            f"({_refusal(response)}); so its refusal of the code from the start of the run could not show "
            "that the code had expired"
        )
    pytest.skip(
        f"inconclusive: the server refused a code of the client, unused and within its declared lifetime "
        f"({lifetime} s), once the client had got and redeemed a newer one ({_refusal(response)}): it seems "
        "to keep one code per client, so its refusal of the code from the start of the run could not show "
        "that the code had expired"
    )


def _refusal(response) -> str:
    return f"{error_of(response) or 'no error code'}, HTTP {response.status_code}"


@when("the environment's declared authorization code lifetime has passed since the code was issued")
def code_lifetime_passed(request, state, environment):
    code_of(state)  # a code must have been issued, or there is nothing to let expire
    lifetime = environment.expectations.authorization_code_lifetime
    came_back = received_at(request)
    waited = wait_until(
        request,
        came_back + lifetime + MARGIN,
        f"CODE-04: waiting {{waited:.0f}} s more for the code from the start of the run to pass its declared "
        f"lifetime of {lifetime} s (expectations.authorization_code_lifetime), then redeeming it",
    )
    allure.attach(
        f"The code came back {time.monotonic() - came_back:.1f} s ago, at the start of the run; the "
        f"declared lifetime is {lifetime} s (expectations.authorization_code_lifetime), and {MARGIN} s "
        f"more for clocks. Waited here: {waited:.1f} s.",
        name="the code's age",
        attachment_type=allure.attachment_type.TEXT,
    )
