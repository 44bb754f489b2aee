"""suite/verdict/step_lookup.py replaces pytest-bdd's step lookup with one that asks pytest about fewer
fixture names: it must give every step the definitions pytest-bdd's own gives, and must notice
when pytest-bdd's function is no longer the one it was written against."""

import hashlib
import inspect
import json
import textwrap

from suite.verdict import step_lookup
from tests.run import run_suite

# pytest-bdd 9.0.1's find_fixturedefs_for_step, whose work suite.verdict.step_lookup does: a new
# pytest-bdd that changes it must be read again before these figures are.
ORIGINAL_SOURCE_SHA256 = "0de5589ea01cffaf42f8e56d7fdb38e5c1bc5f9c28d744a2f7461c70cc6504fa"


def test_patched_function_is_pytest_bdds_as_read():
    assert str(inspect.signature(step_lookup.ORIGINAL)) == step_lookup.PATCHED_SIGNATURE
    source = inspect.getsource(step_lookup.ORIGINAL)
    assert hashlib.sha256(source.encode()).hexdigest() == ORIGINAL_SOURCE_SHA256, source


CHECK = """
    import json, os
    import pytest
    from suite.verdict import step_lookup

    calls, differences = [], []

    @pytest.hookimpl(trylast=True)  # after suite.verdict.step_lookup put its lookup in place
    def pytest_configure(config):
        patched = step_lookup.SCENARIO.find_fixturedefs_for_step
        assert isinstance(patched, step_lookup.StepLookup)

        def compared(step, fixturemanager, node):
            ours = list(patched(step, fixturemanager, node))
            theirs = list(step_lookup.ORIGINAL(step, fixturemanager, node))
            calls.append(step.name)
            if ours != theirs:
                differences.append([step.name, repr(ours), repr(theirs)])
            return iter(ours)

        step_lookup.SCENARIO.find_fixturedefs_for_step = compared

    def pytest_sessionfinish(session):
        with open(os.environ["STEP_LOOKUP_CHECK"], "w") as out:
            json.dump({"calls": len(calls), "steps": len(set(calls)), "differences": differences}, out)
"""


def test_every_step_of_the_features_gets_pytest_bdds_own_answer(tmp_path):
    """The whole contract, each lookup made both ways: the same definitions in the same order."""
    (tmp_path / "step_lookup_check.py").write_text(textwrap.dedent(CHECK), encoding="utf-8")
    result_file = tmp_path / "lookups.json"
    result = run_suite(
        "-q",
        "-p",
        "step_lookup_check",
        "features",
        environ={"PYTHONPATH": str(tmp_path), "STEP_LOOKUP_CHECK": str(result_file)},
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    lookups = json.loads(result_file.read_text())
    assert lookups["differences"] == []
    assert lookups["calls"] > 300 and lookups["steps"] > 100  # every step of the contract was looked up
