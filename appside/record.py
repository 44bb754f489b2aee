"""The certification record of an application: the suite's record (suite.reports.results), with the
application's client id and type in its header and the fault injected in each negative scenario."""

from dataclasses import dataclass, field
from pathlib import Path

from suite.configuration.environment import HttpSettings
from suite.configuration.rule_catalogue import catalogue
from suite.reports.results import ResultRecorder
from suite.verdict.exit_codes import EXIT_INCOMPLETE

CATALOGUE = Path(__file__).resolve().parent / "features" / "rules.yaml"


def application_rule_sources(rule_id: str) -> list[dict]:
    """The sentences an APPC rule enforces (appside/features/rules.yaml), as the record lists them."""
    entry = catalogue(CATALOGUE).get(rule_id)
    return entry.as_record() if entry else []


@dataclass
class RecordedSubject:
    """What suite.reports.results reads of an environment, for an application."""

    name: str
    issuer: str
    clients: dict
    http: HttpSettings = field(default_factory=HttpSettings)
    sandbox_defects: tuple = ()


class ApplicationRecorder(ResultRecorder):
    def __init__(self, application, issuer: str, path: str, alluredir: str | None) -> None:
        subject = RecordedSubject(
            f"application {application.client_id} ({application.app_type})", issuer, {application.app_type: application}
        )
        super().__init__(subject, path, alluredir)
        self.application = application

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        """The suite's exit codes (README): python -m appside is the command, so an incomplete run
        (a blocker or critical rule left out, e.g. by --rule) exits 5 here, not 0."""
        super().pytest_sessionfinish(session, exitstatus)
        if self.written and self.written["verdict"].startswith("incomplete"):
            session.exitstatus = EXIT_INCOMPLETE

    def pytest_runtest_logreport(self, report) -> None:
        super().pytest_runtest_logreport(report)
        fault = dict(report.user_properties).get("fault")
        if fault and report.nodeid in self.scenarios:
            self.scenarios[report.nodeid]["fault"] = fault

    def record(self) -> dict:
        record = super().record()
        record["application"] = {
            "client_id": self.application.client_id,
            "type": self.application.app_type,
            "name": self.application.name,
        }
        for rule in record["rules"]:
            rule["sources"] = application_rule_sources(rule["rule_id"])
            for scenario in rule["scenarios"]:
                fault = self.scenarios.get(scenario["id"], {}).get("fault")
                if fault:
                    scenario["injected_fault"] = fault
        return record
