"""The suite catches every defect switch: the broken rules fail, all other rules still pass,
and the clean sandbox passes everything. Runs in parallel with pytest-xdist (`make test`)."""

import pytest

from sandbox.defects import DEFECTS
from suite.detection import run_suite


def test_every_scenario_fails_under_some_switch(tmp_path):
    """Rule-level detection can hide an outline row whose check never fails; this looks row by row."""
    from suite.detection import run_matrix, scenarios_never_failing
    assert scenarios_never_failing(run_matrix()) == []


def test_clean_sandbox_passes_every_rule(tmp_path):
    row = run_suite(None, tmp_path)
    assert row.exit_code == 0 and not row.failed, row


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defect_is_caught_by_exactly_its_rules(defect, tmp_path):
    row = run_suite(defect, tmp_path)
    assert row.exit_code == 1, f"the suite did not fail with {defect} on: {row}"
    assert not row.missed, f"{defect} breaks {row.missed}, but those rules still passed"
    assert not row.unexpected, f"{defect} should break only {row.expected}, yet {row.unexpected} failed too"


def test_plain_pkce_accepted_scenario_fails_against_a_server_that_refuses_plain(tmp_path):
    """PKCE-07's "accepted" scenario only runs where an environment declares plain accepted; the
    sandbox refuses plain, so declaring it accepted there must fail, and the switch that makes the
    sandbox accept plain must make it pass."""
    from run import SANDBOX_YAML, run_suite, write_environment
    path = write_environment(tmp_path, SANDBOX_YAML.replace("plain_pkce: refused", "plain_pkce: accepted"))
    refused = run_suite(f"--env={path}", "--rule=PKCE-07", "-q", "-rs")
    assert refused.returncode == 1 and "1 failed, 1 skipped" in refused.stdout.splitlines()[-1], refused.stdout
    accepted = run_suite(f"--env={path}", "--rule=PKCE-07", "--defect=pkce-plain-accepted", "-q")
    assert accepted.returncode == 0 and "1 passed, 1 skipped" in accepted.stdout.splitlines()[-1], accepted.stdout
