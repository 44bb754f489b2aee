"""Waivers: a failure the environment's owner has accepted, for a while, with a reason on record.

An environment file lists them under `waivers:`, or names a file that does (a path relative to
the environment file). Each names a rule id (and optionally part of a scenario's name or test
id), the reason, a reference (ticket or link), who accepted it and an expiry date. A waived
failure is shown as waived, never hidden: on the terminal, in the HTML report (its own category)
and in the record, whose verdict reads "conformant with N waivers".

A waiver past its expiry no longer applies, and one whose rule passed (stale) is a waiver to
remove: either fails the run (not conformant) with a message saying which and what to do. A
waiver without a reason, a reference, an acceptor or an expiry date, or naming an unknown rule,
is a configuration problem."""

import datetime
import difflib
from dataclasses import asdict, dataclass
from pathlib import Path

from suite.configuration.rules import declared_rules

REQUIRED = ("rule", "reason", "reference", "accepted_by", "expires")
FAILING = ("failed", "blocked", "warned")  # blocked: by an earlier failure; warned: a warning-level rule failed


@dataclass(frozen=True)
class Waiver:
    rule: str
    reason: str
    reference: str
    accepted_by: str
    expires: datetime.date
    scenario: str | None = None  # part of a scenario's name or test id; None: every scenario of the rule
    source: str = ""  # the file that lists it, for the messages

    def covers(self, rule_id: str, scenario_name: str, nodeid: str) -> bool:
        return rule_id == self.rule and (
            self.scenario is None or self.scenario in scenario_name or self.scenario in nodeid
        )

    def expired(self, today: datetime.date) -> bool:
        return today > self.expires

    def as_record(self) -> dict:
        fields = asdict(self)
        fields.pop("source")
        return {**fields, "expires": self.expires.isoformat()}


def load_waivers(value, source: Path) -> tuple[list[Waiver], list[str]]:
    """(the waivers `source` lists, the problems that make them unusable: one line each)."""
    if not isinstance(value, list):
        return [], [
            f"waivers: a list of waivers (rule, reason, reference, accepted_by, expires), "
            f"or the path of a file with one, not {type(value).__name__}"
        ]
    waivers, problems = [], []
    for index, entry in enumerate(value):
        waiver, wrong = _waiver(entry, f"waivers[{index}]", source)
        waivers += [waiver] if waiver else []
        problems += wrong
    return waivers, problems


def _waiver(entry, where: str, source: Path) -> tuple[Waiver | None, list[str]]:
    if not isinstance(entry, dict):
        return None, [f"{where}: a mapping with {', '.join(REQUIRED)} (and optionally scenario)"]
    meant = {key: _meant(key) for key in entry if key not in (*REQUIRED, "scenario")}
    problems = [
        f"{where}{_named(entry)}: {key}: unknown key"
        + (f". Did you mean {meant[key]}? Rename {key} to {meant[key]}" if meant[key] else "")
        + f"; a waiver has {', '.join(REQUIRED)} and scenario"
        for key in meant
    ]
    problems += [
        f"{where}{_named(entry)}: {key} is missing; every waiver says which rule, why, under which "
        "ticket, who accepted it and until when"
        for key in REQUIRED
        if (key not in entry or entry[key] in (None, "")) and key not in meant.values()  # said above, once
    ]
    if problems:
        return None, problems
    rule, expires = str(entry["rule"]).strip().upper(), entry["expires"]
    if rule not in declared_rules():
        problems.append(
            f"{where}: unknown rule id {entry['rule']} (the rule ids are in docs/reference-rules.md and features/)"
        )
    if isinstance(expires, str):
        try:
            expires = datetime.date.fromisoformat(expires)
        except ValueError as error:
            problems.append(f"{where}{_named(entry)}: expires: {expires} is not a date ({error}); write YYYY-MM-DD")
    elif not isinstance(expires, datetime.date) or isinstance(expires, datetime.datetime):
        problems.append(f"{where}{_named(entry)}: expires: {expires} is not a date (YYYY-MM-DD)")
    if problems:
        return None, problems
    scenario = entry.get("scenario")
    return Waiver(
        rule,
        str(entry["reason"]).strip(),
        str(entry["reference"]),
        str(entry["accepted_by"]),
        expires,
        str(scenario) if scenario not in (None, "") else None,
        str(source),
    ), []


# what a waiver's keys are called elsewhere (an expiry "until", a ticket): the key each one means
OTHER_NAMES = {
    "expires": ("until", "expiry", "expiry_date", "expires_on", "valid_until", "end", "deadline"),
    "reference": ("ref", "ticket", "issue", "link", "url"),
    "accepted_by": ("approved_by", "owner", "by", "signed_off_by", "accepted"),
    "rule": ("rule_id", "id"),
    "reason": ("why", "justification", "comment", "description"),
}


def _meant(key: object) -> str | None:
    """The waiver key an unknown one most likely stands for: a known other name of it, or a close spelling."""
    name = str(key).strip().lower()
    close = difflib.get_close_matches(name, (*REQUIRED, "scenario"), n=1, cutoff=0.6)
    return next((real for real, others in OTHER_NAMES.items() if name in others), close[0] if close else None)


def _named(entry: dict) -> str:
    return f" ({entry['rule']})" if entry.get("rule") else ""


def apply_waivers(rules: list[dict], waivers, today: datetime.date | None = None) -> tuple[list[Waiver], list[str]]:
    """Mark the failing scenarios that a waiver in force covers as "waived" (a rule whose failing
    scenarios are all waived is "waived"): (the waivers that were used, what is wrong with the others)."""
    today = today or datetime.date.today()
    used, problems = [], []
    ran = {rule["rule_id"]: rule for rule in rules}
    for waiver in waivers:
        rule = ran.get(waiver.rule)
        if waiver.expired(today):
            problems.append(
                f"waiver for {_what(waiver)} expired on {waiver.expires} (ref. {waiver.reference}): "
                f"the failure counts again. Fix it, or renew the waiver (a new expires date and "
                f"accepted_by) in {waiver.source}"
            )
            continue
        if rule is None:
            continue  # not run (e.g. --rule): says nothing of the waiver
        covered = [
            s
            for s in rule["scenarios"]
            if s["status"] in FAILING and waiver.covers(rule["rule_id"], s["name"], s["id"])
        ]
        if not covered:
            problems.append(
                f"waiver for {_what(waiver)} is stale: {waiver.rule} did not fail in this run "
                f"(ref. {waiver.reference}). Remove it from {waiver.source}"
            )
            continue
        for scenario in covered:
            scenario["waived_status"], scenario["status"] = scenario["status"], "waived"
        used.append(waiver)
    for rule in rules:
        statuses = {s["status"] for s in rule["scenarios"]}
        if "waived" in statuses and not statuses & {"failed", "blocked", "error", "warned"}:
            rule["status"] = "waived"
    return used, problems


def _what(waiver: Waiver) -> str:
    return waiver.rule + (f" (scenario {waiver.scenario!r})" if waiver.scenario else "")


def waiver_for(waivers, rule_id: str, scenario_name: str, nodeid: str, today: datetime.date | None = None):
    """The waiver in force that covers this scenario, if any: what the terminal shows as waived."""
    today = today or datetime.date.today()
    return next((w for w in waivers if not w.expired(today) and w.covers(rule_id, scenario_name, nodeid)), None)
