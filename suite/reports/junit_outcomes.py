"""JUnit XML that tells CI systems the truth: an environment problem mid-run is an <error> (no
verdict on that rule), not a <failure>; a scenario blocked by an earlier failure is <skipped>
with the rule that blocked it; a warning-level rule whose check failed is <skipped type="warning">
with the failure's message (JUnit has no warning: a <failure> would fail the CI system's test view
of a run whose verdict is conformant, and a bare skip would hide it among the rules that do not
apply). A failure's message is the check's own sentence, what the server did and the rule it
breaks, not a Python traceback (which stays in the element's text). A scenario pytest saw fail that
the record found had nothing to judge (not applicable after a warning-level rule's failure, or not
checked) is <skipped> with the record's reason. pytest writes the file at the
end of the session; this rewrites those test cases afterwards, from the record."""

import xml.etree.ElementTree as ET
from pathlib import Path


def present_junit(path: Path, record: dict) -> None:
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return
    outcomes = {
        _junit_key(s["id"]): {**s, "rule_id": rule["rule_id"]}
        for rule in record.get("rules", [])
        for s in rule["scenarios"]
        if s["status"] in ("error", "blocked", "warned", "failed", "skipped")
    }
    if not outcomes:
        return
    for suite in tree.iter("testsuite"):
        for case in suite.iter("testcase"):
            scenario = outcomes.get((case.get("classname", ""), case.get("name", "")))
            if scenario is not None and scenario["status"] == "warned":
                _warned(case, scenario)
                continue
            failure = case.find("failure")
            skipped = case.find("skipped")
            if scenario is not None and failure is None and scenario["status"] == "blocked":
                if skipped is None:
                    # a refusal that passed, blocked because its control was refused too (suite/verdict/blocking.py)
                    ET.SubElement(case, "skipped", type="blocked", message=scenario["reason"])
                    suite.set("skipped", str(int(suite.get("skipped", "0")) + 1))
                else:  # a warning-level scenario kept from its own check: pytest wrote it as an expected failure
                    skipped.set("type", "blocked")
                    skipped.set("message", scenario["reason"])
                continue
            if scenario is None or failure is None:
                continue
            if scenario["status"] == "failed":
                failure.set("message", f"{scenario['rule_id']} is not kept: {scenario['reason']}")
                continue
            case.remove(failure)
            if scenario["status"] == "error":
                reason = scenario["reason"]
                message = (
                    reason
                    if reason.startswith(("environment problem", "server error"))
                    else f"environment problem: {reason}"
                )
                element = ET.SubElement(case, "error", message=message)
                element.text = failure.text
                _shift(suite, "failures", "errors")
            else:  # blocked, or a failure the record found had nothing to judge (not applicable, not checked)
                kind = "blocked" if scenario["status"] == "blocked" else "not applicable"
                ET.SubElement(case, "skipped", type=kind, message=scenario["reason"])
                _shift(suite, "failures", "skipped")
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _warned(case, scenario: dict) -> None:
    """pytest wrote it as an expected failure (suite.reports.results counts it apart from failures)."""
    skipped = case.find("skipped")
    if skipped is not None:
        skipped.set("type", "warning")
        skipped.set("message", f"warning (a warning-level rule failed; the verdict stands): {scenario['reason']}")


def _junit_key(nodeid: str) -> tuple[str, str]:
    """features/test_features.py::test_x[spa] -> ("features.test_features", "test_x[spa]"), as pytest names it."""
    module, _, name = nodeid.partition("::")
    return module.removesuffix(".py").replace("/", "."), name.replace("::", ".")


def _shift(suite, source: str, target: str) -> None:
    suite.set(source, str(int(suite.get(source, "0")) - 1))
    suite.set(target, str(int(suite.get(target, "0")) + 1))
