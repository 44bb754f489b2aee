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


def _record(statuses, finished, blocked_by=None, **fields):
    rules = [
        {"rule_id": rule, "status": status, **({"blocked_by": blocked_by} if status == "blocked" else {})}
        for rule, status in statuses.items()
    ]
    failed = [r for r, s in statuses.items() if s == "failed"]
    blocked = [r for r, s in statuses.items() if s == "blocked"]
    counts = {s: sum(1 for v in statuses.values() if v == s) for s in ("passed", "failed", "blocked", "waived")}
    return {
        "environment": "nightly",
        "finished": finished,
        "verdict": "not conformant" if failed or blocked or fields.get("waiver_problems") else "conformant",
        "sandbox_defects": [],
        "rules": rules,
        "failed_rules": failed,
        "blocked_rules": blocked,
        "error_rules": [],
        "counts": {**counts, "warned": 0, "error": 0, "skipped": 0},
        **fields,
    }


def test_the_job_page_names_the_failed_rules_and_keeps_one_cause_one_failure(tmp_path):
    """A PKCE regression: PKCE-01 fails, CODE-01 and RT-01 are blocked by it. The verdict line names
    PKCE-01; "newly failing" holds PKCE-01 alone, "newly blocked" the others with their cause."""
    from suite.reports.comparison import compare_with_previous, render_summary

    clean = {"PKCE-01": "passed", "CODE-01": "passed", "RT-01": "passed", "SVC-07": "passed"}
    compare_with_previous(_record(clean, "2026-12-01T02:00:00Z"), tmp_path)
    broken = _record(
        clean | {"PKCE-01": "failed", "CODE-01": "blocked", "RT-01": "blocked"},
        "2026-12-02T02:00:00Z",
        blocked_by="PKCE-01",
    )
    broken["changes"] = compare_with_previous(broken, tmp_path)
    assert broken["changes"]["newly_failing"] == ["PKCE-01"]
    assert broken["changes"]["newly_blocked"] == ["CODE-01", "RT-01"]
    page = render_summary(broken, tmp_path)
    assert page.splitlines()[0] == "## nightly: NOT CONFORMANT — failed: PKCE-01 — 2 blocked by them"
    assert "| newly failing | PKCE-01 |" in page and "| newly blocked | CODE-01, RT-01 (by PKCE-01) |" in page


def test_waived_rules_show_as_waived_and_an_expired_waiver_is_said_in_words(tmp_path):
    from suite.reports.comparison import compare_with_previous, render_summary

    waiver = {
        "rule": "SVC-07",
        "scenario": None,
        "reason": "the gateway strips Cache-Control",
        "reference": "JIRA-1234",
        "accepted_by": "qa.lead",
        "expires": "2027-01-31",
    }
    compare_with_previous(_record({"SVC-07": "failed"}, "2026-12-01T02:00:00Z"), tmp_path)
    waived = _record({"SVC-07": "waived"}, "2026-12-02T02:00:00Z", waivers=[waiver])
    waived["changes"] = compare_with_previous(waived, tmp_path)
    page = render_summary(waived, tmp_path)
    assert "| waived (failing, accepted) | SVC-07 |" in page and "| still failing | - |" in page
    assert "Waived: SVC-07 fails, accepted by qa.lead until 2027-01-31" in page
    problem = (
        "waiver for SVC-07 expired on 2026-11-30 (ref. JIRA-1234): the failure counts again. Fix it, or "
        "renew the waiver (a new expires date and accepted_by) in env.yaml"
    )
    expired = _record({"SVC-07": "failed"}, "2026-12-03T02:00:00Z", waiver_problems=[problem])
    expired["changes"] = compare_with_previous(expired, tmp_path)
    page = render_summary(expired, tmp_path)
    assert page.splitlines()[0] == "## nightly: NOT CONFORMANT — failed: SVC-07 — 1 waiver problem"
    assert f"**Waiver problem:** {problem}" in page


def test_the_job_page_shows_each_rules_history_and_the_day_it_changed(tmp_path):
    from suite.reports.comparison import compare_with_previous, render_summary

    days = [f"2026-12-0{day}T02:00:00Z" for day in range(1, 6)]
    statuses = ["passed", "passed", "failed", "failed", "failed"]
    for day, status in zip(days, statuses, strict=True):
        record = _record({"PKCE-01": status, "SVC-01": "passed"}, day)
        record["changes"] = compare_with_previous(record, tmp_path)
    page = render_summary(record, tmp_path)
    assert "### Rule history: the last 5 runs of this environment" in page
    row = next(line for line in page.splitlines() if line.startswith("| PKCE-01 |"))
    assert row == "| PKCE-01 | pass | pass | **FAIL** | **FAIL** | **FAIL** | failed since 2026-12-03 |"
    assert "| SVC-01 |" not in page  # a rule that passed in every run shown is not listed


def test_an_interrupted_run_is_passed_over_and_a_rule_that_was_only_blocked_is_not_fixed(tmp_path):
    """A nightly run, one Ctrl-C'd after its first scenario, then the next night's: the next night
    compares with the first (PKCE-01 still failing, not "newly"), says it passed over the interrupted
    one, and AT-01, blocked by PKCE-01 and passing in the interrupted run, is never "fixed"."""
    from suite.reports.comparison import change_lines, compare_with_previous, render_summary
    from suite.reports.merge_records import merge

    night = {"PKCE-01": "failed", "AT-01": "blocked", "SVC-01": "passed"}
    first = _record(night, "2026-12-01T02:00:00Z", blocked_by="PKCE-01")
    first["changes"] = compare_with_previous(first, tmp_path)
    interrupted = _record({"AT-01": "passed"}, "2026-12-02T02:00:00Z")
    interrupted["changes"] = compare_with_previous(interrupted, tmp_path, interrupted=True)
    assert interrupted["changes"]["fixed"] == [] and interrupted["changes"]["unblocked"] == ["AT-01"]
    (tmp_path / "compliance.json").write_text(json.dumps(interrupted))
    assert "| nightly | conformant | 0 |" in merge([tmp_path / "compliance.json"])[0]
    assert merge([tmp_path / "compliance.json"])[0].splitlines()[-1].endswith("| - | - | - |")
    next_night = _record(night, "2026-12-03T02:00:00Z", blocked_by="PKCE-01")
    next_night["changes"] = changes = compare_with_previous(next_night, tmp_path)
    assert changes["compared_with"] == {"finished": "2026-12-01T02:00:00Z", "verdict": "not conformant"}
    assert changes["newly_failing"] == [] and changes["newly_blocked"] == [] and changes["fixed"] == []
    assert changes["still_failing"] == ["PKCE-01"] and changes["still_blocked"] == ["AT-01"]
    said = "passed over 1 incomplete run (2026-12-02T02:00:00Z, interrupted)"
    assert said in change_lines(next_night)[0] and said in render_summary(next_night, tmp_path)


def test_a_run_of_other_rules_or_without_a_verdict_is_no_baseline(tmp_path):
    """A --rule run between two full nightly runs is another job's; an inconclusive run is no verdict;
    a history written before runs said their selection: a run that reported fewer rules is incomplete."""
    from suite.reports.comparison import HISTORY, compare_with_previous

    night = {"PKCE-01": "failed", "SVC-01": "passed"}
    compare_with_previous(_record(night, "2026-12-01T02:00:00Z"), tmp_path)
    compare_with_previous(_record({"SVC-01": "failed"}, "2026-12-02T02:00:00Z"), tmp_path, selection=["PKCE-01"])
    inconclusive = _record({"SVC-01": "error"}, "2026-12-03T02:00:00Z") | {
        "verdict": "inconclusive: environment problem"
    }
    compare_with_previous(inconclusive, tmp_path)
    changes = compare_with_previous(_record(night, "2026-12-04T02:00:00Z"), tmp_path)
    assert changes["compared_with"]["finished"] == "2026-12-01T02:00:00Z" and changes["still_failing"] == ["PKCE-01"]
    assert [run["why"] for run in changes["passed_over"]] == ["no verdict"]
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    old = {"environment": "nightly", "verdict": "not conformant", "sandbox_defects": [], "blocked_by": {}}
    lines = [old | {"finished": "2026-12-01T02:00:00Z", "rules": night}, old | {"finished": "2026-12-02T02:00:00Z"}]
    lines[1] |= {"verdict": "incomplete: 1 blocker or critical rules did not run", "rules": {"SVC-01": "passed"}}
    (legacy / HISTORY).write_text("".join(json.dumps(line) + "\n" for line in lines))
    changes = compare_with_previous(_record(night, "2026-12-04T02:00:00Z"), legacy)
    assert changes["compared_with"]["finished"] == "2026-12-01T02:00:00Z"
    assert [run["why"] for run in changes["passed_over"]] == ["incomplete"]


def _with_reasons(record, reasons):
    """`record` with each rule's one scenario, skipped for the reason given (a rule not named: its own status)."""
    for rule in record["rules"]:
        rule["scenarios"] = [{"status": rule["status"], "reason": reasons.get(rule["rule_id"], "")}]
    return record


UNCHECKED_REASON = "could not be checked for this application: the service's run(s) failed"


def test_a_rule_that_could_not_be_checked_then_passes_is_a_change_not_a_skip(tmp_path):
    """A service's run failed (APPC-26, APPC-28 could not be checked; APPC-01 does not apply to a service),
    then it worked: the second run lists both as checked again, never "no rule changed" (the history once
    stored could not be checked as skipped, the same as not applicable)."""
    from suite.reports.comparison import change_lines, compare_with_previous, render_summary, runs_of

    statuses = {"APPC-01": "skipped", "APPC-11": "passed", "APPC-26": "skipped", "APPC-28": "skipped"}
    reasons = {"APPC-01": "applies to interactive applications only", "APPC-26": UNCHECKED_REASON}
    reasons["APPC-28"] = UNCHECKED_REASON
    failed_run = _with_reasons(_record(statuses, "2026-12-01T02:00:00Z"), reasons)
    failed_run["changes"] = compare_with_previous(failed_run, tmp_path)
    assert runs_of(tmp_path / "run-history.jsonl", "nightly")[0]["rules"]["APPC-26"] == "unchecked"
    worked = _with_reasons(
        _record(statuses | {"APPC-26": "passed", "APPC-28": "passed"}, "2026-12-02T02:00:00Z"), reasons
    )
    worked["changes"] = compare_with_previous(worked, tmp_path)
    assert worked["changes"]["checked_again"] == ["APPC-26", "APPC-28"] and worked["changes"]["fixed"] == []
    assert "  checked again (passes): APPC-26, APPC-28" in change_lines(worked)
    assert "no rule changed" not in "\n".join(change_lines(worked))
    assert "| checked again (passes) | APPC-26, APPC-28 |" in render_summary(worked, tmp_path)
    again = _with_reasons(_record(statuses, "2026-12-03T02:00:00Z"), reasons)
    again["changes"] = compare_with_previous(again, tmp_path)
    assert again["changes"]["newly_unchecked"] == ["APPC-26", "APPC-28"] and again["changes"]["newly_skipped"] == []
    row = next(line for line in render_summary(again, tmp_path).splitlines() if line.startswith("| APPC-26 |"))
    assert row.startswith("| APPC-26 | could not be checked | pass | could not be checked |")


def test_a_history_line_from_before_outcomes_is_read_as_it_was_written(tmp_path):
    """An older line (no "outcomes") stored a rule that could not be checked as skipped: it is still read, and
    the same rule still unchecked is no change against it."""
    from suite.reports.comparison import compare_with_previous

    old = {"environment": "nightly", "finished": "2026-12-01T02:00:00Z", "verdict": "incomplete: 1 rule"}
    old |= {"sandbox_defects": [], "rules": {"APPC-26": "skipped", "APPC-11": "passed"}, "blocked_by": {}}
    (tmp_path / "run-history.jsonl").write_text(json.dumps(old | {"selection": [], "interrupted": False}) + "\n")
    now = _with_reasons(
        _record({"APPC-26": "skipped", "APPC-11": "passed"}, "2026-12-02T02:00:00Z"), {"APPC-26": UNCHECKED_REASON}
    )
    changes = compare_with_previous(now, tmp_path)
    assert changes["compared_with"]["finished"] == "2026-12-01T02:00:00Z"
    assert changes["newly_unchecked"] == [] and changes["newly_skipped"] == [] and changes["still_unchecked"] == []
