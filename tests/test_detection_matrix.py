"""The suite catches every defect switch: the broken rules fail, all other rules still pass,
and the clean sandbox passes everything, scenario by scenario. The matrix (suite.matrix.detection)
runs in chunks of switches, one suite run each, judged against one clean run: each made once per
test run and shared by the tests that need it, across pytest-xdist workers too (tests/once_per_run.py).
A chunk's tests are one xdist group (`make test` runs with --dist loadgroup), so the worker that runs
the chunk judges its switches, and the chunks spread over the workers as other tests do."""

import json

import pytest
from once_per_run import once_per_run

from sandbox.defects import DEFECTS
from suite.configuration.rules import warning_level_rules
from suite.matrix.detection import CLEAN, Row, run_matrix, scenarios_never_failing, unproven_rules

# about a dozen switches a chunk: a chunk's suite run costs a sandbox and a pytest start (a CPU-second)
# besides its switches' scenarios (1.5 CPU-seconds each: 21 for 14), and a worker can take another in turn
CHUNKS = 9
CHUNK_OF = {defect: i % CHUNKS for i, defect in enumerate(sorted(DEFECTS))}


def _clean(tmp_path_factory) -> Row:
    """The clean sandbox's row, once per test run."""
    return once_per_run(tmp_path_factory, "detection-matrix-clean", _clean_judged_twice)


def _clean_judged_twice() -> Row:
    """A clean sandbox with a stray result is run again before it is blamed (see below)."""
    clean = run_matrix([])[0]
    return clean if clean.caught else run_matrix([])[0]


def _chunk(tmp_path_factory, index: int) -> dict[str, Row]:
    """{switch: its row} for the switches of chunk `index`, once per test run."""
    names = sorted(defect for defect, chunk in CHUNK_OF.items() if chunk == index)
    rows = once_per_run(
        tmp_path_factory,
        f"detection-matrix-{index}",
        lambda: _chunk_judging_each_stray_failure_twice(names, lambda: _clean(tmp_path_factory)),
    )
    return {row.defect: row for row in rows}


def _chunk_judging_each_stray_failure_twice(names: list[str], clean) -> list[Row]:
    """On a loaded 2-core machine (make test runs this beside the application matrix) a code can
    now and then be redeemed past its deadline (the sandbox's 2 s lifetime less a second): its
    refusal is then no verdict (steps.authorization.redeem), and the rule under test an error. A
    switch with a stray result is run again, alone, before it is blamed; a switch that really
    breaks another rule breaks it again."""
    rows = run_matrix(names, jobs=1, clean=clean)[1:]
    again = [row.defect for row in rows if not row.caught]
    if again:
        rerun = {row.defect: row for row in run_matrix(again, jobs=1, clean=clean)[1:]}
        rows = [rerun.get(row.defect, row) for row in rows]
    return rows


@pytest.fixture
def matrix(tmp_path_factory) -> dict[str, Row]:
    """{defect (CLEAN for none): its row}, the whole matrix: every chunk is made by now, or being
    made by another worker (these tests run last, tests/conftest.py)."""
    rows = {CLEAN: _clean(tmp_path_factory)}
    for index in range(CHUNKS):
        rows.update(_chunk(tmp_path_factory, index))
    return rows


@pytest.mark.last
@pytest.mark.timeout(900)  # a chunk left to make, or another worker's to wait for
def test_every_scenario_fails_under_some_switch(matrix):
    """Rule-level detection can hide an outline row whose check never fails; this looks row by row."""
    assert scenarios_never_failing(list(matrix.values())) == []


@pytest.mark.last
@pytest.mark.timeout(900)
def test_every_rule_is_seen_failing_on_its_own_under_a_switch_that_is_caught(matrix):
    """A rule only ever blocked, or failing only under switches the matrix does not catch cleanly,
    has no proof that its own check can fail."""
    assert unproven_rules(list(matrix.values())) == []


@pytest.mark.timeout(600)  # early, as every chunk's tests need it (tests/conftest.py orders by timeout)
def test_clean_sandbox_passes_every_rule(tmp_path_factory):
    row = _clean(tmp_path_factory)
    assert row.exit_code == 0 and not row.failed and row.scenarios, row


@pytest.mark.timeout(600)  # the first of a chunk runs its switches (and waits for the clean run if another makes it)
@pytest.mark.parametrize(
    "defect",
    [pytest.param(d, marks=pytest.mark.xdist_group(f"detection-matrix-{CHUNK_OF[d]}")) for d in sorted(DEFECTS)],
)
def test_defect_is_caught_by_exactly_its_rules(defect, tmp_path_factory):
    row = _chunk(tmp_path_factory, CHUNK_OF[defect])[defect]
    # a switch that breaks only warning-level rules leaves the run conformant, with warnings
    warnings_only = set(row.expected) <= warning_level_rules() and not row.expected_blocked
    assert row.exit_code == (0 if warnings_only else 1), f"wrong exit code with {defect} on: {row}"
    assert not row.missed, (
        f"{defect} should break {row.expected} and block {row.expected_blocked}, but {row.missed} "
        f"did not (failed: {row.failed}, blocked: {row.blocked})"
    )
    assert not row.unexpected, (
        f"{defect} should break only {row.expected} and block only {row.expected_blocked}, "
        f"yet {row.failed} failed and {row.blocked} were blocked"
    )
    assert not row.missing_scenarios, f"under {defect} these scenarios did not run: {sorted(row.missing_scenarios)}"
    assert set(row.warned) == set(row.expected) & warning_level_rules(), f"{defect}: warned {row.warned}"


@pytest.mark.timeout(500)  # two suite runs
@pytest.mark.parametrize("rule", ["PKCE-07", "PKCE-08"])
def test_plain_pkce_accepted_scenario_fails_against_a_server_that_refuses_plain(tmp_path, rule):
    """The "accepted" scenarios of PKCE-07 and PKCE-08 only run where an environment declares plain
    accepted; the sandbox refuses plain, so declaring it accepted there must fail, and the switch
    that makes the sandbox accept plain must make it pass. Judged by the record, as a user is: the
    terminal's last lines are the verdict, not pytest's counts."""
    from run import SANDBOX_YAML, run_suite, write_environment

    path = write_environment(tmp_path, SANDBOX_YAML.replace("plain_pkce: refused", "plain_pkce: accepted"))
    record = tmp_path / "compliance.json"
    refused = run_suite(f"--env={path}", f"--rule={rule}", f"--compliance={record}", "-q", "-p", "no:cacheprovider")
    assert refused.returncode == 1, refused.stdout[-3000:]
    statuses, reasons = _scenarios_of(record, rule)
    assert sorted(statuses.values()) == ["failed", "skipped"], statuses
    failed = next(name for name, status in statuses.items() if status == "failed")
    assert "works where" in failed, statuses
    # the reason shows the server's refusal and the sentence a code is owed by
    assert "error=invalid_request" in reasons[failed] and "RFC 6749 section 4.1.2" in reasons[failed], reasons[failed]
    accepted = run_suite(
        f"--env={path}",
        f"--rule={rule}",
        "--defect=pkce-plain-accepted",
        f"--compliance={record}",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    assert accepted.returncode == 0, accepted.stdout[-3000:]
    assert sorted(_scenarios_of(record, rule)[0].values()) == ["passed", "skipped"]


@pytest.mark.timeout(500)  # two suite runs
def test_a_plain_challenges_wrong_verifier_is_refused_where_the_environment_accepts_plain(tmp_path):
    """RFC 7636 section 4.6's comparison binds a plain challenge as it binds S256: where the environment
    declares plain accepted, PKCE-02 redeems a plain-challenge code with another verifier too. A server
    that accepts plain and compares its verifiers passes both rows; one that takes any verifier for a
    plain challenge (a python oauthlib server certified conformant that way) fails the plain row."""
    from run import SANDBOX_YAML, run_suite, write_environment

    path = write_environment(tmp_path, SANDBOX_YAML.replace("plain_pkce: refused", "plain_pkce: accepted"))
    record = tmp_path / "compliance.json"
    for defect, exit_code, plain in (
        ("pkce-plain-accepted", 0, "passed"),
        ("pkce-plain-verifier-unchecked", 1, "failed"),
    ):
        run = run_suite(f"--env={path}", "--rule=PKCE-02", f"--defect={defect}", f"--compliance={record}", "-q")
        assert run.returncode == exit_code, run.stdout[-3000:]
        statuses, reasons = _scenarios_of(record, "PKCE-02")
        assert statuses == {
            "PKCE-02 A wrong verifier is refused (S256)": "passed",
            "PKCE-02 A wrong verifier is refused (plain)": plain,
        }, statuses
    assert "RFC 7636 section 4.6" in reasons["PKCE-02 A wrong verifier is refused (plain)"], reasons


def _scenarios_of(record, rule) -> tuple[dict, dict]:
    """{scenario name: status}, {scenario name: reason} of one rule in a compliance record."""
    [entry] = [r for r in json.loads(record.read_text())["rules"] if r["rule_id"] == rule]
    return (
        {s["name"]: s["status"] for s in entry["scenarios"]},
        {s["name"]: s.get("reason") or "" for s in entry["scenarios"]},
    )


def test_a_switch_that_leaves_a_blocker_rule_without_its_data_beside_its_failure_is_not_caught():
    """The matrix's exit code is 1 where a rule failed, whatever else the run left out: a blocker or critical
    rule skipped for want of data under a switch (the record's missing_data) is one the switch silenced."""
    from suite.matrix.detection import _row

    defect = next(name for name, switch in DEFECTS.items() if not switch.blocks)
    rules = [
        {"rule_id": rule, "severity": "blocker", "status": "failed", "scenarios": [{"name": rule, "status": "failed"}]}
        for rule in DEFECTS[defect].breaks
    ]
    record = {"rules": rules, "failed_rules": list(DEFECTS[defect].breaks), "error_rules": [], "blocked_rules": []}
    assert _row(defect, record, None).caught
    silenced = _row(defect, {**record, "missing_data": {"DISC-01": ["discovery_url"]}}, None)
    assert not silenced.caught and silenced.unexpected == ["DISC-01"]
