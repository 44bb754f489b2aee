"""The certification record of an application: the suite's record (suite.reports.results), with the
application's client id and type in its header and the fault injected in each negative scenario."""

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from suite.configuration.coverage import load_coverage_map
from suite.configuration.environment import HttpSettings
from suite.configuration.fast_yaml import safe_load
from suite.configuration.rule_catalogue import catalogue
from suite.reports.results import ResultRecorder, incomplete_verdict
from suite.verdict.blocking import blocked_by_waivers, delivered
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


# A failure message that names a sentence's source already (RFC 6749 section 2.3.1, OpenID Connect Core, a Visma page)
CITES = re.compile(r"\bRFC \d+|OpenID Connect|Visma|section \d")


def with_its_sentence(message: str, rule_id: str) -> str:
    """A failure message of an APPC rule that cites no sentence, with the one the rule enforces
    (appside/features/rules.yaml), quoted; where the rule enforces several, their sources named, as
    which of them a check's message breaks is the check's to say (RFC 6749 section 3.2's POST is no
    cause of a wrong secret). Every failure cites the sentence that forbids it."""
    if CITES.search(message):
        return message
    quoted = [source for source in application_rule_sources(rule_id) if source.get("quote")]
    if len(quoted) == 1:
        return f'{message} ({quoted[0]["source"]}: "{quoted[0]["quote"]}")'
    names = list(dict.fromkeys(source["source"] for source in quoted))
    return (
        f"{message} (the sentences {rule_id} enforces, quoted in the record: {'; '.join(names)})" if names else message
    )


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


# The rules whose failure breaks a sign-in (appside/features/rules.yaml's header): what the application sent
# that the stand-in refuses, as Visma Connect does, so no sign-in can finish whatever drive.signed_in says
SIGN_IN_BREAKERS = ("APPC-01", "APPC-02", "APPC-06", "APPC-08", "APPC-09", "APPC-10")
NOTE_HEADLINE = 300  # characters of that rule's failure the note repeats


class ApplicationRecorder(ResultRecorder):
    def __init__(self, application, issuer: str, path: str, alluredir: str | None) -> None:
        subject = RecordedSubject(
            f"application {application.client_id} ({application.app_type})", issuer, {application.app_type: application}
        )
        super().__init__(subject, path, alluredir)
        self.application = application
        self.notices: list[str] = []  # what the whole run must say, once (appside.steps.sign_ins)
        # (the index of the notice that no normal sign-in finished, its words before the cause it names)
        self.unfinished_sign_ins: tuple[int, str] | None = None

    # its terminal counts and shows every scenario from the record (terminal_stats_from_record), its
    # environment problems among pytest's errors
    prints_unchecked_causes = False

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        """The suite's exit codes (docs/reference-exit-codes.md): python -m appside is the command, so it
        exits with its record's verdict as python -m suite.run does, not with pytest's code: a warned
        rule's failed test is "conformant with 1 warning" (0), an incomplete run (a blocker or critical
        rule left out, e.g. by --rule) exits 5, not 0."""
        super().pytest_sessionfinish(session, exitstatus)
        if self.written:
            session.exitstatus = exit_code(self.written["verdict"])
            self._terminal_counts_from_record(session)

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
            statuses = [s["status"] for s in rule["scenarios"]]
            if rule["status"] == "failed" and "failed" not in statuses:
                rule["status"] = "error" if "error" in statuses else "skipped"

    def _terminal_counts_from_record(self, session) -> None:
        """pytest's summary line counts what the record counts, from the record: one rule each, under
        its status in compliance.md ("could not be checked" for one that ran and found nothing to judge).
        Counted by test, the line said "1 warned, 6 could not be checked" where the record said warned 0,
        unchecked 3: a warning-level scenario with nothing to judge, and a rule of five scenarios."""
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None and self.written:
            terminal_stats_from_record(reporter.stats, self.written)

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
        self._name_what_broke_the_sign_ins(record)
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
        _passed_beside_a_token_in_a_url(record)
        _unchecked_is_incomplete(record)
        _count_unchecked(record)
        return record

    def _name_what_broke_the_sign_ins(self, record: dict) -> None:
        """Where no normal sign-in finished and a rule that breaks a sign-in failed (SIGN_IN_BREAKERS: a client
        secret the stand-in refused, APPC-10), that failure is why, not drive.signed_in: the notice names it. One
        blocked by a failure names that failure (APPC-10 by APPC-11: a code redemption whose secret is only in its
        URL, which authenticates nothing). A failure that gave the sign-ins all they need (Delivered: a web
        application's missing PKCE challenge, which the stand-in does not refuse) explains none of them."""
        if self.unfinished_sign_ins is None:
            return
        index, said = self.unfinished_sign_ins
        failed = {
            rule["rule_id"]: rule for rule in record["rules"] if rule["status"] == "failed" and not delivered(rule)
        }
        blocked_by = [r.get("blocked_by") for r in record["rules"] if r["rule_id"] in SIGN_IN_BREAKERS]
        cause = next((rule_id for rule_id in (*SIGN_IN_BREAKERS, *blocked_by) if rule_id in failed), None)
        if cause is None:
            return
        reason = next((str(s.get("reason", "")) for s in failed[cause]["scenarios"] if s["status"] == "failed"), "")
        headline = reason.split(" (the sentences ", 1)[0].strip()
        if len(headline) > NOTE_HEADLINE:  # the rule's own reason in the record keeps all of it
            headline = headline[:NOTE_HEADLINE].rsplit(" ", 1)[0].rstrip(" ,;:(") + " …"
        self.notices[index] = (
            f"{said}{cause} failed, which explains it: {headline}; the cause is what the application sent, "
            "not drive.signed_in)"
        )

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


# pytest's summary key for a status of the record ("could not be checked" as compliance.md says it)
TERMINAL_KEY = {"unchecked": "could not be checked"}
PYTEST_OWN_KEYS = ("", "warnings", "deselected")  # a passed setup or teardown, a warning: no scenario's outcome


def _terminal_status(status: str, reasons: list[str]) -> str:
    """A rule's or scenario's status as the terminal counts it: its record status, or "could not be
    checked" for a skipped one that ran and found nothing to judge (_count_unchecked)."""
    unchecked = status == "skipped" and any(reason.startswith(UNCHECKED) for reason in reasons)
    return TERMINAL_KEY["unchecked"] if unchecked else status


class _CountedInItsRule(pytest.TestReport):
    """A scenario's report that pytest's summary line does not count: its rule is counted once, by another."""

    @property
    def count_towards_summary(self) -> bool:
        return False


def terminal_stats_from_record(stats: dict[str, list], record: dict) -> None:
    """Each scenario's reports under its status in the record (so FAILED lines are the failures the
    record has), and one report per rule counted (count_towards_summary), under the rule's status:
    pytest's summary line then says the record's counts, "20 passed, 8 skipped, 3 could not be checked"
    as compliance.md's "20 rules passed, 0 failed, 3 could not be checked, 8 skipped"."""
    scenarios = {
        scenario["id"]: (rule, _terminal_status(scenario["status"], [scenario["reason"]]))
        for rule in record["rules"]
        for scenario in rule["scenarios"]
    }
    by_rule: dict[str, list] = {}
    for key in [key for key in stats if key not in PYTEST_OWN_KEYS]:
        kept = []
        for report in stats[key]:
            if getattr(report, "nodeid", None) in scenarios:
                by_rule.setdefault(scenarios[report.nodeid][0]["rule_id"], []).append(report)
            else:
                kept.append(report)
        stats[key] = kept
    for rule in record["rules"]:
        reports = by_rule.get(rule["rule_id"], [])
        rule_key = _terminal_status(rule["status"], [s["reason"] for s in rule["scenarios"]])
        # the report that stands for the rule: one of a scenario with the rule's status, else its first
        counted = next((r for r in reports if scenarios[r.nodeid][1] == rule_key), reports[0] if reports else None)
        for report in reports:
            key = rule_key if report is counted else scenarios[report.nodeid][1]
            if report is not counted and type(report) is pytest.TestReport:
                report.__class__ = _CountedInItsRule  # count_towards_summary is a read-only property
            stats.setdefault(key, []).append(report)
    for key in [key for key, reports in stats.items() if key not in PYTEST_OWN_KEYS and not reports]:
        del stats[key]


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


# The leak rule that leaves a token in a URL to APPC-26: APPC-28 passes over an access log's line of such a
# URL (appside.steps.leaks), and its pass says so. APPC-27 is blocked by APPC-26 where the browser received a token
# in a URL, and a pass of it beside APPC-26's failure is a plain pass: the browser got no token
URL_LEAK_RULE = "APPC-26"
LEFT_TO_URL_LEAK_RULE = ("APPC-28",)
JUDGED_BY_URL_LEAK_RULE = f"passed (the token in a URL is judged by {URL_LEAK_RULE})"


def _passed_beside_a_token_in_a_url(record: dict) -> None:
    """Where APPC-26 failed (a token was in a URL), a pass of APPC-28 is no pass of that token: its passed
    scenarios say it is APPC-26's to judge, not a plain "passed"."""
    if URL_LEAK_RULE not in record.get("failed_rules", ()):
        return
    for rule in record["rules"]:
        if rule["rule_id"] in LEFT_TO_URL_LEAK_RULE and rule["status"] == "passed":
            for scenario in rule["scenarios"]:
                if scenario["status"] == "passed" and not scenario["reason"]:
                    scenario["reason"] = JUDGED_BY_URL_LEAK_RULE


def _unchecked_is_incomplete(record: dict) -> None:
    """A blocker or critical rule that could not be checked leaves the verdict incomplete, as one that
    did not run does; but it ran: unchecked_rules, not not_run_rules, so that no summary tells the
    reader to run every rule when every rule ran and what is missing is the application's evidence."""
    unchecked = [
        rule["rule_id"]
        for rule in record["rules"]
        if rule["severity"] in MUST_CHECK
        and rule["status"] == "skipped"
        and any(s["reason"].startswith(UNCHECKED) for s in rule["scenarios"])
    ]
    record["unchecked_rules"] = unchecked
    not_run = [rule for rule in record["not_run_rules"] if rule not in unchecked]
    record["not_run_rules"] = not_run
    if unchecked and record["verdict"].startswith(("conformant", "incomplete")):
        # one count each: the rules that did not run (missing data, --rule) and those that ran and saw nothing
        by_waived, waived_blockers = blocked_by_waivers(record["rules"])
        record["verdict"] = incomplete_verdict(
            not_run,
            by_waived,
            waived_blockers,
            more=f"{len(unchecked)} blocker or critical rules {UNCHECKED} ({', '.join(unchecked)})",
        )
