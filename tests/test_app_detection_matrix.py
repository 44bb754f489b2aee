"""Application side: every reference application's defect switch is caught by exactly the rules
it breaks, and the clean reference applications pass every rule that applies to them."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from reference_certifications import reference_certification

from appside.matrix import EVERY_CLASS, REFERENCE_APPS, all_rule_ids, certify, render, row_from_record, run_secret

# Each reference application's switches in chunks of at most this many, a test each, so that
# pytest-xdist spreads the matrix over its workers (one test per application made the slowest
# application the run's critical path). A chunk's certifications run side by side, the clean one they
# are judged against beside them where no other test made it yet. Two, not more: a certification keeps
# a core busy (Chromium, Playwright's driver, the suite), so more side by side only contend. Measured
# on the SPA's 14 certifications (make test's -n 3, 2 cores, alternated): five side by side cost
# 379-412 CPU-s, two 274-301, one 280 but 441 s wall against two's 191-317 s.
CHUNK = 2
CHUNKS = [
    (name, switches[i :: -(-len(switches) // CHUNK)])  # as many chunks as needed, of even sizes
    for name, app in REFERENCE_APPS.items()
    for switches in [list(app.switches)]
    for i in range(-(-len(switches) // CHUNK))
]


@pytest.mark.timeout(600)  # two certifications side by side, and the clean one beside them
@pytest.mark.parametrize(("name", "switches"), CHUNKS, ids=[f"{name}:{'+'.join(chunk)}" for name, chunk in CHUNKS])
def test_every_switch_is_caught_by_exactly_its_rules(name, switches, tmp_path, tmp_path_factory):
    app = REFERENCE_APPS[name]
    tmp_path_factory.getbasetemp()  # made here, not in a pool thread
    # each run once per test run: a verdict test that judges more of the same run reads it (or made it already)
    with ThreadPoolExecutor(max_workers=len(switches) + 1) as pool:
        runs = [pool.submit(reference_certification, tmp_path_factory, name, switch) for switch in switches]
        clean = pool.submit(reference_certification, tmp_path_factory, name, None)
        rows = [run.result() for run in runs]
    rows = [_judged(row, clean.result()) for row in rows]
    # On a loaded 2-core machine (make test runs this beside everything else) a rule now and then could not be
    # checked (a sign-in that did not finish in time): a switch with a stray result is certified again, alone,
    # before it is blamed, as the server-side matrix does; a switch that really breaks a rule breaks it again.
    rows = [
        row if row.caught else _judged(certify(app, row.defect.split(":", 1)[1], tmp_path / "again"), clean.result())
        for row in rows
    ]
    wrong = [row.defect for row in rows if not row.caught]
    assert not wrong, f"{wrong} not caught by exactly their rules\n{render([clean.result(), *rows])}"


def _judged(row, clean):
    """The row, judged on every scenario its clean application ran, no fewer."""
    row.missing_scenarios = frozenset(clean.scenarios - row.scenarios)
    return row


# after the switches' tests (a stable sort by timeout keeps it there, tests/conftest.py): by then one
# of them has certified the clean application beside its own runs, and this reads its row
@pytest.mark.timeout(600)  # else one certification, or another worker's to wait for
@pytest.mark.parametrize("name", REFERENCE_APPS)
def test_the_clean_application_passes_every_rule(name, tmp_path_factory):
    row = reference_certification(tmp_path_factory, name, None)
    assert row.caught, f"the clean {name} application does not pass\n{render([row])}"


def test_every_switch_names_known_rules():
    known = all_rule_ids()
    for app in REFERENCE_APPS.values():
        for switch, rules in app.switches.items():
            assert set(rules) <= known, f"{app.name}:{switch} names unknown rules {set(rules) - known}"


def test_every_run_gets_a_secret_of_every_character_class_its_client_library_carries():
    secret = run_secret(EVERY_CLASS)
    assert all(character in secret for character in EVERY_CLASS) and secret != run_secret(EVERY_CLASS)
    for app in REFERENCE_APPS.values():
        # only what HTTP Basic without form-urlencoding changes may be left out (the app's comment says why)
        left_out = set(EVERY_CLASS) - set(app.secret_characters)
        assert left_out <= {"+", "%", "4", "1", "æ", "€", "😀"}, (app.name, left_out)


def _record(*failing: str) -> dict:
    """A certification record where the APPC-05, APPC-06 and APPC-15 scenarios ran and `failing` failed."""
    rules = [
        {
            "rule_id": rule,
            "scenarios": [
                {
                    "name": f"{rule} a scenario",
                    "id": rule,
                    "status": "failed" if rule in failing else "passed",
                    "reason": "it did not" if rule in failing else "",
                }
            ],
        }
        for rule in ("APPC-05", "APPC-06", "APPC-15")
    ]
    return {"rules": rules, "failed_rules": list(failing), "error_rules": [], "blocked_rules": []}


def test_a_record_failing_exactly_the_switchs_rules_is_a_caught_row():
    row = row_from_record("web:fixed-state", ("APPC-05",), _record("APPC-05"), 1)
    assert row.caught and row.scenarios == {"APPC-05 a scenario", "APPC-06 a scenario", "APPC-15 a scenario"}
    assert not row.blocked and row.failed_scenarios == {"APPC-05 a scenario"}


def test_a_record_failing_another_rule_too_is_not_caught_and_the_table_says_why():
    row = row_from_record("web:fixed-state", ("APPC-05",), _record("APPC-05", "APPC-06"), 1)
    assert not row.caught and row.unexpected == ["APPC-06"]
    assert "web:fixed-state: APPC-06 did not pass: it did not" in render([row])


def test_a_row_whose_only_failure_is_warning_level_is_caught_only_if_the_run_exited_0():
    """The application that never renews (APPC-20 warned) is conformant with a warning: exit 1 (what a
    blocked APPC-15 made of it) is a wrong verdict, whatever rules failed."""
    record = {**_record("APPC-06"), "warned_rules": ["APPC-06"]}
    assert row_from_record("web:expired-token-used", ("APPC-06",), record, 0).caught
    assert not row_from_record("web:expired-token-used", ("APPC-06",), record, 1).caught
    assert not row_from_record("web:fixed-state", ("APPC-05",), _record("APPC-05"), 0).caught


def test_every_rule_quotes_its_sentence_in_the_application_catalogue():
    from appside.record import application_rule_sources

    for rule_id in all_rule_ids():
        sources = application_rule_sources(rule_id)
        assert sources, f"{rule_id} has no sentence in appside/features/rules.yaml"
        for source in sources:
            assert source["quote"] and source["url"].startswith("https://") and source["source"], (rule_id, source)


def test_a_switch_that_leaves_a_rule_without_evidence_is_caught_only_as_could_not_be_checked_with_exit_5():
    """web:id-token-as-bearer breaks no sentence a rule quotes, but the API refuses every call, so APPC-15 could not
    be checked: the row is caught where exactly that rule is unchecked and the run exited 5 (incomplete)."""
    record = {**_record(), "unchecked_rules": ["APPC-15"]}
    assert row_from_record("web:id-token-as-bearer", (), record, 5, unchecked=("APPC-15",)).caught
    assert not row_from_record("web:id-token-as-bearer", (), record, 0, unchecked=("APPC-15",)).caught
    assert not row_from_record("web:id-token-as-bearer", (), record, 5).caught  # no switch may leave it unchecked
    assert not row_from_record("web:id-token-as-bearer", (), _record(), 0, unchecked=("APPC-15",)).caught
    assert "(could not be checked: APPC-15)" in render([row_from_record("web:x", (), record, 5)])


def test_a_switch_that_fails_its_rules_and_silently_leaves_a_blocker_unchecked_is_not_caught():
    """A run where the switch's rule failed exits 1 whatever else could not be checked: a blocker or critical
    rule it left without a verdict (could not be checked, or skipped for want of data) that its `unchecked` and
    `blocks` do not declare is a rule the switch silenced, and the row is not caught."""
    record = {**_record("APPC-05"), "unchecked_rules": ["APPC-15"]}
    row = row_from_record("web:fixed-state", ("APPC-05",), record, 1)
    assert not row.caught and row.unexpected == ["APPC-15"]
    assert row_from_record("web:fixed-state", ("APPC-05",), record, 1, unchecked=("APPC-15",)).caught
    missing = {**_record("APPC-05"), "missing_data": {"APPC-06": ["drive.use_api_url"]}}
    assert not row_from_record("web:fixed-state", ("APPC-05",), missing, 1).caught
