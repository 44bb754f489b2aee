"""The compliance record: every scenario's outcome under its rule id, written as JSON at the end.

Registered in the controlling pytest process only; with pytest-xdist the workers' reports
arrive here with the rule metadata in `user_properties`.
"""

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from suite.configuration.coverage import load_coverage_map
from suite.configuration.rule_catalogue import entry as rule_entry
from suite.configuration.rules import FEATURES, MUST_RUN, WARNING, Rule, declared_rules
from suite.configuration.waivers import apply_waivers, waiver_for
from suite.reports.allure_output import write_run_information
from suite.reports.allure_results import present_results, trace_from_the_step
from suite.reports.atomic_write import (
    NOT_WRITTEN_FD,
    OUTPUT_ERRORS,
    ReportsNotWritten,
    not_written,
    undone_on_failure,
    why,
    write_all_or_none,
)
from suite.reports.comparison import HISTORY, SUMMARY, compare_with_previous, render_summary
from suite.reports.junit_outcomes import present_junit
from suite.reports.record_markdown import render_markdown, render_no_verdict, verdict_lines
from suite.reports.record_seal import seal
from suite.reports.run_context import who_ran
from suite.reports.unchecked_causes import UNCHECKED, URL_QUERY, cause_lines, unchecked_ids
from suite.verdict.blocking import blocked_by_waivers, catalogue_controls, catalogue_needs, resolve_blocked
from suite.verdict.checks import MISSING_KEY
from suite.verdict.exit_codes import EXIT_CONFIGURATION_PROBLEM, EXIT_ENVIRONMENT_PROBLEM, EXIT_REPORTS_NOT_WRITTEN

# A rule's status in the record; "warned": a warning-level rule (@level:warning) whose check failed.
STATUSES = ("passed", "failed", "blocked", "waived", "warned", "error", "skipped")


def write_no_verdict(path: Path | str, kind: str, reason: str, environment: str) -> dict:
    """A record that says this run produced no verdict and why, in place of any earlier run's."""
    from suite.secrets.redaction import said

    now = _iso(time.time())
    record = {
        "verdict": f"no verdict: {kind}",
        "reason": said(reason).strip(),
        "environment": environment,
        "finished": now,
        "suite_version": _suite_version(),
        "run_by": who_ran(),
    }
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportsNotWritten(f"{path.parent}: could not be made: {why(error)}") from None
    write_all_or_none(
        {
            path: json.dumps(record, indent=2),
            path.with_suffix(".md"): render_no_verdict(record),
            path.parent / SUMMARY: render_no_verdict(record),
        }
    )
    return record


class ResultRecorder:
    # each cause that left scenarios unchecked printed once, on the terminal (suite.reports.unchecked_causes)
    prints_unchecked_causes = True

    def __init__(self, environment, path: str, alluredir: str | None = None) -> None:
        self.environment, self.path = environment, Path(path)
        self.alluredir = Path(alluredir) if alluredir else None
        self.started = time.time()
        self.scenarios: dict[str, dict] = {}
        self.written: dict | None = None
        self.not_written = ""  # why the record could not be written (a full disk, a read-only folder)
        self.configuration_problem = False  # e.g. login settings that do not fit the login page
        self.configuration_causes: dict[str, str] = {}  # each configuration problem: the first scenario it stopped
        self.left_out: set[str] = set()  # rules with scenarios deselected (--rule, -k, -m, --deselect)
        self.collected: dict[str, str] = {}  # node id -> rule id, to find what an interruption left out
        self.features = FEATURES
        self.waivers = getattr(environment, "waivers", ())  # an application (appside) has none

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.left_out.update(_rule_id(item) for item in items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = {item.nodeid: _rule_id(item) for item in session.items}

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        session.config.pluginmanager.register(_OutputFailures(self), "conformance-output-failures")
        # the features of this run (the suite's, or the application side's)
        self.features = session.config.rootpath / session.config.getini("bdd_features_base_dir")

    @pytest.hookimpl(tryfirst=True)  # before the terminal and JUnit XML read the traceback
    def pytest_runtest_logreport(self, report) -> None:
        if report.failed and isinstance(report.longrepr, str):  # conftest scrubbed it into text
            # The terminal's and JUnit's traceback start at the step, as the HTML report's do:
            # pytest-bdd calls a step through pytest's fixture code, which tells the reader nothing.
            report.longrepr = trace_from_the_step(report.longrepr)
        properties = dict(report.user_properties)
        if "rule" not in properties:
            return
        self._entry(report, properties)
        if report.failed and properties.get("configuration_problem"):
            self._once_per_cause(report, properties["scenario"])
        if not report.failed or self.scenarios[report.nodeid]["status"] != "failed":
            return
        waiver = waiver_for(self.waivers, properties["rule"]["rule_id"], properties["scenario"], report.nodeid)
        if waiver:  # shown as waived on the terminal (pytest's "x"), in the record by apply_waivers
            report.outcome, report.wasxfail = "skipped", f"waived until {waiver.expires}: {waiver.reason}"
        elif properties["rule"]["level"] == WARNING:
            # shown as warned on the terminal (pytest_report_teststatus), in the record by _warned;
            # pytest counts it apart from failures, as it counts a waived one
            report.outcome, report.wasxfail = "skipped", f"warning: {_first_line(report.longreprtext)}"
            report.conformance_warning = True

    def _once_per_cause(self, report, scenario: str) -> None:
        """A configuration problem is printed once (one line per cause, as docs/certify-server.md
        promises): a wrong test-user password stopped 58 scenarios with the same line. The record keeps
        each scenario's whole reason (_entry took it); the terminal and JUnit name the first scenario.
        Pages are compared without their query: one consent page, another client's request."""
        cause = URL_QUERY.sub(r"\1", report.longreprtext.strip())  # the same page, for another client or state
        first = self.configuration_causes.setdefault(cause, scenario)
        if first != scenario:
            report.longrepr = f"configuration problem: could not be checked: the same cause as {first}"

    def pytest_terminal_summary(self, terminalreporter) -> None:
        """Each cause that left scenarios unchecked, once (suite.reports.unchecked_causes): pytest's FAILURES
        section no longer shows them (_blocked_apart_from_failures)."""
        if not self.prints_unchecked_causes:
            return
        for line in cause_lines(self.written or {"rules": []}):
            terminalreporter.write_line(line)

    @pytest.hookimpl(tryfirst=True)  # before pytest's own "x" for what it takes for an expected failure
    def pytest_report_teststatus(self, report, config):
        if getattr(report, "conformance_warning", False):
            return "warned", "W", "WARNED"
        return None

    def _entry(self, report, properties) -> None:
        entry = self.scenarios.setdefault(
            report.nodeid,
            {
                "scenario": properties["scenario"],
                "feature": properties["feature"],
                "client_role": properties.get("client_role"),
                **properties["rule"],
                "status": "passed",
                "reason": "",
            },
        )
        if report.failed:
            misconfigured = bool(properties.get("configuration_problem"))
            self.configuration_problem |= misconfigured
            entry["status"] = "error" if properties.get("environment_problem") or misconfigured else "failed"
            entry["reason"] = _first_line(report.longreprtext)
            if properties.get("server_error"):  # True, or the sentence that says the request is served
                entry["server_error"] = properties["server_error"]
            if "failed_step" in properties:
                entry["failed_step"] = properties["failed_step"]
            if "difference" in properties:
                entry["difference"] = properties["difference"]
        elif report.skipped:
            entry["status"] = "skipped"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            entry["reason"] = reason.removeprefix("Skipped: ")

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if session.config.option.collectonly or self.not_written:  # nothing ran, or its results could not be kept
            return
        record = self.record()
        if record["verdict"].startswith("inconclusive"):  # failed rules are a verdict, whatever else errored
            session.exitstatus = EXIT_CONFIGURATION_PROBLEM if self.configuration_problem else EXIT_ENVIRONMENT_PROBLEM
        try:
            self._write(record)
        except ReportsNotWritten as problem:
            # a full disk or a folder made read-only during the run: one line, its own exit code, and
            # every file that could not be replaced is still the previous run's, whole
            session.exitstatus = EXIT_REPORTS_NOT_WRITTEN
            self.not_written = str(problem)
            return
        if self.alluredir and self.alluredir.is_dir():
            write_run_information(self.alluredir, record)
            present_results(self.alluredir, record)
        _blocked_apart_from_failures(session, record)
        self.written = record

    def _write(self, record: dict) -> None:
        """The record, its Markdown and changes.md, all or none (suite.reports.atomic_write)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ReportsNotWritten(f"{self.path.parent}: could not be made: {why(error)}") from None
        with undone_on_failure(self.path.parent / HISTORY):  # a run whose record could not be written is not in it
            if record["rules"]:  # a run that ran no rule has nothing to compare, nor to be compared with
                record["changes"] = compare_with_previous(
                    record, self.path.parent, sorted(self.left_out), interrupted=self.interrupted()
                )
            seal(record)  # last: the digest covers every field written
            write_all_or_none(
                {
                    self.path: json.dumps(record, indent=2),
                    self.path.with_suffix(".md"): render_markdown(record),
                    self.path.parent / SUMMARY: render_summary(record, self.path.parent),
                }
            )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """After pytest's own summary, so the verdict is the last thing on the terminal."""
        if self.not_written:
            print(f"ERROR: the reports could not be written\n{self.not_written}", file=sys.stderr)
            tell_the_runner(self.not_written)
        xmlpath = getattr(config.option, "xmlpath", None)
        if self.written is not None and xmlpath:
            present_junit(Path(xmlpath), self.written)  # pytest wrote it in its own sessionfinish
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if self.written is None or reporter is None:
            return
        conformant = self.written["verdict"].startswith("conformant")
        for number, line in enumerate(verdict_lines(self.written, self.path)):
            reporter.write_line(
                line, bold=number == 0, green=conformant and number == 0, red=not conformant and number == 0
            )

    def record(self) -> dict:
        rules: dict[str, dict] = {}
        coverage = load_coverage_map()
        _judge_server_errors(self.scenarios)
        for nodeid, entry in sorted(self.scenarios.items()):
            rule = rules.setdefault(
                entry["rule_id"],
                {
                    "rule_id": entry["rule_id"],
                    "title": entry["title"],
                    "severity": entry["severity"],
                    "level": entry["level"],
                    "documentation": entry["doc_url"],
                    "rfc": entry["rfc_urls"],
                    "sources": rule_entry(entry["rule_id"]).as_record(),
                    # the documented statements it checks (features/coverage_map.yaml), or its other source
                    "statements": coverage.statements_of(entry["rule_id"]),
                    "beyond_documentation": coverage.source_beyond(entry["rule_id"]),
                    "scenarios": [],
                },
            )
            rule["scenarios"].append(
                {
                    "id": nodeid,
                    "name": entry["scenario"],
                    "status": entry["status"],
                    "reason": entry["reason"],
                    "client_role": entry.get("client_role"),
                    **({"failed_step": entry["failed_step"]} if "failed_step" in entry else {}),
                    **({"difference": entry["difference"]} if "difference" in entry else {}),
                }
            )
        for rule in rules.values():
            rule["status"] = _rule_status([s["status"] for s in rule["scenarios"]])
        resolve_blocked(rules, self.needs, self.controls)
        self.unblocked(rules)
        _warned(rules)
        ordered = [rules[k] for k in sorted(rules, key=_rule_sort_key)]
        waivers, waiver_problems = apply_waivers(ordered, self.waivers)
        failed = [r["rule_id"] for r in ordered if r["status"] == "failed"]
        blocked = [r["rule_id"] for r in ordered if r["status"] == "blocked"]
        by_waived, waived_blockers = blocked_by_waivers(ordered)
        errors = [r["rule_id"] for r in ordered if r["status"] == "error"]
        warned = [r["rule_id"] for r in ordered if r["status"] == "warned"]
        missing_data = _missing_data(ordered)
        not_run = sorted(set(self.not_run(set(rules))) | set(missing_data), key=_rule_sort_key)
        environment = self.environment
        summary = {
            "environment": environment.name,
            "issuer": environment.issuer,
            "client_ids": {role: c.client_id for role, c in environment.clients.items()},
            "sandbox_defects": list(environment.sandbox_defects or []),
            # the suite's own stand-in for Visma Connect: a run against it demonstrates, certifies nothing
            "embedded_sandbox": environment.is_sandbox,
            "tls_verification": _tls_verification(environment),
            "suite_version": _suite_version(),
            "started": _iso(self.started),
            "finished": _iso(time.time()),
            # failed rules make a run not conformant whatever else errored; an error alone gives no verdict
            "verdict": (
                "not conformant"
                if failed or len(blocked) > len(by_waived) or waiver_problems
                else "inconclusive: configuration problem"
                if errors and self.configuration_problem
                else "inconclusive: environment problem"
                if errors
                else incomplete_verdict(not_run, by_waived, waived_blockers)
                if not_run or by_waived
                else _conformant(len(waivers), len(warned))
            ),
            "failed_rules": failed,
            "error_rules": errors,
            "blocked_rules": blocked,
            "waived_rules": [r["rule_id"] for r in ordered if r["status"] == "waived"],
            "warned_rules": warned,
            "not_run_rules": not_run,
            # blocker or critical rules skipped for want of a key of the environment file: rule id -> keys
            "missing_data": missing_data,
            "waivers": [w.as_record() for w in waivers],
            "waiver_problems": waiver_problems,
            "counts": {status: sum(1 for r in ordered if r["status"] == status) for status in STATUSES},
            "run_by": who_ran(),
        }
        summary["rules"] = ordered
        return summary

    def unblocked(self, rules: dict[str, dict]) -> None:
        """What becomes of a scenario that failed before its own check and no rule it needs failed:
        on the server side, a failure of its own rule (suite/verdict/blocking.py)."""

    def needs(self, rule_id: str) -> tuple[str, ...]:
        """The rules `rule_id` relies on (suite.verdict.blocking); the application side has its own."""
        return catalogue_needs(rule_id)

    def controls(self, rule_id: str) -> tuple[str, ...]:
        """A refusal rule's controls (suite.verdict.blocking); the application side has its own."""
        return catalogue_controls(rule_id)

    def interrupted(self) -> bool:
        """Scenarios collected and never reached: Ctrl-C, SIGTERM, a run stopped by -x."""
        return any(nodeid not in self.scenarios for nodeid in self.collected)

    def not_run(self, ran: set[str]) -> list[str]:
        """The blocker and critical rules this run left out, wholly or in part: declared in the
        features and never reported, deselected, or collected and never reached (an interruption)."""
        declared = declared_rules(self.features)
        unreached = {rule for nodeid, rule in self.collected.items() if nodeid not in self.scenarios}
        left_out = (set(declared) - ran) | self.left_out | unreached
        return sorted((r for r in left_out if declared.get(r) in MUST_RUN), key=_rule_sort_key)


def incomplete_verdict(not_run: list[str], by_waived: list[str], waived_blockers: list[str], more: str = "") -> str:
    """ "incomplete: 34 rules not checked (blocked by waived PKCE-01), 3 blocker or critical rules did not run" """
    rules = f"{len(by_waived)} rule{'s' if len(by_waived) != 1 else ''}"
    parts = [f"{rules} not checked (blocked by waived {', '.join(waived_blockers)})"] if by_waived else []
    parts += [f"{len(not_run)} blocker or critical rules did not run"] if not_run else []
    return "incomplete: " + ", ".join(parts + ([more] if more else []))


class _OutputFailures:
    """A report file another plugin writes at the end (pytest's JUnit XML, Allure's results) on a
    full disk or a folder made read-only: the same one line and exit code as the record's, not
    pytest's INTERNALERROR traceback."""

    def __init__(self, recorder: ResultRecorder) -> None:
        self.recorder = recorder

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session):
        """Allure writes each scenario's result as it ends: a disk that fills during the run stops it
        there, with one line; a record of a run cut short would read as incomplete, so none is written."""
        try:
            return (yield)
        except OSError as error:
            if error.errno not in OUTPUT_ERRORS:
                raise
            self.recorder.not_written = str(not_written(error.filename or "the Allure results", error))
            return True

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int):
        result = None
        try:
            result = yield
        except OSError as error:
            if error.errno not in OUTPUT_ERRORS:
                raise
            what = error.filename or "the JUnit XML or the Allure results"
            self.recorder.not_written = self.recorder.not_written or str(not_written(what, error))
        if self.recorder.not_written:
            session.exitstatus = EXIT_REPORTS_NOT_WRITTEN
        return result


def tell_the_runner(problem: str) -> None:
    """What could not be written, for `python -m suite.run`'s last line (NOT_WRITTEN_FD: a pipe it
    gave this pytest; a note in a file would need the space that is missing)."""
    descriptor = os.environ.get(NOT_WRITTEN_FD)
    if descriptor and descriptor.isdigit() and not os.environ.get("PYTEST_XDIST_WORKER"):  # the runner's child only
        with contextlib.suppress(OSError):
            os.write(int(descriptor), problem.encode("utf-8", errors="replace")[:4096])


def _missing_data(rules: list[dict]) -> dict[str, list[str]]:
    """Blocker and critical rules that never ran for want of environment (or application file) data:
    a skip of suite.verdict.checks.skip_for_missing_data (or skip_for_missing_application_data) in
    every scenario that did not run. The keys to add."""
    found = {}
    for rule in rules:
        if rule["severity"] not in MUST_RUN or any(s["status"] != "skipped" for s in rule["scenarios"]):
            continue
        keys = sorted({m.group(1) for s in rule["scenarios"] if (m := MISSING_KEY.match(s["reason"]))})
        if keys:
            found[rule["rule_id"]] = keys
    return found


def _judge_server_errors(scenarios: dict[str, dict]) -> None:
    """A server error is the server's answer: a scenario that got HTTP 500 to every attempt one
    request allows (one, for a code or refresh token redemption), in a run where the same server
    answered other scenarios (one passed, or failed a check of its own), failed its rule; the 500
    is what the server answered instead of what the rule's sentence asks. Where nothing was
    answered, the environment as a whole cannot be judged."""
    answered = any(e["status"] in ("passed", "failed") for e in scenarios.values())
    if not answered:
        return
    for entry in scenarios.values():
        if entry["status"] == "error" and entry.get("server_error"):
            sources = rule_entry(entry["rule_id"]).sources
            cited = f"{sources[0].source}: {sources[0].quote}" if sources else "the rule's sentence"
            # the sentence that says the request is served: for a rule whose own sentence is about a later
            # request (REV-02 after a refresh), the one the server fell short of
            served = entry["server_error"]
            entry["status"] = "failed"
            entry["reason"] = (
                f"the server answered {entry['reason'].removeprefix('server error: ').split('. ')[0]} "
                f"while it answers the run's other requests: that is its answer to this request, not what the "
                f"rule asks ({cited})"
                + (f"; the request is one the server must serve ({served})" if isinstance(served, str) else "")
            )


def _blocked_apart_from_failures(session, record: dict) -> None:
    """One cause, one failure on the terminal too: pytest counted a blocked scenario as failed; its
    summary lists it as blocked, without a traceback, and its FAILED lines are the real failures. A
    scenario that could not be checked for an environment problem is counted apart too, its cause
    printed once (suite.reports.unchecked_causes)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    scenarios = [s for rule in record["rules"] for s in rule["scenarios"]]
    blocked = {s["id"] for s in scenarios if s["status"] == "blocked"}
    # kept from its own check by a warning-level rule's failure: not applicable (suite/verdict/blocking.py)
    not_applicable = {s["id"] for s in scenarios if s.get("not_applicable_after")}
    unchecked = unchecked_ids(record)
    moved_apart = blocked | not_applicable | unchecked
    if reporter is None or not moved_apart:
        return
    # failed before its own check, or a refusal whose control was refused too (suite/verdict/blocking.py)
    # a warning-level scenario kept from its own check: warned when it failed, blocked once the record knows
    for outcome in ("failed", "passed", "warned"):
        reports = reporter.stats.get(outcome, [])
        reporter.stats[outcome] = [report for report in reports if report.nodeid not in moved_apart]
        for category, nodeids in (("blocked", blocked), ("not applicable", not_applicable), (UNCHECKED, unchecked)):
            moved = [report for report in reports if report.nodeid in nodeids]
            if moved:
                reporter.stats.setdefault(category, []).extend(moved)


def rule_properties(rule: Rule, title: str) -> dict:
    return {
        "rule_id": rule.rule_id,
        "title": title,
        "severity": rule.severity,
        "level": rule.level,
        "doc_url": rule.doc_url,
        "rfc_urls": rule.rfc_urls,
    }


def _warned(rules: dict[str, dict]) -> None:
    """A warning-level rule's failed scenarios are warned, and so is the rule: its check failed, and
    the record says so everywhere a failure shows, but the verdict stays conformant. Decided after
    resolve_blocked: a scenario kept from its own check by another rule's failure is blocked."""
    for rule in rules.values():
        if rule["level"] != WARNING:
            continue
        for scenario in rule["scenarios"]:
            if scenario["status"] == "failed":
                scenario["status"] = "warned"
        if rule["status"] == "failed":
            rule["status"] = "warned"


def _tls_verification(environment) -> str:
    """Whether the server's certificates were checked; for a plain-HTTP issuer on this machine (the
    sandbox, a local server) there was no certificate: "on" would claim a check that never ran."""
    if str(environment.issuer or "").lower().startswith("http://"):
        return "not applicable: the issuer is plain HTTP on this machine, no certificate to verify"
    if not environment.http.verify_tls:
        return "off"
    return f"on, CA bundle {environment.http.ca_bundle}" if environment.http.ca_bundle else "on"


def _conformant(waivers: int, warnings: int) -> str:
    """ "conformant", or "conformant with 1 waiver and 2 warnings": what the verdict accepted."""
    accepted = [f"{n} {word}{'s' if n > 1 else ''}" for n, word in ((waivers, "waiver"), (warnings, "warning")) if n]
    return "conformant with " + " and ".join(accepted) if accepted else "conformant"


def _rule_id(item) -> str:
    marker = item.get_closest_marker("rule")
    return marker.args[0] if marker else ""


def _rule_status(statuses: list[str]) -> str:
    if "error" in statuses:
        return "error"
    if "failed" in statuses:
        return "failed"
    if "passed" in statuses:
        return "passed"
    return "skipped"


def _rule_sort_key(rule_id: str):
    prefix, _, number = rule_id.rpartition("-")
    return (prefix, int(number) if number.isdigit() else 0)


def _first_line(text: str) -> str:
    """The failure's message as people read it: the first `E` line of the traceback, without the
    exception's Python name (`suite.verdict.checks.NonConformance: `)."""
    for line in text.splitlines():
        if line.startswith("E "):
            return _EXCEPTION_NAME.sub("", line[2:].strip(), count=1)
    return _EXCEPTION_NAME.sub("", text.strip().splitlines()[-1], count=1) if text.strip() else ""


_EXCEPTION_NAME = re.compile(r"^(?:[a-z_]\w*\.)+[A-Z]\w*: ")


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _suite_version() -> str:
    try:
        return (
            subprocess.run(
                ["git", "describe", "--always", "--dirty", "--tags"],
                capture_output=True,
                text=True,
                timeout=5,
                cwd=Path(__file__).parent,
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
