"""Whether a record's verdict follows from its rules: a record resealed after editing (digest and
all) can say CONFORMANT while listing a failed blocker rule; the seal alone does not see it. The
verdict is worked out again from the rules' statuses as suite.reports.results decides it, and the
lists and counts that repeat those statuses must agree with them."""

from suite.verdict.blocking import blocked_by_waivers

STATUSES = ("passed", "failed", "blocked", "waived", "warned", "error", "skipped")
LISTS = {
    "failed_rules": "failed",
    "blocked_rules": "blocked",
    "error_rules": "error",
    "warned_rules": "warned",
    "waived_rules": "waived",
}


def verdict_problems(record: dict) -> list[str]:
    """What in the record contradicts its rules, one sentence each ([] when nothing does)."""
    verdict = record.get("verdict")
    if not isinstance(verdict, str):
        return ["the record has no verdict (a string)"]
    rules = record.get("rules")
    if verdict.startswith("no verdict"):
        return [] if not rules else ["a record with no verdict lists rules"]
    if not isinstance(rules, list) or not all(
        isinstance(r, dict) and isinstance(r.get("rule_id"), str) and r.get("status") in STATUSES for r in rules
    ):
        return ["its rules are not a list of rules, each with a rule_id and a known status"]
    by_status = {status: [r["rule_id"] for r in rules if r["status"] == status] for status in STATUSES}
    problems = [
        f"{field} lists {record[field]} but the rules with status {status} are {by_status[status]}"
        for field, status in LISTS.items()
        if field in record and sorted(record[field] or []) != sorted(by_status[status])
    ]
    counts = record.get("counts")
    expected_counts: dict = {status: len(by_status[status]) for status in STATUSES}
    if isinstance(counts, dict) and "unchecked" in counts:
        # an application's record counts the skipped rules that ran and found nothing to judge apart
        unchecked = counts["unchecked"]
        if isinstance(unchecked, int) and 0 <= unchecked <= expected_counts["skipped"]:
            expected_counts = {**expected_counts, "skipped": expected_counts["skipped"] - unchecked}
        expected_counts["unchecked"] = unchecked
        if not set(record.get("unchecked_rules") or ()) <= set(by_status["skipped"]):
            problems.append(f"unchecked_rules lists {record['unchecked_rules']}, not all of them skipped")
    if counts is not None and counts != expected_counts:
        problems.append(f"its counts {counts} are not those of its rules")
    # a blocker or critical rule that ran and could not be checked (an application's record) leaves it
    # incomplete as one that did not run does
    not_run = (record.get("not_run_rules") or []) + (record.get("unchecked_rules") or [])
    # rules blocked by a failure a waiver accepts were never checked: incomplete, not a failure
    by_waived = blocked_by_waivers([r for r in record.get("rules") or [] if isinstance(r, dict)])[0]
    expected = (
        "inconclusive"
        if by_status["error"]
        else "not conformant"
        if by_status["failed"] or len(by_status["blocked"]) > len(by_waived) or record.get("waiver_problems")
        else "incomplete"
        if not_run or by_waived
        else "conformant"
    )
    if not verdict.startswith(expected):
        causes = by_status["failed"] + by_status["blocked"] + by_status["error"] or not_run
        problems.append(
            f"the verdict says {verdict!r} but its rules make it {expected!r}"
            + (f" ({', '.join(map(str, causes))})" if causes else "")
        )
    return problems
