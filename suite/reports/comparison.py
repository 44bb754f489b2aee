"""What changed since the previous run of the same environment: rules newly failing, fixed, still
failing, newly warned (a warning-level rule that failed, having passed or failed outright before),
still warned, newly skipped. Each run with a verdict appends its rules' statuses to run-history.jsonl
beside its record (CI carries that file from one run to the next, with Allure's history.jsonl);
the comparison goes into the record, at the top of compliance.md, at the end of the terminal
output, and into changes.md, a short summary for a CI job's page."""

import json
from pathlib import Path
from typing import Any

HISTORY = "run-history.jsonl"
SUMMARY = "changes.md"
FAILING = ("failed", "blocked", "waived")  # a waived failure still fails; the waiver only accepts it
WARNED = "warned"  # a warning-level rule's failure: the verdict stands, the change is still shown
KINDS = (
    ("newly_failing", "newly failing"),
    ("fixed", "fixed"),
    ("still_failing", "still failing"),
    ("newly_warned", "newly warned"),
    ("still_warned", "still warned"),
    ("newly_skipped", "newly skipped"),
)


def compare_with_previous(record: dict, directory: Path) -> dict:
    """The changes since the last run of this environment in `directory`'s history, which gains this run."""
    history = directory / HISTORY
    current = {rule["rule_id"]: rule["status"] for rule in record["rules"]}
    previous = _last_run(history, record["environment"])
    with history.open("a", encoding="utf-8") as file:
        file.write(
            json.dumps(
                {
                    "environment": record["environment"],
                    "finished": record["finished"],
                    "verdict": record["verdict"],
                    "sandbox_defects": record["sandbox_defects"],
                    "rules": current,
                }
            )
            + "\n"
        )
    if previous is None:
        return {"compared_with": None}
    before = previous["rules"]
    changes: dict[str, Any] = {
        "compared_with": {"finished": previous["finished"], "verdict": previous["verdict"]},
        **{key: [] for key, _ in KINDS},
    }
    for rule, status in current.items():
        was = before.get(rule)
        if status in FAILING:
            changes["still_failing" if was in FAILING else "newly_failing"].append(rule)
        elif status == WARNED:
            changes["still_warned" if was == WARNED else "newly_warned"].append(rule)
        elif status == "passed" and (was in FAILING or was == WARNED):
            changes["fixed"].append(rule)
        elif status == "skipped" and was is not None and was != "skipped":
            changes["newly_skipped"].append(rule)
    return changes


def _last_run(history: Path, environment: str) -> dict | None:
    if not history.exists():
        return None
    last = None
    for line in history.read_text(encoding="utf-8").splitlines():
        try:
            run = json.loads(line)
        except ValueError:
            continue  # a line cut short by an interrupted write says nothing of any run
        if isinstance(run, dict) and run.get("environment") == environment and isinstance(run.get("rules"), dict):
            last = run
    return last


def change_lines(record: dict) -> list[str]:
    """The changes in one line per kind, for the terminal and the top of compliance.md."""
    changes = record.get("changes") or {}
    if not changes.get("compared_with"):
        return [f"no earlier run of {record['environment']} to compare with"]
    lines = [
        f"since the previous run of {record['environment']} ({changes['compared_with']['finished']}, "
        f"{changes['compared_with']['verdict']}):"
    ]
    # .get: a record written before a kind existed has no list for it
    lines += [f"  {label}: {', '.join(changes[key])}" for key, label in KINDS if changes.get(key)]
    return lines if len(lines) > 1 else [lines[0] + " no rule changed"]


def render_summary(record: dict) -> str:
    """changes.md: the verdict and what changed, for a CI job summary (GitHub's $GITHUB_STEP_SUMMARY)."""
    counts = record["counts"]
    lines = [
        f"## {record['environment']}: {record['verdict'].upper()}",
        "",
        f"{counts['passed']} rules passed, {counts['failed']} failed, {counts.get('blocked', 0)} blocked, "
        f"{counts.get('waived', 0)} waived, {counts.get('warned', 0)} warned, {counts['error']} could not be checked, "
        f"{counts['skipped']} skipped.",
        "",
    ]
    changes = record.get("changes") or {}
    if not changes.get("compared_with"):
        return "\n".join([*lines, f"No earlier run of {record['environment']} to compare with.", ""])
    lines += [
        f"Since the previous run ({changes['compared_with']['finished']}, {changes['compared_with']['verdict']}):",
        "",
        "| change | rules |",
        "|---|---|",
    ]
    lines += [f"| {label} | {', '.join(changes.get(key, ())) or '-'} |" for key, label in KINDS]
    return "\n".join([*lines, ""])
