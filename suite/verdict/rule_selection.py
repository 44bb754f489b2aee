"""A pytest plugin both sides of the suite load (conftest.py and appside/conftest.py list it in
pytest_plugins): Gherkin rule tags become markers, and --rule keeps only the chosen rules."""

from collections.abc import Callable

import pytest

from suite.configuration.rules import METADATA_PREFIXES


def pytest_bdd_apply_tag(tag: str, function: Callable) -> bool | None:
    """@rule:ID becomes the `rule` marker (for --rule); the other metadata tags (@severity:, @level:,
    @doc:, @rfc:) are read from the scenario by suite.reports.results and suite.reports.allure_labels,
    not made markers."""
    if tag.startswith("rule:"):
        pytest.mark.rule(tag.removeprefix("rule:"))(function)
        return True
    return True if tag.startswith(METADATA_PREFIXES) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--rule ID keeps that rule; --rule SVC (or SVC-) keeps every SVC-nn rule."""
    wanted = [r.upper() for r in config.getoption("--rule")]
    if not wanted:
        return
    selected: list = []
    deselected: list = []
    for item in items:
        marker = item.get_closest_marker("rule")
        rule_id = marker.args[0] if marker else ""
        chosen = any(rule_id == w or rule_id.startswith(w.rstrip("-") + "-") for w in wanted)
        (selected if chosen else deselected).append(item)
    config.hook.pytest_deselected(items=deselected)
    items[:] = selected
