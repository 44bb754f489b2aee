"""CODE-04, an authorization code redeemed after its lifetime is refused, without the run standing
still while the code ages.

The lifetime is seconds on the sandbox and minutes on a real server
(`expectations.authorization_code_lifetime`), and signing in and then sleeping it out made CODE-04
most of a run's time, once per defect set of a detection matrix. So a scenario that starts with
"Given a code the user authorized ... at the start of the run" gets its code before the first
scenario runs (in a matrix run, every defect set's code, so that one lifetime is waited in all),
such scenarios run last, and their wait sleeps only what is left of the lifetime since the code
came back. The rule is as strict as before: the code is redeemed no sooner than the declared
lifetime and MARGIN after the suite received it, and the sandbox keeps its lifetime.

Whatever the early sign-in attached to the report (its exchanges, the login's outcome, browser
screenshots) is held and attached to the scenario's first step, and what went wrong in it is
raised there: the scenario reports its own sign-in, as one that signed in itself does.

With pytest-xdist a worker does not know which scenarios it will be sent, so each worker gets a
code for every such scenario it collected: one sign-in per such scenario and worker, the unused
ones simply expire. A run that selects none (`-m "not slow"`, `--rule` of other rules) signs in
for none.

While the code ages, the other scenarios sign in and redeem codes of the same client. A server
may keep one code per client and cancel the older ones when it issues a newer one (no document
forbids it): it would refuse the aged code without its expiry being tested. So a control step
checks that a code survives what the others do to it, and the rule is inconclusive, not passed,
when it does not."""

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import allure
import pytest
from allure_commons import plugin_manager
from pytest_bdd import given, parsers, when
from pytest_bdd.scenario import scenario_wrapper_template_registry

from steps.authorization import code_of, redeem
from steps.clients import client_of
from suite.wire.authorization import authorize
from suite.wire.http import HttpClient
from suite.wire.scenario import ScenarioState
from suite.wire.server import discovery_of
from suite.wire.token_requests import error_of

MARGIN = 1  # second past the declared lifetime, for clocks and the time the callback took
EARLY_CODE = parsers.parse('a code the user authorized with PKCE for the "{role}" client at the start of the run')


@dataclass
class EarlyCode:
    state: ScenarioState | None = None  # the client, authorization request and outcome
    received_at: float = 0.0  # time.monotonic() when the callback came back
    attachments: list = field(default_factory=list)  # what the sign-in attached, for the scenario's report
    error: BaseException | None = None  # what went wrong in the sign-in, raised in the scenario


_early_codes: dict[pytest.Item, EarlyCode] = {}


def _early_code_role(item) -> str | None:
    """The client role of the item's early-code step, None when it has none."""
    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    if template is None:
        return None
    for step in template.steps:
        if EARLY_CODE.is_matching(step.name):
            return EARLY_CODE.parse_arguments(step.name)["role"]
    return None


LONG_WAIT = 10  # seconds: a wait at least this long is announced, so that the run does not look hung


def pytest_report_header(config):
    """Said before the run starts: CODE-04 waits the declared lifetime, minutes on a real server."""
    environment = getattr(config, "conformance_environment", None)
    rules = config.getoption("--rule", default=[])
    if environment is None or (rules and not any("CODE-04".startswith(rule) for rule in rules)):
        return None
    lifetime = environment.expectations.authorization_code_lifetime
    if lifetime < LONG_WAIT:
        return None
    return (
        f"CODE-04 redeems a code got at the start of the run once its declared lifetime has passed: it runs last "
        f"and waits up to {lifetime + MARGIN} s for it (expectations.authorization_code_lifetime: {lifetime})"
    )


@pytest.hookimpl(trylast=True)  # after --rule and -m have deselected, and after pytest grouped the defect sets
def pytest_collection_modifyitems(items):
    """The scenarios with an early code run last: their codes age while the others run."""
    early = {item for item in items if _early_code_role(item)}
    items[:] = [item for item in items if item not in early] + [item for item in items if item in early]


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """At the start of the run, before the first scenario: the code of every early-code scenario."""
    if session.config.option.collectonly or session.testsfailed:
        return
    for item in session.items:
        role = _early_code_role(item)
        if role:
            _early_codes[item] = _sign_in(item, role)


def _sign_in(item, role) -> EarlyCode:
    # In a detection-matrix run the item is parametrized with its defect set's environment.
    callspec = getattr(item, "callspec", None)
    environment = (
        callspec.params["environment"]
        if callspec and "environment" in callspec.params
        else item.config.conformance_environment
    )
    early = EarlyCode()
    client = environment.clients.get(role)
    if client is None:
        return early  # the step skips the scenario, as "the client of the environment" does
    early.state = ScenarioState(http=HttpClient(environment.http, environment.issuer), client=client)
    with _held_attachments() as early.attachments:
        try:
            authorize(early.state, environment, discovery_of(item.config, environment))
        except (Exception, pytest.skip.Exception, pytest.fail.Exception) as error:
            early.error = error
    early.received_at = time.monotonic()
    return early


@contextmanager
def _held_attachments():
    """Attachments made outside any scenario (Allure has none open to take them: it would fail),
    kept to be attached later to the scenario they belong to."""
    held = []
    hooks = plugin_manager.hook
    attach_data, attach_file = hooks.attach_data, hooks.attach_file
    hooks.attach_data = lambda body, name, attachment_type, extension: held.append(
        dict(body=body, name=name, attachment_type=attachment_type, extension=extension)
    )
    hooks.attach_file = lambda source, name, attachment_type, extension: held.append(
        dict(body=Path(source).read_bytes(), name=name, attachment_type=attachment_type, extension=extension)
    )
    try:
        yield held
    finally:
        hooks.attach_data, hooks.attach_file = attach_data, attach_file


@given(EARLY_CODE)
def early_code(request, state, environment, role):
    state.client = client_of(environment, role)
    early = _early_codes.get(request.node)
    assert early is not None, "no code was requested for this scenario at the start of the run"
    for attachment in early.attachments:
        allure.attach(**attachment)
    if early.error is not None:
        raise early.error
    state.authorization, state.outcome = early.state.authorization, early.state.outcome
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
    received_at = _early_codes[request.node].received_at
    waited = max(0.0, received_at + lifetime + MARGIN - time.monotonic())
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None and waited >= LONG_WAIT:  # no terminal in an xdist worker
        with capture.global_and_fixture_disabled():  # on the terminal now, not in the scenario's captured output
            reporter.write_line(
                f"\nCODE-04: waiting {waited:.0f} s more for the code from the start of the run to pass its "
                f"declared lifetime of {lifetime} s (expectations.authorization_code_lifetime), then redeeming it"
            )
    time.sleep(waited)
    allure.attach(
        f"The code came back {time.monotonic() - received_at:.1f} s ago, at the start of the run; the "
        f"declared lifetime is {lifetime} s (expectations.authorization_code_lifetime), and {MARGIN} s "
        f"more for clocks. Waited here: {waited:.1f} s.",
        name="the code's age",
        attachment_type=allure.attachment_type.TEXT,
    )
