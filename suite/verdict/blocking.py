"""One cause, one failure. A scenario that fails before it reaches its own check (a Given or When
step: no code to redeem, no refresh token to rotate; or a Then step that found nothing to check)
while a rule it relies on (`needs` in features/rules.yaml) did not pass in the same run is reported
"blocked by" that rule instead of as one more non-conformance. A scenario that fails before its own
check while everything it needs passed is a failure of its own rule: nothing else explains it.

A scenario's own check is its Then steps: one that found what it checks and a violation in it fails
the rule in its own right, whatever else failed in the run (an ID token with a wrong aud is ID-03's
failure, even where AUTH-01 failed too), unless a rule it needs failed at that very step (the same
check of the same kind of answer: one wrong token_type fails PKCE-01's "the token type is Bearer" and
blocks CODE-06's). Only a refusal of the documented request in a Then step
before the last ("Then the token request succeeds", then the checks of the token response) is on
the way: a precondition for the checks that follow.

A needed rule blocks only by a failure that kept the others from what they need. One whose check
found a violation in an answer that still gave it (suite.verdict.checks.Delivered: a code issued
without a sign-in came all the same) blocks nothing: a rule needing it that failed, at its own check
or on the way (a redemption of that code refused), failed in its own right, with the other failure
named as context. Only a scenario that met that very violation again (suite.verdict.checks.MetTheCause:
AUTH-04's request served with a code but without a sign-in) is blocked by it: one cause, one failure. Where
no rule it needs failed, a scenario whose request met a cause the environment explains
(suite.verdict.checks.EnvironmentUnlessBlocked: CODE-03's other client refused its HTTP Basic, for a code
nobody issued too, while SVC-02 passed) could not be checked, an environment problem, not a failure.

A refusal rule (a wrong verifier, another client's code, a revoked refresh token refused) shows
nothing when the server refuses everything: its refusal counts only where its `controls` (the rules
that show the same client's request granted) had it granted in the same run. Where a control's
documented request was itself refused (suite.verdict.checks.Refused: a token request not answered
200, an authorization request answered without a code), the refusal rule's passed scenarios are
blocked by it: "refused" is no evidence then. A control that failed for the form of a granted
answer (a wrong token_type), or did not run (a run of some rules only), is not held against it.

A warning-level rule's failure is a behaviour the texts allow (an application that never renews its
access token: RFC 6750 section 3.1 only permits the renewal). A scenario it kept from its own check
is neither blocked nor failed: its sentence never came to apply (no refresh, so no rotation for
RFC 6749 section 6's "MUST discard the old refresh token" to bind), and it is not applicable, with
the warned rule named. Not a pass either: a rule with nothing to judge never passes. Where a rule
it needs failed for a fault, that failure is the cause, and it is blocked by it.

The step that failed is recorded as the scenario runs (with pytest-xdist, in the worker) and
reaches the controller in the report's user properties; the decision is made there, at the end,
when every rule's outcome is known."""

from suite.configuration.rule_catalogue import entry
from suite.configuration.rules import WARNING
from suite.verdict.checks import Delivered, EnvironmentUnlessBlocked, MetTheCause, NothingToCheck, Refused


def record_failed_step(request, scenario, step, exception=None) -> None:
    """A failure in a Then step is the rule's own check (the module docstring), unless that step found
    nothing to check (suite.verdict.checks.require), or found the documented request refused and is not
    the last step: then, like a failure in a Given or When step, it may be blocked."""
    last = scenario.steps[-1] if scenario.steps else step
    refused = isinstance(exception, Refused)
    own_check = (
        step.type == "then"
        and not isinstance(exception, NothingToCheck)
        and (step.line_number == last.line_number or not refused)
    )
    failed_step = {"step": f"{step.keyword} {step.name}".strip(), "own_check": own_check}
    if refused:
        failed_step["refused"] = True  # the documented request itself was refused
    if isinstance(exception, Delivered):
        failed_step["delivered"] = True  # the answer still gave what the rules needing this one rely on
    if isinstance(exception, MetTheCause):
        failed_step["met_the_cause"] = True  # its reason tells how the cause met this scenario's request
    if isinstance(exception, EnvironmentUnlessBlocked):
        failed_step["environment_unless_blocked"] = True  # no needed rule failed: the environment's, not a failure
    request.node.user_properties.append(("failed_step", failed_step))


def catalogue_needs(rule_id: str) -> tuple[str, ...]:
    """What a rule needs, as features/rules.yaml says (the application side has its own catalogue)."""
    return entry(rule_id).needs


def catalogue_controls(rule_id: str) -> tuple[str, ...]:
    """A refusal rule's controls, as features/rules.yaml says."""
    return entry(rule_id).controls


def resolve_blocked(rules: dict[str, dict], needs=catalogue_needs, controls=catalogue_controls) -> None:
    """Mark failed scenarios and rules blocked where the module docstring says, in place. `rules`
    maps a rule id to its record entry, with the status its scenarios give it; `needs(rule_id)`
    names the rules it relies on, `controls(rule_id)` those whose refusal blocks its own."""
    for rule_id in _needs_first(rules, needs):
        rule = rules[rule_id]
        # discovery is every rule's entry point: a scenario that could not start without it relies on DISC-01
        entry_point = (
            ("DISC-01",) if any(s.get("failed_step", {}).get("no_discovery") for s in rule["scenarios"]) else ()
        )
        relied_on = tuple(n for n in (*needs(rule_id), *entry_point) if n != rule_id)  # DISC-01 relies on no itself
        # a rule's evidence is per client role where its scenarios are: a web app's scenario relies on the
        # web app's scenarios of the rules it needs (an SPA's failure explains nothing of it), and on all of
        # a needed rule's scenarios where that rule has none of its role
        kept = _kept_from_own_check(rule)
        for role, met in dict.fromkeys((s.get("client_role"), _met(s)) for s in kept):
            scenarios = [s for s in kept if s.get("client_role") == role and _met(s) == met]
            scoped = {n: _for_role(rules[n], role) for n in relied_on if n in rules}
            _resolve(rule, scenarios, relied_on, scoped)
        _same_check_failed_first(rule, relied_on, rules)
        _name_failed_needs(rule, relied_on, rules)
        statuses = {s["status"] for s in rule["scenarios"]}
        if "blocked" in statuses and not statuses & {"failed", "error"}:
            rule["status"] = "blocked"
            rule["blocked_by"] = next(s["blocked_by"] for s in rule["scenarios"] if s["status"] == "blocked")
        elif rule["status"] == "failed" and "failed" not in statuses:
            if "error" in statuses:
                rule["status"] = "error"
            elif statuses <= {"passed", "skipped"}:
                rule["status"] = "passed" if "passed" in statuses else "skipped"
                if rule["status"] == "skipped":
                    rule["not_applicable_after"] = next(
                        s["not_applicable_after"] for s in rule["scenarios"] if s.get("not_applicable_after")
                    )
    for rule_id in _needs_first(rules, needs):
        _refusals_without_control(rule_id, rules, controls(rule_id))


def _resolve(rule: dict, scenarios: list[dict], relied_on: tuple[str, ...], scoped: dict[str, dict]) -> None:
    """Blocked, not applicable or could not be checked: what `scenarios` of `rule` (kept from their own
    check, of one client role) are, by the rules they rely on as seen for that role (`scoped`)."""
    # a scenario that met a needed rule's very violation again (MetTheCause) is blocked by it, even by one that
    # gave what it needed (Delivered); others only by a failure that kept it from something
    met_again = all(s["failed_step"].get("met_the_cause") for s in scenarios)
    causes = [n for n in relied_on if n in scoped and _failed_for_a_cause(scoped[n], met_again)]
    cause = next((n for n in causes if not _allowed_behaviour(scoped[n])), None)
    if cause is None and causes:
        _not_applicable_after(scenarios, causes[0], scoped[causes[0]])
        return
    if cause is None:
        unchecked = next((n for n in relied_on if n in scoped and scoped[n]["status"] == "error"), None)
        if unchecked is not None:
            _unchecked_with(scenarios, unchecked, scoped[unchecked])
        else:
            _environment_unless_blocked(scenarios)
        return
    root = scoped[cause].get("blocked_by") or cause  # blocked by a blocked rule: name the root cause
    met_delivered = met_again and delivered(scoped[cause])
    for scenario in scenarios:
        scenario["status"], scenario["blocked_by"] = "blocked", root
        if met_delivered:  # blocked for what only it met: keeps no rule that needs it from anything
            scenario["failed_step"]["met_delivered"] = True
        # a scenario whose own request met the cause (MetTheCause) says what it met, not the root's headline
        met = scenario["failed_step"].get("met_the_cause") and scenario.get("reason")
        headline = _first_line(str(scenario["reason"])) if met else _headline(scoped.get(root) or scoped[cause])
        scenario["reason"] = f"blocked by {root}{_via(root, cause)}" + (f": {headline}" if headline else "")


def _for_role(rule: dict, role: str | None) -> dict:
    """The rule as its scenarios of client role `role` (and those of no role) show it, or the whole rule
    where it has none of that role (or `role` is None)."""
    own = [s for s in rule["scenarios"] if s.get("client_role") in (role, None)]
    if role is None or not own or len(own) == len(rule["scenarios"]):
        return rule
    statuses = {s["status"] for s in own}
    if "failed" in statuses:
        status = "failed"
    elif "blocked" in statuses and not statuses - {"blocked", "skipped"}:
        status = "blocked"
    elif "error" in statuses:
        status = "error"
    else:
        status = "passed" if "passed" in statuses else "skipped"
    scoped = {**rule, "scenarios": own, "status": status}
    blocked_by = next((s["blocked_by"] for s in own if s.get("blocked_by")), None)
    if blocked_by or status != "blocked":
        scoped["blocked_by"] = blocked_by if status == "blocked" else None
    if status != "skipped" and not any(s.get("not_applicable_after") for s in own):
        scoped.pop("not_applicable_after", None)
    return scoped


HEADLINE = 160  # characters of its cause's failure a blocked scenario repeats; the whole text is the cause's


def _headline(cause: dict) -> str:
    """The first line of the cause's first failure, cut on a word at HEADLINE characters: what a blocked
    rule's reason repeats of it. A failed sign-in's account (its pages, console, requests) ran to 600
    characters and more, repeated by each of the 17 rules one wrong client id blocked; the cause's own
    reason keeps all of it, once, and the blocked scenario's own failure stays in its test report."""
    reason = next((str(s["reason"]) for s in cause["scenarios"] if s["status"] == "failed" and s.get("reason")), "")
    return _first_line(reason)


def _first_line(reason: str) -> str:
    """A reason's first line, cut on a word at HEADLINE characters."""
    line = reason.strip().splitlines()[0] if reason.strip() else ""
    return line if len(line) <= HEADLINE else line[:HEADLINE].rsplit(" ", 1)[0].rstrip(" ,;:(") + " …"


def _failed_for_a_cause(rule: dict, met: bool = False) -> bool:
    """Whether a rule that did not pass is a cause another can be blocked by: blocked itself, or failed
    by a check of its own, or not applicable after a warning-level rule's failure (_allowed_behaviour).
    One whose failed scenarios only found nothing to judge (the application side's `nothing_to_check`:
    no token request sent, none blocked by a rule that failed) could not be checked, which explains
    nothing about the rules that need it (they could not be checked either). Nor does one blocked only for
    meeting a failure that gave the others what they need (Delivered): APPC-08 met APPC-06's missing
    challenge, which took no code from the rules that need APPC-08; under load their sign-ins did not
    finish for a cause of their own, and they could not be checked, not "blocked by APPC-06"."""
    if rule["status"] == "blocked":
        blocked = [s for s in rule["scenarios"] if s["status"] == "blocked"]
        return met or not all(s.get("failed_step", {}).get("met_delivered") for s in blocked)
    if rule.get("not_applicable_after"):
        return True
    if delivered(rule) and not met:  # it gave what the others need: its failure kept none of them from anything
        return False
    failed = [s for s in rule["scenarios"] if s["status"] == "failed"]
    return rule["status"] == "failed" and (
        not failed or any(not s.get("failed_step", {}).get("nothing_to_check") for s in failed)
    )


def _refusals_without_control(rule_id: str, rules: dict[str, dict], controls: tuple[str, ...]) -> None:
    rule = rules[rule_id]
    for scenario in rule["scenarios"]:
        role = scenario.get("client_role")
        control = next((c for c in controls if c in rules and _refused(rules[c], role)), None)
        if control is not None and scenario["status"] == "passed":
            root = rules[control].get("blocked_by") or control
            scenario["status"], scenario["blocked_by"] = "blocked", root
            scenario["reason"] = (
                f"blocked by {root}" + (f" (via {control})" if root != control else "") + ": the refusal counts only "
                f"where {control} shows the same client's request granted, and this run it was refused"
            )
        unchecked = next((c for c in controls if c in rules and _unchecked(rules[c], role)), None)
        if control is None and unchecked is not None and scenario["status"] == "passed":
            scenario["status"] = "error"
            scenario["reason"] = (
                f"{_kind(rules[unchecked])}: could not be checked: the refusal counts only where {unchecked} shows "
                f"the same client's request granted, and {unchecked} could not be checked"
            )
    statuses = {s["status"] for s in rule["scenarios"]}
    if "blocked" in statuses and not statuses & {"failed", "error"}:
        rule["status"] = "blocked"
        rule["blocked_by"] = next(s["blocked_by"] for s in rule["scenarios"] if s["status"] == "blocked")
    elif "error" in statuses and "failed" not in statuses:
        rule["status"] = "error"


def _name_failed_needs(rule: dict, relied_on: tuple[str, ...], rules: dict[str, dict]) -> None:
    """A scenario that failed in its own right while a rule it needs failed too says so, as context: at its
    own check, or on the way after a failure that gave it what it needed (Delivered). The reader sees both
    failures without reading one as the other's echo. Named are the needs that failed a check of their own,
    not one that only found nothing to judge (it could not be checked, the application side's
    `nothing_to_check`); one that gave every rule what it relies on (Delivered: a web application's missing
    PKCE challenge, which the stand-in let through) is named as such, not as a need of this rule's check."""
    failed = [n for n in relied_on if n in rules and _failed_a_check(rules[n])]
    gave = [n for n in failed if delivered(rules[n])]
    kept = [n for n in failed if n not in gave]
    for scenario in rule["scenarios"]:
        step = scenario.get("failed_step", {})
        if scenario["status"] != "failed" or step.get("nothing_to_check"):  # not failed in its own right
            continue
        if not step.get("own_check") and kept:  # on the way: only after failures that gave it what it needed
            continue
        said = [f"{', '.join(gave)}, whose failure still gave this rule all it relies on"] * bool(gave)
        said += [f"{', '.join(kept)}, which this rule needs, in a way that did not keep it from its check"] * bool(kept)
        if said:
            scenario["reason"] = f"{scenario['reason']} (also failed in this run: {'; '.join(said)})"


def _failed_a_check(rule: dict) -> bool:
    """Whether the rule failed, one of its scenarios at a check (not only for nothing to judge)."""
    return rule["status"] == "failed" and any(
        s["status"] == "failed" and not s.get("failed_step", {}).get("nothing_to_check") for s in rule["scenarios"]
    )


def _same_check_failed_first(rule: dict, relied_on: tuple[str, ...], rules: dict[str, dict]) -> None:
    """A scenario whose own check failed at the very step a rule it needs failed at (for its client role) met
    that failure again: the same check of the same kind of answer (PKCE-01's and CODE-06's "the token type is
    Bearer" for one wrong token_type), one cause counted once. It is blocked by that rule."""
    for scenario in rule["scenarios"]:
        step = scenario.get("failed_step", {})
        if scenario["status"] != "failed" or not step.get("own_check"):
            continue
        check = _step_name(step["step"])
        role = scenario.get("client_role")
        same = next((n for n in relied_on if n in rules and _failed_at(_for_role(rules[n], role), check)), None)
        if same is not None:
            scenario["status"], scenario["blocked_by"] = "blocked", same
            scenario["reason"] = f'blocked by {same}: the same check ("{check}") failed there: ' + _first_line(
                str(scenario["reason"])
            )


def _failed_at(rule: dict, check: str) -> bool:
    """Whether one of the rule's scenarios failed in its own right at the step `check` (its name)."""
    return any(
        s["status"] == "failed" and _step_name(s.get("failed_step", {}).get("step", "")) == check
        for s in rule["scenarios"]
    )


def _step_name(step: str) -> str:
    """A step as recorded ("And the token type is ...") without its keyword."""
    return step.split(" ", 1)[1] if " " in step else step


def _met(scenario: dict) -> bool:
    """Whether the scenario's own request met the cause (suite.verdict.checks.MetTheCause)."""
    return bool(scenario.get("failed_step", {}).get("met_the_cause"))


def delivered(rule: dict) -> bool:
    """Whether every failure of the rule found its violation in an answer that still gave what the rules
    needing it rely on (suite.verdict.checks.Delivered)."""
    failed = [s for s in rule["scenarios"] if s["status"] == "failed"]
    return bool(failed) and all(s.get("failed_step", {}).get("delivered") for s in failed)


def _kept_from_own_check(rule: dict) -> list[dict]:
    """The rule's scenarios that failed before their own check (record_failed_step)."""
    return [
        s for s in rule["scenarios"] if s["status"] == "failed" and s.get("failed_step", {}).get("own_check") is False
    ]


def _via(root: str, cause: str) -> str:
    """ " (via CAUSE)" where the rule relied on CAUSE, which ROOT kept from its check in turn."""
    return f" (via {cause})" if root != cause else ""


def _allowed_behaviour(rule: dict) -> bool:
    """Whether a cause is a behaviour the texts allow: a warning-level rule whose own check failed (not
    one blocked), or a rule not applicable because of one."""
    return bool(rule.get("not_applicable_after")) or (rule.get("level") == WARNING and rule["status"] == "failed")


def _not_applicable_after(scenarios: list[dict], cause: str, cause_rule: dict) -> None:
    """The scenarios that stopped before their own check because `cause` warned are not applicable
    (the module docstring); resolve_blocked makes the rule so where nothing else of it failed."""
    root = cause_rule.get("not_applicable_after") or cause
    for scenario in scenarios:
        scenario["status"], scenario["not_applicable_after"] = "skipped", root
        scenario["reason"] = (
            f"not applicable: nothing to judge, because {root} warned{_via(root, cause)} (a warning-level rule: "
            "what it warns of is allowed, and left this rule's sentence nothing to bind): "
            f'"{scenario["failed_step"]["step"]}" found: {scenario["reason"]}'
        )


def _unchecked_with(scenarios: list[dict], cause: str, cause_rule: dict) -> None:
    """A rule that relies on one that could not be checked (a wrong client secret, a server gone)
    could not be checked either where it stopped before its own check: not one more failure."""
    for scenario in scenarios:
        scenario["status"] = "error"
        scenario["reason"] = (
            f"{_kind(cause_rule)}: could not be checked: it relies on {cause}, which could not be checked"
        )


def _environment_unless_blocked(scenarios: list[dict]) -> None:
    """A scenario whose own request met a cause no rule of the run failed for (suite.verdict.checks.
    EnvironmentUnlessBlocked: the other client of CODE-03 refused its HTTP Basic while SVC-02's passed) could not
    be checked: nothing shows the server at fault, and its reason names the environment's keys to check."""
    for scenario in scenarios:
        if scenario["failed_step"].get("environment_unless_blocked"):
            scenario["status"] = "error"
            scenario["reason"] = f"environment problem: could not be checked: {scenario['reason']}"


def _unchecked(control: dict, role: str | None) -> bool:
    """Whether the control could not be checked for the client `role` (any, for None)."""
    return any(
        s["status"] == "error" for s in control["scenarios"] if role is None or s.get("client_role") in (role, None)
    )


def _kind(rule: dict) -> str:
    reasons = [s["reason"] for s in rule["scenarios"] if s["status"] == "error"]
    return (
        "configuration problem"
        if any(r.startswith("configuration problem") for r in reasons)
        else "environment problem"
    )


def _refused(control: dict, role: str | None) -> bool:
    """Whether the control's documented request was refused for the client `role` (any, for None)."""
    return any(
        s.get("failed_step", {}).get("refused")
        for s in control["scenarios"]
        if s["status"] != "passed" and (role is None or s.get("client_role") in (role, None))
    )


def _needs_first(rules: dict[str, dict], needs) -> list[str]:
    ordered, seen = [], set()

    def visit(rule_id: str) -> None:
        if rule_id in seen or rule_id not in rules:
            return
        seen.add(rule_id)
        for need in needs(rule_id):
            visit(need)
        ordered.append(rule_id)

    for rule_id in rules:
        visit(rule_id)
    return ordered


def blocked_by_waivers(rules: list[dict]) -> tuple[list[str], list[str]]:
    """The blocked rules whose cause is a failure a waiver accepts, and those waived causes. A waiver
    accepts a known failure; the rules it blocked were never checked, so they neither fail the run
    (not conformant, with no rule failed) nor pass it: the run is incomplete."""
    waived = {str(rule.get("rule_id")) for rule in rules if rule.get("status") == "waived"}
    blocked = [
        rule
        for rule in rules
        if rule.get("status") == "blocked" and isinstance(rule.get("blocked_by"), str) and rule["blocked_by"] in waived
    ]
    return [rule["rule_id"] for rule in blocked], sorted({rule["blocked_by"] for rule in blocked})
