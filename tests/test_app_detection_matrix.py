"""Application side: every reference application's defect switch is caught by exactly the rules
it breaks, and the clean reference applications pass every rule that applies to them."""

from appside.matrix import REFERENCE_APPS, all_rule_ids, render, run_matrix


def test_every_switch_is_caught_by_exactly_its_rules():
    rows = run_matrix(jobs=6)  # the runs mostly wait (for sign-ins, expiries, refusals), so six at once
    report = render(rows)
    assert all(row.caught for row in rows), report
    assert len(rows) == sum(1 + len(app.switches) for app in REFERENCE_APPS.values())


def test_every_switch_names_known_rules():
    known = all_rule_ids()
    for app in REFERENCE_APPS.values():
        for switch, rules in app.switches.items():
            assert set(rules) <= known, f"{app.name}:{switch} names unknown rules {set(rules) - known}"
