"""The certification record of an application: the suite's record (suite.reports.results), with the
application's client id and type in its header and the fault injected in each negative scenario."""

import functools
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from suite.configuration.coverage import load_coverage_map
from suite.configuration.environment import HttpSettings
from suite.configuration.fast_yaml import safe_load
from suite.configuration.rule_catalogue import catalogue
from suite.reports.results import ResultRecorder
from suite.verdict.exit_codes import exit_code

CATALOGUE = Path(__file__).resolve().parent / "features" / "rules.yaml"
# A rule skipped with this reason ran and found no evidence either way (pytest.skip in its step):
# it is no pass, and a blocker or critical rule like that leaves the certification incomplete.
UNCHECKED = "could not be checked for this application"
# a scenario whose only failure is that it found nothing to judge, which is no evidence against the
# application (APPC-23: no code redeemed is no code redeemed twice): blocked by a rule it needs that
# failed, else not checked (an incomplete run), never a failure of its own rule
UNCHECKED_UNLESS_BLOCKED = "unchecked_unless_blocked"
MUST_CHECK = ("blocker", "critical")
# A rule skipped with this reason does not apply to the application's type (appside.steps.sign_ins.skip_unless_type)
APPLIES_TO = "applies to "
# The Service Integrations page's section a rule written for both kinds of application judges for a service (its
# @doc tag names the Interactive Integrations page): the token request's secret, the token's lifetime
SERVICE_SECTIONS = {"APPC-11": "token-request", "APPC-24": "token-request", "APPC-20": "token-response"}


def application_rule_sources(rule_id: str) -> list[dict]:
    """The sentences an APPC rule enforces (appside/features/rules.yaml), as the record lists them."""
    entry = catalogue(CATALOGUE).get(rule_id)
    return entry.as_record() if entry else []


@functools.cache
def _sources_by_kind() -> dict[str, tuple[list[str], list[str]]]:
    """rule id -> (the ids of the Visma statements its sources name, `- statement: II-17`; the names
    of its other sources, "RFC 6749 section 10.3")."""
    raw = safe_load(CATALOGUE.read_text(encoding="utf-8")) or {}
    return {
        rule_id: (
            [source["statement"] for source in entry.get("sources") or () if "statement" in source],
            list(dict.fromkeys(source["source"] for source in entry.get("sources") or () if "source" in source)),
        )
        for rule_id, entry in raw.items()
    }


def application_rule_statements(rule_id: str) -> tuple[list[dict], str]:
    """Where an APPC rule's sentences come from, as the server side's record says it of its rules: the
    Visma statements it quotes (features/coverage_map.yaml: id, page, section, quote), and its other
    sources (RFCs, OpenID Connect), which are beyond the pages."""
    ids, others = _sources_by_kind().get(rule_id, ([], []))
    statements = [
        {key: statement[key] for key in ("id", "page", "section", "quote")}
        for statement_id in ids
        for statement in load_coverage_map().statements
        if statement["id"] == statement_id
    ]
    return statements, ", ".join(others)


@dataclass
class RecordedSubject:
    """What suite.reports.results reads of an environment, for an application."""

    name: str
    issuer: str
    clients: dict
    http: HttpSettings = field(default_factory=HttpSettings)
    sandbox_defects: tuple = ()
    is_sandbox: bool = False  # the subject is the application, not the stand-in that plays Visma Connect


class ApplicationRecorder(ResultRecorder):
    def __init__(self, application, issuer: str, path: str, alluredir: str | None) -> None:
        subject = RecordedSubject(
            f"application {application.client_id} ({application.app_type})", issuer, {application.app_type: application}
        )
        super().__init__(subject, path, alluredir)
        self.application = application
        self.notices: list[str] = []  # what the whole run must say, once (appside.steps.sign_ins)
        self.unchecked: set[str] = set()  # node ids of scenarios that found nothing to judge (unblocked)

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        """The suite's exit codes (docs/reference-exit-codes.md): python -m appside is the command, so it
        exits with its record's verdict as python -m suite.run does, not with pytest's code: a warned
        rule's failed test is "conformant with 1 warning" (0), an incomplete run (a blocker or critical
        rule left out, e.g. by --rule) exits 5, not 0."""
        super().pytest_sessionfinish(session, exitstatus)
        if self.written:
            session.exitstatus = exit_code(self.written["verdict"])
            self._unchecked_apart_from_failures(session)

    def needs(self, rule_id: str) -> tuple[str, ...]:
        """The rules an APPC rule relies on (`needs` in appside/features/rules.yaml): a rule kept
        from its own check by one of them failing is blocked by it."""
        entry = catalogue(CATALOGUE).get(rule_id)
        return entry.needs if entry else ()

    def unblocked(self, rules: dict[str, dict]) -> None:
        """A scenario that found nothing to judge (no token request sent, no token issued, no sign-in
        finished: NothingToCheck) and that no failed rule it needs explains could not be checked: no
        evidence is no failure of the application, nor a pass (docs/certify-application.md, One cause,
        one failure). A blocker or critical rule so leaves the certification incomplete."""
        for rule in rules.values():
            for scenario in rule["scenarios"]:
                if scenario["status"] == "failed" and scenario.get("failed_step", {}).get("nothing_to_check"):
                    scenario["status"], scenario["reason"] = "skipped", f"{UNCHECKED}: {scenario['reason']}"
                    self.unchecked.add(scenario["id"])
            statuses = [s["status"] for s in rule["scenarios"]]
            if rule["status"] == "failed" and "failed" not in statuses:
                rule["status"] = "error" if "error" in statuses else "skipped"

    def _unchecked_apart_from_failures(self, session) -> None:
        """The scenarios that could not be checked are no failures on the terminal either, nor skips
        (not applicable): counted as "could not be checked", as compliance.md and counts.unchecked are."""
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            skipped = reporter.stats.get("skipped", [])
            unchecked = [r for r in skipped if _skip_reason(r).startswith(UNCHECKED)]
            if unchecked:
                reporter.stats["skipped"] = [r for r in skipped if r not in unchecked]
                reporter.stats.setdefault("could not be checked", []).extend(unchecked)
        if reporter is not None and self.unchecked:
            failed = reporter.stats.get("failed", [])
            reporter.stats["failed"] = [r for r in failed if r.nodeid not in self.unchecked]
            reporter.stats.setdefault("could not be checked", []).extend(
                r for r in failed if r.nodeid in self.unchecked
            )

    def controls(self, rule_id: str) -> tuple[str, ...]:
        """An APPC refusal's control is its own step (a normal sign-in of the same application), not a rule."""
        return ()

    # tryfirst as the method it overrides (an override loses the base's hookimpl marker): a warned
    # scenario must become "skipped" before pytest counts it as failed, or the run exits 1
    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report) -> None:
        super().pytest_runtest_logreport(report)
        properties = dict(report.user_properties)
        for name in ("fault", "client_authentication", UNCHECKED_UNLESS_BLOCKED):
            if properties.get(name) and report.nodeid in self.scenarios:
                self.scenarios[report.nodeid][name] = properties[name]

    def record(self) -> dict:
        record = super().record()
        record["application"] = {
            "client_id": self.application.client_id,
            "type": self.application.app_type,
            "name": self.application.name,
        }
        record["notices"] = list(self.notices)
        for rule in record["rules"]:
            rule["documentation"] = self._documentation(rule)
            rule["sources"] = application_rule_sources(rule["rule_id"])
            rule["statements"], rule["beyond_documentation"] = application_rule_statements(rule["rule_id"])
            for scenario in rule["scenarios"]:
                seen = self.scenarios.get(scenario["id"], {})
                if seen.get("fault"):
                    scenario["injected_fault"] = seen["fault"]
                if seen.get("client_authentication"):
                    scenario["client_authentication"] = seen["client_authentication"]
                if seen.get(UNCHECKED_UNLESS_BLOCKED) and scenario["status"] == "failed":
                    scenario["status"], scenario["reason"] = "skipped", f"{UNCHECKED}: {scenario['reason']}"
        _not_failed_for_nothing_to_judge(record)
        _unchecked_is_incomplete(record)
        _count_unchecked(record)
        return record

    def _documentation(self, rule: dict) -> str:
        """The page a rule is documented on, for this application: a rule of both kinds of application that
        its @doc tag puts on the Interactive Integrations page is on the Service Integrations page for a
        service (at its section, where SERVICE_SECTIONS names one)."""
        page: str = rule["documentation"]
        applies = any(s["status"] != "skipped" or not s["reason"].startswith(APPLIES_TO) for s in rule["scenarios"])
        if self.application.is_interactive or "/interactive-integrations" not in page or not applies:
            return page
        section = SERVICE_SECTIONS.get(rule["rule_id"])
        return page.split("/interactive-integrations")[0] + "/service-integrations" + (f"#{section}" if section else "")


def _count_unchecked(record: dict) -> None:
    """The rules that ran and found nothing to judge are counted apart from the skipped ones (not
    applicable, not selected): counts.unchecked, as the terminal and compliance.md say them ("could
    not be checked"); counts.skipped keeps the others (suite.reports.record_consistency)."""
    unchecked = [
        rule["rule_id"]
        for rule in record["rules"]
        if rule["status"] == "skipped" and any(s["reason"].startswith(UNCHECKED) for s in rule["scenarios"])
    ]
    record["counts"]["unchecked"] = len(unchecked)
    record["counts"]["skipped"] -= len(unchecked)


def _skip_reason(report) -> str:
    """A skipped test's reason as pytest keeps it: (path, line, "Skipped: reason")."""
    longrepr = getattr(report, "longrepr", None)
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else ""
    return str(reason).removeprefix("Skipped: ")


def _not_failed_for_nothing_to_judge(record: dict) -> None:
    """A rule whose failed scenarios all became unchecked (UNCHECKED_UNLESS_BLOCKED) did not fail."""
    for rule in record["rules"]:
        if rule["status"] == "failed" and not any(s["status"] == "failed" for s in rule["scenarios"]):
            rule["status"] = "skipped"
            record["failed_rules"].remove(rule["rule_id"])
            record["counts"]["failed"] -= 1
            record["counts"]["skipped"] = record["counts"].get("skipped", 0) + 1
    failures = record["failed_rules"] or record["blocked_rules"] or record.get("waiver_problems")
    if record["verdict"] == "not conformant" and not failures and not record["error_rules"]:
        record["verdict"] = "incomplete"  # _unchecked_is_incomplete says how


def _unchecked_is_incomplete(record: dict) -> None:
    """A blocker or critical rule that could not be checked is not run, as far as the verdict goes."""
    unchecked = [
        rule["rule_id"]
        for rule in record["rules"]
        if rule["severity"] in MUST_CHECK
        and rule["status"] == "skipped"
        and any(s["reason"].startswith(UNCHECKED) for s in rule["scenarios"])
    ]
    record["unchecked_rules"] = unchecked
    not_run = [rule for rule in record["not_run_rules"] if rule not in unchecked]
    record["not_run_rules"] = sorted(set(not_run) | set(unchecked))
    if unchecked and record["verdict"].startswith(("conformant", "incomplete")):
        # one count each: the rules that did not run (missing data, --rule) and those that ran and saw nothing
        record["verdict"] = "incomplete: " + ", ".join(
            ([f"{len(not_run)} blocker or critical rules did not run"] if not_run else [])
            + [f"{len(unchecked)} blocker or critical rules {UNCHECKED} ({', '.join(unchecked)})"]
        )
