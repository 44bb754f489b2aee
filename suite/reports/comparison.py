"""What changed since the previous run of the same environment, one cause one failure as in the
record: rules newly failing (their own check failed), newly blocked (kept from their check by
another rule's failure, named), fixed, still failing, still blocked, newly warned (a
warning-level rule that failed), still warned, newly skipped, newly and still could not be checked,
checked again (a rule that could not be checked and now passes), and the failures accepted by a waiver.
Each run with a verdict appends its rules' outcomes to run-history.jsonl beside its record
(CI carries that file from one run to the next, with Allure's history.jsonl); the comparison goes
into the record, at the top of compliance.md, at the end of the terminal output, and into
changes.md, the CI job's page: the verdict naming the failed rules, the changes, the waivers and
their problems in words, and each rule's history over the last runs of this environment.

A run is compared with the last run of the environment that reached a verdict over the same rules
(the same selection: --rule, -k, -m, --deselect): not with an interrupted run (Ctrl-C, SIGTERM: its
unreached rules would read as "newly failing" next night), one that gave no verdict (inconclusive),
nor a run of other rules; the comparison names the runs it passed over. "Fixed" is a rule whose own
check failed and now passes; a rule that was only blocked and now passes is "no longer blocked".

A rule's outcome is its status as the record states it, with a skipped rule that ran and found nothing to judge
("could not be checked", an application's rule without evidence) told apart from one that did not apply: the
history stores it as "unchecked". A history line written before that (no "outcomes" key) stored both as skipped:
compared with one, a rule that could not be checked is read as skipped, as that line would have had it."""

import json
from collections import deque
from pathlib import Path
from typing import Any

from suite.reports.atomic_write import append_atomically
from suite.verdict.blocking import blocked_by_waivers

HISTORY = "run-history.jsonl"
SUMMARY = "changes.md"
SHOWN_RUNS = 10  # runs of the environment in changes.md's per-rule history
WARNED = "warned"  # a warning-level rule's failure: the verdict stands, the change is still shown
KINDS = (
    ("newly_failing", "newly failing"),
    ("newly_blocked", "newly blocked"),
    ("fixed", "fixed"),
    ("unblocked", "no longer blocked (passes)"),
    ("still_failing", "still failing"),
    ("still_blocked", "still blocked"),
    ("newly_warned", "newly warned"),
    ("still_warned", "still warned"),
    ("newly_skipped", "newly skipped"),
    ("newly_unchecked", "newly could not be checked"),
    ("still_unchecked", "still could not be checked"),
    ("checked_again", "checked again (passes)"),
    ("waived", "waived (failing, accepted)"),
)
UNCHECKED = "unchecked"  # the history's word for a rule that ran and could not be checked
OUTCOMES_VERSION = 2  # a history line with "outcomes": 2 tells UNCHECKED apart from skipped
NOT_PASSING = ("failed", "blocked", "waived", "warned", "error", UNCHECKED)
FAILED_OWN_CHECK = ("failed", "waived", "warned", "error")  # what passing again makes "fixed"
MARKS = {
    "passed": "pass",
    "failed": "**FAIL**",
    "blocked": "blocked",
    "waived": "waived",
    "warned": "warned",
    "error": "error",
    "skipped": "skip",
    UNCHECKED: "could not be checked",
}


def outcome(rule: dict) -> str:
    """A rule's outcome as the record states it: its status, or UNCHECKED for a skipped rule one of whose
    scenarios ran and could not be checked (the record's "could not be checked", not "not applicable")."""
    unchecked = rule["status"] == "skipped" and any(
        scenario.get("status") == "skipped" and str(scenario.get("reason", "")).startswith("could not be checked")
        for scenario in rule.get("scenarios", ())
    )
    return UNCHECKED if unchecked else rule["status"]


def compare_with_previous(
    record: dict, directory: Path, selection: list[str] | tuple[str, ...] = (), interrupted: bool = False
) -> dict:
    """The changes since the last comparable run of this environment in `directory`'s history (see
    above), which gains this run: `selection`, the rules this run's command line left out (sorted),
    and whether it was `interrupted` before it reached every scenario it collected."""
    history = directory / HISTORY
    current = {rule["rule_id"]: outcome(rule) for rule in record["rules"]}
    blocked_by = {rule["rule_id"]: rule["blocked_by"] for rule in record["rules"] if rule.get("blocked_by")}
    runs = runs_of(history, record["environment"])
    previous, passed_over = _baseline(runs, current, list(selection))
    entry = {
        "environment": record["environment"],
        "finished": record["finished"],
        "verdict": record["verdict"],
        "sandbox_defects": record["sandbox_defects"],
        "rules": current,
        "blocked_by": blocked_by,
        "selection": list(selection),
        "interrupted": interrupted,
        "outcomes": OUTCOMES_VERSION,
    }
    # atomically: an append cut short by a full disk left half a line and a history this run never joined
    append_atomically(history, json.dumps(entry) + "\n")
    if previous is None:
        return {"compared_with": None, "passed_over": passed_over}
    before = previous["rules"]
    if previous.get("outcomes") != OUTCOMES_VERSION:  # written before UNCHECKED: it stored those rules as skipped
        current = {rule: "skipped" if status == UNCHECKED else status for rule, status in current.items()}
    changes: dict[str, Any] = {
        "compared_with": {"finished": previous["finished"], "verdict": previous["verdict"]},
        "passed_over": passed_over,
        **{key: [] for key, _ in KINDS},
        "blocked_by": blocked_by,
    }
    for rule, status in current.items():
        was = before.get(rule)
        if status in ("failed", "blocked"):
            changes[
                ("still_" if was == status else "newly_") + ("failing" if status == "failed" else "blocked")
            ].append(rule)
        elif status == "waived":
            changes["waived"].append(rule)
        elif status == WARNED:
            changes["still_warned" if was == WARNED else "newly_warned"].append(rule)
        elif status == "passed" and was in FAILED_OWN_CHECK:
            changes["fixed"].append(rule)
        elif status == "passed" and was == "blocked":  # never checked then: not a fix
            changes["unblocked"].append(rule)
        elif status == "passed" and was == UNCHECKED:  # no evidence then: not a fix either
            changes["checked_again"].append(rule)
        elif status == UNCHECKED:
            changes["still_unchecked" if was == UNCHECKED else "newly_unchecked"].append(rule)
        elif status == "skipped" and was is not None and was != "skipped":
            changes["newly_skipped"].append(rule)
    return changes


def _baseline(runs: list[dict], current: dict, selection: list[str]) -> tuple[dict | None, list[dict]]:
    """The last run that reached a verdict over the same rules, and the later ones passed over (why, in words)."""
    passed_over: list[dict] = []
    for run in reversed(runs):
        why = _not_comparable(run, current, selection)
        if why is None:
            return run, passed_over
        if why != "other rules":  # a run of another selection is another job's, not a gap in this one's
            passed_over.append({"finished": run["finished"], "verdict": run["verdict"], "why": why})
    return None, passed_over


def _not_comparable(run: dict, current: dict, selection: list[str]) -> str | None:
    if run.get("interrupted") is True:
        return "interrupted"
    if run["verdict"].startswith(("inconclusive", "no verdict")):
        return "no verdict"
    if "selection" in run:
        return None if run["selection"] == selection else "other rules"
    # recorded before the history said whether it was: an incomplete run that reported fewer rules was cut short
    if run["verdict"].startswith("incomplete") and set(run["rules"]) < set(current):
        return "incomplete"
    return None


def passed_over_words(changes: dict) -> str:
    """ "; it passed over 1 incomplete run (2026-12-06T23:51:47Z, interrupted)", or nothing."""
    runs = changes.get("passed_over") or []
    if not runs:
        return ""
    listed = ", ".join(f"{run['finished']}, {run['why']}" for run in runs)
    return f"; passed over {len(runs)} incomplete run{'s' if len(runs) > 1 else ''} ({listed})"


LINE_LIMIT = 1 << 20  # a history line longer than this (a run of 1,000 rules is about 40 KB) is skipped
RUNS_KEPT = 100  # the runs of an environment read from its history, newest: what the rule history looks back on


def runs_of(history: Path, environment: str, kept: int = RUNS_KEPT) -> list[dict]:
    """The last `kept` well-formed runs of `environment` in the history, oldest first, read a line at
    a time: the file grows with every run and may have been edited or cut short; no line, whatever it
    holds, costs more than LINE_LIMIT of memory or stops the run."""
    if not history.exists():
        return []
    runs: deque[dict] = deque(maxlen=kept)
    with history.open("rb") as file:
        while line := file.readline(LINE_LIMIT):
            if not line.endswith(b"\n") and len(line) == LINE_LIMIT:
                while (rest := file.readline(LINE_LIMIT)) and not rest.endswith(b"\n"):
                    pass  # the rest of an overlong line
                continue
            try:
                run = json.loads(line)
            except (ValueError, RecursionError):
                continue  # a line cut short by an interrupted write says nothing of any run
            if (
                isinstance(run, dict)
                and run.get("environment") == environment
                and isinstance(run.get("rules"), dict)
                and all(isinstance(run.get(key), str) for key in ("finished", "verdict"))
            ):
                runs.append(run)
    return list(runs)


def _with_causes(changes: dict, key: str) -> str:
    """Blocked rules grouped by the rule whose failure blocked them: "CODE-01, RT-01 (by PKCE-01)"."""
    rules = changes.get(key) or []
    if not key.endswith("blocked"):
        return ", ".join(rules)
    causes: dict[str, list[str]] = {}
    for rule in rules:
        causes.setdefault((changes.get("blocked_by") or {}).get(rule, "an earlier failure"), []).append(rule)
    return "; ".join(f"{', '.join(blocked)} (by {cause})" for cause, blocked in causes.items())


def change_lines(record: dict) -> list[str]:
    """The changes in one line per kind, for the terminal and the top of compliance.md."""
    changes = record.get("changes") or {}
    if not changes.get("compared_with"):
        return [f"no earlier run of {record['environment']} to compare with{passed_over_words(changes)}"]
    lines = [
        f"since the previous run of {record['environment']} ({changes['compared_with']['finished']}, "
        f"{changes['compared_with']['verdict']}{passed_over_words(changes)}):"
    ]
    # .get: a record written before a kind existed has no list for it
    lines += [f"  {label}: {_with_causes(changes, key)}" for key, label in KINDS if changes.get(key)]
    return lines if len(lines) > 1 else [lines[0] + " no rule changed"]


def verdict_line(record: dict) -> str:
    """The verdict with the rules that decided it: the failed ones by name, the blocked ones counted."""
    failed, blocked = record.get("failed_rules") or [], record.get("blocked_rules") or []
    words = [record["verdict"].upper()]
    if failed:
        words.append(f"failed: {', '.join(failed)}")
    by_waived, waived_blockers = blocked_by_waivers(record.get("rules") or [])
    if len(blocked) > len(by_waived):
        words.append(f"{len(blocked) - len(by_waived)} blocked by {'them' if failed else 'an earlier failure'}")
    if by_waived:  # never checked: a waiver accepts the failure, not what it kept from being checked
        words.append(f"{len(by_waived)} not checked (blocked by waived {', '.join(waived_blockers)})")
    if record.get("error_rules"):
        words.append(f"could not be checked: {', '.join(record['error_rules'])}")
    if record.get("waiver_problems"):
        words.append(
            f"{len(record['waiver_problems'])} waiver problem{'s' if len(record['waiver_problems']) > 1 else ''}"
        )
    return " — ".join(words)


def render_summary(record: dict, directory: Path | None = None) -> str:
    """changes.md: the verdict and what changed, for a CI job summary (GitHub's $GITHUB_STEP_SUMMARY)."""
    counts = record["counts"]
    lines = [
        f"## {record['environment']}: {verdict_line(record)}",
        "",
        f"{counts['passed']} rules passed, {counts['failed']} failed, {counts.get('blocked', 0)} blocked by another "
        f"rule's failure, {counts.get('waived', 0)} waived, {counts.get('warned', 0)} warned, "
        f"{counts['error'] + counts.get('unchecked', 0)} could not be checked, {counts['skipped']} skipped.",
        "",
    ]
    lines += [f"**Waiver problem:** {problem}" for problem in record.get("waiver_problems", ())]
    lines += [""] if record.get("waiver_problems") else []
    for waiver in record.get("waivers", ()):
        scenario = f" (scenario {waiver['scenario']!r})" if waiver.get("scenario") else ""
        lines.append(
            f"Waived: {waiver['rule']}{scenario} fails, accepted by {waiver['accepted_by']} until {waiver['expires']}: "
            f"{waiver['reason']} (ref. {waiver['reference']})."
        )
    lines += [""] if record.get("waivers") else []
    changes = record.get("changes") or {}
    if not changes.get("compared_with"):
        lines += [f"No earlier run of {record['environment']} to compare with{passed_over_words(changes)}.", ""]
    else:
        lines += [
            f"Since the previous run ({changes['compared_with']['finished']}, {changes['compared_with']['verdict']}"
            f"{passed_over_words(changes)}):",
            "",
            "| change | rules |",
            "|---|---|",
        ]
        lines += [f"| {label} | {_with_causes(changes, key) or '-'} |" for key, label in KINDS]
        lines.append("")
    if directory is not None:
        lines += rule_history(runs_of(directory / HISTORY, record["environment"]))
    return "\n".join(lines)


def rule_history(runs: list[dict], shown: int = SHOWN_RUNS) -> list[str]:
    """Each rule that did not pass in one of the last runs, run by run, and since when it has its
    present status: the day of the first run of the latest stretch with that status."""
    if not runs:
        return []
    last = runs[-shown:]
    rules = sorted({rule for run in last for rule, status in run["rules"].items() if status in NOT_PASSING})
    head = [f"### Rule history: the last {len(last)} run{'s' if len(last) > 1 else ''} of this environment", ""]
    if not rules:
        return [*head, "Every rule that ran passed (or did not apply) in each of them.", ""]
    lines = [
        *head,
        "| rule | " + " | ".join(_day(run["finished"], with_time=True) for run in last) + " | since |",
        "|---|" + "---|" * len(last) + "---|",
    ]
    for rule in rules:
        statuses = [run["rules"].get(rule) for run in last]
        lines.append(
            f"| {rule} | "
            + " | ".join(MARKS.get(s, "-") if s else "-" for s in statuses)
            + f" | {_since(runs, rule)} |"
        )
    return [*lines, ""]


def _since(runs: list[dict], rule: str) -> str:
    """ "failed since 2026-12-04": the first run of the latest stretch of runs with the rule's present status."""
    present = runs[-1]["rules"].get(rule)
    first = runs[-1]
    for run in reversed(runs):
        if run["rules"].get(rule) != present:
            break
        first = run
    recorded = " (the first run recorded)" if first is runs[0] else ""
    return f"{present or 'not run'} since {_day(first['finished'])}{recorded}"


def _day(finished: str, with_time: bool = False) -> str:
    return finished[:16].replace("T", " ") if with_time else finished[:10]
