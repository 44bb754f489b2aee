"""What the suite adds to the Allure results: secrets scrubbed from failure messages and traces
before they are written, and the run's environment and executor information."""

import json
from pathlib import Path

from allure_commons import hookimpl, plugin_manager

from suite.secrets.redaction import REDACTOR, readable


class SecretScrubber:
    """An allure-commons plugin that runs before the file writer and masks every known secret in
    a result's messages and traces, then cuts their overlong lines (exchanges are redacted when
    they are attached)."""

    @hookimpl(tryfirst=True)
    def report_result(self, result) -> None:
        _scrub_details(result)


def _scrub_details(node) -> None:
    details = getattr(node, "statusDetails", None)
    if details is not None:
        details.message = readable(details.message)
        details.trace = readable(details.trace)
    for step in getattr(node, "steps", None) or []:
        _scrub_details(step)
    for parameter in getattr(node, "parameters", None) or []:
        parameter.value = REDACTOR.scrub(parameter.value)


def install_scrubber() -> None:
    if plugin_manager.get_plugin("conformance-secret-scrubber") is None:
        plugin_manager.register(SecretScrubber(), name="conformance-secret-scrubber")


def write_run_information(results_dir: Path, record: dict) -> None:
    """environment.properties and executor.json, which the Allure report shows on its overview."""
    properties = {
        "Environment": record["environment"],
        "Issuer": record["issuer"],
        "Suite version": record["suite_version"],
        "Started": record["started"],
        "Finished": record["finished"],
        "Verdict": record["verdict"],
        "Sandbox defects": ", ".join(record["sandbox_defects"]) or "none",
        "TLS verification": record["tls_verification"],
    }
    properties.update({f"Client id ({role})": cid for role, cid in record["client_ids"].items()})
    lines = [key.replace(" ", "\\ ") + f"={value}" for key, value in properties.items()]
    (results_dir / "environment.properties").write_text("\n".join(lines) + "\n", encoding="utf-8")
    executor = {
        "name": "Visma Connect conformance suite",
        "type": "pytest-bdd",
        "buildName": f"{record['environment']} {record['started']}",
        "reportName": f"Visma Connect conformance: {record['environment']}",
    }
    (results_dir / "executor.json").write_text(json.dumps(executor, indent=2), encoding="utf-8")
