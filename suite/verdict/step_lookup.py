"""pytest-bdd's step lookup, made cheap without changing which definition a step gets.

pytest-bdd 9.0.1 finds a step's definition (`pytest_bdd.scenario.find_fixturedefs_for_step`) by
asking pytest, for every fixture name registered (every step definition and every fixture, and
each `target_fixture` a scenario set), which definitions the scenario can see, and matching every
step definition's parser against the step's text: 15-27% of a run's time in profiles, for each of
the run's steps, and again for each switch of the detection matrix.

Only names with a step definition matching the step can contribute, and which names those are
depends only on the step (its type and text) and on the step definitions registered: pytest-bdd
registers them while modules and plugins are collected, before any scenario runs. So the names
are worked out once per step text (`_candidates`), in the registry's order, and the lookup then
asks pytest about those names only, for the scenario's own node, applying the same tests in the
same order as the original: the same definitions come back in the same order, overrides and
visibility included. The names are worked out again whenever a step definition may have been
registered since (a new step function, or a new fixture name with a step definition under it), so
a definition registered late under a new name is not missed.

The patch replaces one module attribute, and only while a run is configured;
tests/test_step_lookup.py fails if pytest-bdd's function changes its signature or if the lookup
gives any step of the features another answer than pytest-bdd's own."""

import importlib
import inspect

import pytest
from pytest_bdd.compat import get_fixture_names, getfixturedefs
from pytest_bdd.steps import step_function_context_registry

SCENARIO = importlib.import_module("pytest_bdd.scenario")  # `pytest_bdd.scenario` is also a function's name
ORIGINAL = SCENARIO.find_fixturedefs_for_step


class StepLookup:
    def __init__(self) -> None:
        self._candidates: dict[tuple, list[str]] = {}
        self._step_names: list | None = None  # [(name, its step definitions' contexts)], registry order
        self._registry_size: tuple[int, int, int] | None = None
        self._names: set[str] = set()  # the fixture names the candidates were worked out from

    def __call__(self, step, fixturemanager, node):
        for fixturename in self._candidates_for(step, fixturemanager):
            for fixturedef in getfixturedefs(fixturemanager, fixturename, node) or []:
                if _matches(fixturedef, step):
                    yield fixturedef

    def _candidates_for(self, step, fixturemanager) -> list[str]:
        size = (
            len(fixturemanager._arg2node2fixturedefs),
            len(fixturemanager._arg2nodeid2fixturedefs),
            len(step_function_context_registry),
        )
        if size != self._registry_size:
            self._take_in_new_names(
                fixturemanager, steps_changed=self._registry_size is None or size[2] != self._registry_size[2]
            )
            self._registry_size = size
        key = (step.type, step.name)
        names = self._candidates.get(key)
        if names is None:
            if self._step_names is None:
                self._step_names = [
                    (name, contexts)
                    for name in get_fixture_names(fixturemanager=fixturemanager)
                    if (contexts := _step_contexts(fixturemanager, name))
                ]
            names = self._candidates[key] = [
                name for name, contexts in self._step_names if any(_fits(context, step) for context in contexts)
            ]
        return names

    def _take_in_new_names(self, fixturemanager, steps_changed: bool) -> None:
        """The candidates are worked out again when a step definition may have come: a new step
        function, or a new name with a step definition under it. A scenario's `target_fixture`,
        new the first time it is set, is no step definition and keeps them."""
        names = set(get_fixture_names(fixturemanager=fixturemanager))
        if steps_changed or any(_step_contexts(fixturemanager, name) for name in names - self._names):
            self._candidates, self._step_names = {}, None
        self._names = names


def _step_contexts(fixturemanager, name: str) -> list:
    """The step definitions registered under `name`, whichever node can see them."""
    return [
        context
        for registry in (fixturemanager._arg2node2fixturedefs, fixturemanager._arg2nodeid2fixturedefs)
        for fixturedefs in registry.get(name, {}).values()
        for fixturedef in fixturedefs
        if (context := step_function_context_registry.get(fixturedef.func)) is not None
    ]


def _matches(fixturedef, step) -> bool:
    """pytest-bdd's own test, as find_fixturedefs_for_step applies it."""
    context = step_function_context_registry.get(fixturedef.func)
    return context is not None and _fits(context, step)


def _fits(context, step) -> bool:
    return (context.type is None or context.type == step.type) and bool(context.parser.is_matching(step.name))


PATCHED_SIGNATURE = "(step: 'Step', fixturemanager: 'FixtureManager', node: 'Node') -> 'Iterable[FixtureDef[object]]'"


def pytest_configure(config: pytest.Config) -> None:
    if str(inspect.signature(ORIGINAL)) != PATCHED_SIGNATURE:
        return  # another pytest-bdd: its own lookup (tests/test_step_lookup.py says so)
    # pytest-bdd's own lookup, replaced in its module (mypy does not see the name pytest-bdd imports there)
    SCENARIO.find_fixturedefs_for_step = StepLookup()  # type: ignore[attr-defined]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    SCENARIO.find_fixturedefs_for_step = ORIGINAL  # type: ignore[attr-defined]  # put back, as above
