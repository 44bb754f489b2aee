"""Each run compares itself with the previous run of the same environment (suite/reports/comparison.py):
a defect switched on between two runs shows up as newly failing, then, switched off, as fixed; on
the terminal's last lines, at the top of compliance.md and in changes.md for a CI job summary."""

import json

from run import SANDBOX_YAML, run_ci, write_environment

RULES = ("--rule=SVC-07", "--rule=DISC")  # the defect no-store-missing breaks SVC-07 alone among these


def test_a_defect_switched_on_is_newly_failing_then_fixed(tmp_path):
    reports = tmp_path / "reports"
    first = run_ci(f"--reports={reports}", *RULES, "-q")
    assert "no earlier run of sandbox to compare with" in first.stdout, first.stdout[-2000:] + first.stderr
    broken = run_ci(f"--reports={reports}", *RULES, "--defect=no-store-missing", "-q")
    assert broken.returncode == 1, broken.stdout[-2000:] + broken.stderr
    assert "since the previous run of sandbox (" in broken.stdout and "  newly failing: SVC-07" in broken.stdout
    assert json.loads((reports / "compliance.json").read_text())["changes"]["newly_failing"] == ["SVC-07"]
    assert "| newly failing | SVC-07 |" in (reports / "changes.md").read_text()
    again = run_ci(f"--reports={reports}", *RULES, "--defect=no-store-missing", "-q")
    assert "  still failing: SVC-07" in again.stdout
    fixed = run_ci(f"--reports={reports}", *RULES, "-q")
    assert "  fixed: SVC-07" in fixed.stdout and "newly failing" not in fixed.stdout
    markdown = (reports / "compliance.md").read_text().splitlines()
    assert markdown[4].startswith("Since the previous run of sandbox (") and "- fixed: SVC-07" in markdown[6]
    summary = (reports / "changes.md").read_text()
    assert summary.startswith("## sandbox: INCOMPLETE") and "| fixed | SVC-07 |" in summary
    assert len((reports / "run-history.jsonl").read_text().splitlines()) == 4


def test_a_rule_that_stops_applying_is_newly_skipped_and_other_environments_are_apart(tmp_path):
    """An environment that declares no tenants skips the tenant rules (SVC-11 among them)."""
    reports = tmp_path / "reports"
    reports.mkdir()
    earlier = {
        "environment": "sandbox",
        "finished": "2026-11-01T02:00:00Z",
        "verdict": "conformant",
        "sandbox_defects": [],
        "rules": {"SVC-11": "passed", "SVC-07": "passed"},
    }
    staging = earlier | {
        "environment": "staging",
        "finished": "2026-11-02T02:00:00Z",
        "rules": {"SVC-11": "failed", "SVC-07": "failed"},
    }
    (reports / "run-history.jsonl").write_text(json.dumps(earlier) + "\n" + json.dumps(staging) + "\n")
    environment = write_environment(tmp_path, SANDBOX_YAML + "capabilities:\n  tenants: false\n")
    result = run_ci(f"--reports={reports}", f"--env={environment}", "--rule=SVC-11", "--rule=SVC-07", "-q")
    assert "since the previous run of sandbox (2026-11-01T02:00:00Z, conformant):" in result.stdout, result.stdout
    assert "  newly skipped: SVC-11" in result.stdout and "fixed" not in result.stdout
