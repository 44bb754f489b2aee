"""One cause, one failure. A scenario that fails before it reaches its own check (the last step:
no code to redeem, no refresh token to rotate) while a rule it relies on (`needs` in
features/rules.yaml) did not pass in the same run is reported "blocked by" that rule instead of
as one more non-conformance. A scenario that fails before its own check while everything it
needs passed is a failure of its own rule: nothing else explains it.

The step that failed is recorded as the scenario runs (with pytest-xdist, in the worker) and
reaches the controller in the report's user properties; the decision is made there, at the end,
when every rule's outcome is known."""

from suite.configuration.rule_catalogue import entry
from suite.verdict.checks import NothingToCheck


def record_failed_step(request, scenario, step, exception=None) -> None:
    """A failure in the last step is the rule's own check, unless that step found nothing to check
    (suite.verdict.checks.require): then, like a failure in an earlier step, it may be blocked."""
    last = scenario.steps[-1] if scenario.steps else step
    own_check = step.line_number == last.line_number and not isinstance(exception, NothingToCheck)
    request.node.user_properties.append(
        ("failed_step", {"step": f"{step.keyword} {step.name}".strip(), "own_check": own_check})
    )


def resolve_blocked(rules: dict[str, dict]) -> None:
    """Mark failed scenarios and rules blocked where the module docstring says, in place. `rules`
    maps a rule id to its record entry, with the status its scenarios give it."""
    for rule_id in _needs_first(rules):
        rule = rules[rule_id]
        cause = next(
            (n for n in entry(rule_id).needs if n in rules and rules[n]["status"] in ("failed", "blocked")), None
        )
        if cause is None:
            continue
        root = rules[cause].get("blocked_by") or cause  # blocked by a blocked rule: name the root cause
        for scenario in rule["scenarios"]:
            if scenario["status"] == "failed" and scenario.get("failed_step", {}).get("own_check") is False:
                scenario["status"], scenario["blocked_by"] = "blocked", root
                scenario["reason"] = (
                    f"blocked by {root}"
                    + (f" (via {cause})" if root != cause else "")
                    + f': "{scenario["failed_step"]["step"]}" failed: {scenario["reason"]}'
                )
        statuses = {s["status"] for s in rule["scenarios"]}
        if "blocked" in statuses and not statuses & {"failed", "error"}:
            rule["status"], rule["blocked_by"] = "blocked", root


def _needs_first(rules: dict[str, dict]) -> list[str]:
    ordered, seen = [], set()

    def visit(rule_id: str) -> None:
        if rule_id in seen or rule_id not in rules:
            return
        seen.add(rule_id)
        for need in entry(rule_id).needs:
            visit(need)
        ordered.append(rule_id)

    for rule_id in rules:
        visit(rule_id)
    return ordered
