"""Scenarios that wait for something to expire, without the run standing still while it ages.

A code (CODE-04, steps/code_expiry.py) or an access token (UINFO-08, steps/access_token_expiry.py)
must age a declared lifetime before it is used: seconds on the sandbox, minutes on a real server,
and once per defect set of a detection matrix. So a scenario whose first step is one of the early
steps registered here (`early_step`) has that step's work done before the first scenario runs (in
a matrix run, for every defect set's scenario, so that one lifetime is waited in all), such
scenarios run last, and their waits sleep only what is left of the lifetime (`EarlyStart.received_at`).

Whatever the early work attached to the report (its exchanges, the login's outcome, browser
screenshots) is held and attached to the scenario's first step (`early_start_of`), and what went
wrong in it is raised there: the scenario reports its own sign-in, as one that signed in itself does.

With pytest-xdist a worker does not know which scenarios it will be sent, so each worker does the
early work of every such scenario it collected: the unused results simply expire. A run that
selects none (`-m "not slow"`, `--rule` of other rules) does none."""

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import allure
import pytest
from allure_commons import plugin_manager
from pytest_bdd import parsers
from pytest_bdd.scenario import scenario_wrapper_template_registry

from suite.wire.scenario import ScenarioState


@dataclass
class EarlyStart:
    state: ScenarioState | None = None  # what the early work left: the client, its requests and their outcome
    received_at: float = 0.0  # time.monotonic() when the early work's last answer came back
    attachments: list = field(default_factory=list)  # what it attached, for the scenario's report
    error: BaseException | None = None  # what went wrong in it, raised in the scenario


# (item, environment, step arguments) -> the early work's state, or None where the scenario will skip
Starter = Callable[..., ScenarioState | None]
_steps: list[tuple[parsers.parse, Starter]] = []
_started: dict[pytest.Item, EarlyStart] = {}


def early_step(step: parsers.parse) -> Callable[[Starter], Starter]:
    """Registers `starter` as the work done at the start of the run for scenarios with `step`."""

    def register(starter: Starter) -> Starter:
        _steps.append((step, starter))
        return starter

    return register


def _early(item) -> tuple[Starter, dict] | None:
    """The starter of the item's early step and the step's arguments, None when it has none."""
    function = getattr(item, "obj", None)
    template = scenario_wrapper_template_registry.get(function) if function is not None else None
    if template is None:
        return None
    for step in template.steps:
        for parser, starter in _steps:
            if parser.is_matching(step.name):
                return starter, parser.parse_arguments(step.name)
    return None


def environment_of(item):
    """The item's environment: in a detection-matrix run, the one of its defect set."""
    callspec = getattr(item, "callspec", None)
    if callspec and "environment" in callspec.params:
        return callspec.params["environment"]
    return item.config.conformance_environment


@pytest.hookimpl(trylast=True)  # after --rule and -m have deselected, and after pytest grouped the defect sets
def pytest_collection_modifyitems(items):
    """The scenarios with an early step run last: what they got ages while the others run."""
    early = {item for item in items if _early(item)}
    items[:] = [item for item in items if item not in early] + [item for item in items if item in early]


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """At the start of the run, before the first scenario: the early work of every such scenario."""
    if session.config.option.collectonly or session.testsfailed:
        return
    for item in session.items:
        found = _early(item)
        if found:
            starter, arguments = found
            _started[item] = _start(item, starter, arguments)


def _start(item, starter: Starter, arguments: dict) -> EarlyStart:
    early = EarlyStart()
    with _held_attachments() as early.attachments:
        try:
            early.state = starter(item, environment_of(item), **arguments)
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


def early_start_of(request) -> EarlyStart:
    """In the scenario's early step: what was done for it at the start of the run, its attachments
    attached to this step, and what went wrong in it raised here."""
    early = _started.get(request.node)
    assert early is not None, "nothing was done for this scenario at the start of the run"
    for attachment in early.attachments:
        allure.attach(**attachment)
    if early.error is not None:
        raise early.error
    return early


def received_at(request) -> float:
    """time.monotonic() when the early work of the running scenario got its last answer."""
    return _started[request.node].received_at


def wait_until(request, deadline: float, announcement: str) -> float:
    """Sleeps until `deadline` (time.monotonic()) and returns the seconds slept; a wait of LONG_WAIT
    or more is announced on the terminal first, so that the run does not look hung."""
    waited = max(0.0, deadline - time.monotonic())
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None and waited >= LONG_WAIT:  # no terminal in an xdist worker
        with capture.global_and_fixture_disabled():  # on the terminal now, not in the scenario's captured output
            reporter.write_line("\n" + announcement.format(waited=waited))
    time.sleep(waited)
    return waited


LONG_WAIT = 10  # seconds: a wait at least this long is announced
