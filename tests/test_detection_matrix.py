"""The suite catches every defect switch: the broken rules fail, all other rules still pass,
and the clean sandbox passes everything, scenario by scenario. The matrix is one suite run
(suite.defect_matrix), made once and shared by these tests, across pytest-xdist workers too."""

import fcntl
import pickle

import pytest

from sandbox.defects import DEFECTS
from suite.detection import CLEAN, run_matrix, scenarios_never_failing

pytestmark = pytest.mark.timeout(900)  # the whole matrix runs in the first test that needs it


@pytest.fixture(scope="session")
def matrix(tmp_path_factory):
    """{defect (CLEAN for none): its row}. The first worker to get here runs the matrix; the
    others wait on the lock and read its result."""
    shared = tmp_path_factory.getbasetemp().parent  # the same folder for every xdist worker
    with open(shared / "detection-matrix.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = shared / "detection-matrix.pickle"
        if not result.exists():
            result.write_bytes(pickle.dumps(run_matrix()))
        rows = pickle.loads(result.read_bytes())
    return {row.defect: row for row in rows}


def test_every_scenario_fails_under_some_switch(matrix):
    """Rule-level detection can hide an outline row whose check never fails; this looks row by row."""
    assert scenarios_never_failing(list(matrix.values())) == []


def test_clean_sandbox_passes_every_rule(matrix):
    row = matrix[CLEAN]
    assert row.exit_code == 0 and not row.failed and row.scenarios, row


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defect_is_caught_by_exactly_its_rules(defect, matrix):
    row = matrix[defect]
    assert row.exit_code == 1, f"the suite did not fail with {defect} on: {row}"
    assert not row.missed, f"{defect} breaks {row.missed}, but those rules still passed"
    assert not row.unexpected, f"{defect} should break only {row.expected}, yet {row.unexpected} failed too"
    assert not row.missing_scenarios, f"under {defect} these scenarios did not run: {sorted(row.missing_scenarios)}"


@pytest.mark.parametrize("rule", ["PKCE-07", "PKCE-08"])
def test_plain_pkce_accepted_scenario_fails_against_a_server_that_refuses_plain(tmp_path, rule):
    """The "accepted" scenarios of PKCE-07 and PKCE-08 only run where an environment declares plain
    accepted; the sandbox refuses plain, so declaring it accepted there must fail, and the switch
    that makes the sandbox accept plain must make it pass."""
    from run import SANDBOX_YAML, run_suite, write_environment
    path = write_environment(tmp_path, SANDBOX_YAML.replace("plain_pkce: refused", "plain_pkce: accepted"))
    refused = run_suite(f"--env={path}", f"--rule={rule}", "-q", "-rs")
    assert refused.returncode == 1 and "1 failed, 1 skipped" in refused.stdout.splitlines()[-1], refused.stdout
    accepted = run_suite(f"--env={path}", f"--rule={rule}", "--defect=pkce-plain-accepted", "-q")
    assert accepted.returncode == 0 and "1 passed, 1 skipped" in accepted.stdout.splitlines()[-1], accepted.stdout
