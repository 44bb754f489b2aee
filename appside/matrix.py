"""The application detection matrix: certify each reference application (examples/) clean and
with each of its defect switches, and check that exactly the rules a switch breaks fail and
that the clean applications pass everything."""

import json
import os
import secrets
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from appside.stand_in import free_port
from suite.matrix.detection import Row

ROOT = Path(__file__).resolve().parent.parent
CLEAN = "(clean)"


@dataclass
class AppRow(Row):
    reasons: dict = field(default_factory=dict)  # rule id -> why its scenarios did not pass, for the table


@dataclass(frozen=True)
class ReferenceApp:
    name: str
    application_file: str
    switches: dict  # switch name -> rule ids it breaks
    variables: tuple = ()  # environment variables for its secret and port, given fresh values per run


REFERENCE_APPS = {
    app.name: app
    for app in (
        ReferenceApp(
            "web",
            "examples/web_app/application.yaml",
            {
                "no-response-type": ("APPC-01",),
                "redirect-uri-changed": ("APPC-02",),
                "no-state": ("APPC-03", "APPC-16", "APPC-17"),  # nothing to compare a wrong or missing state with
                "short-state": ("APPC-04",),
                "fixed-state": ("APPC-05",),
                "state-not-checked": ("APPC-16", "APPC-17"),
                "no-pkce": ("APPC-06",),
                "plain-pkce": ("APPC-07",),
                "wrong-verifier": ("APPC-08",),
                # its refreshes carry no secret and are refused, so no rotation to observe (it signs in again)
                "no-secret": ("APPC-10", "APPC-15"),
                "secret-in-url": ("APPC-11",),
                "iss-not-checked": ("APPC-18",),
                "error-crashes": ("APPC-19",),
                "old-refresh-token": ("APPC-15",),
                "expired-token-used": ("APPC-15", "APPC-20"),  # it never refreshes, so no rotation either
                "id-token-not-validated": ("APPC-21",),
            },
            ("WEB_APP_CLIENT_SECRET", "WEB_APP_PORT"),
        ),
        ReferenceApp(
            "spa",
            "examples/spa_app/application.yaml",
            {
                "secret-in-spa": ("APPC-09",),
                "offline-access": ("APPC-14",),
                "id-token-not-validated": ("APPC-21",),
            },
            ("SPA_APP_PORT",),
        ),
        ReferenceApp(
            "service",
            "examples/service_app/application.yaml",
            {
                "no-tenant-id": ("APPC-13", "APPC-20"),  # refused without its tenant: no token to let expire
                # refused by the stand-in (a JSON body; a secret in the URL authenticates nothing, RFC 6749
                # section 2.3.1): no token to name the tenant in or to let expire
                "json-body": ("APPC-12", "APPC-13", "APPC-20"),
                "secret-in-url": ("APPC-11", "APPC-12", "APPC-20"),
            },
            ("SERVICE_APP_CLIENT_SECRET",),
        ),
    )
}


def certify(app: ReferenceApp, switch: str | None, workdir: Path) -> AppRow:
    """One run of the application-side suite against one reference application."""
    label = f"{app.name}:{switch or 'clean'}"
    record_path = workdir / f"{label.replace(':', '-')}.json"
    environ = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "REFERENCE_APP_DEFECTS": switch or "", "APP_SETTLE": "1"}
    for variable in app.variables:
        environ[variable] = str(free_port()) if variable.endswith("_PORT") else secrets.token_urlsafe(18)
    command = [
        sys.executable,
        "-m",
        "appside",
        f"--app={app.application_file}",
        f"--compliance={record_path}",
        "-q",
        "-p",
        "no:cacheprovider",
    ]
    completed = subprocess.run(
        command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300, start_new_session=True
    )
    expected = app.switches[switch] if switch else ()
    if not record_path.exists():
        last_line = ((completed.stderr or completed.stdout).strip().splitlines() or ["?"])[-1]
        return AppRow(label, expected, (f"(no record: {last_line})",), completed.returncode)
    return row_from_record(label, expected, json.loads(record_path.read_text()), completed.returncode)


def row_from_record(label: str, expected: tuple, record: dict, exit_code: int) -> AppRow:
    scenarios, failed_scenarios, reasons = set(), set(), {}
    for rule in record["rules"]:
        for scenario in rule["scenarios"]:
            scenarios.add(scenario["name"])
            if scenario["status"] not in ("passed", "skipped"):
                failed_scenarios.add(scenario["name"])
                reasons[rule["rule_id"]] = scenario.get("reason") or scenario["status"]
    # by name: Row's fields grow (suite.matrix.detection), and a positional call would silently shift them
    return AppRow(
        label,
        expected,
        tuple(record["failed_rules"]) + tuple(record["error_rules"]),
        exit_code,
        blocked=tuple(record.get("blocked_rules", ())),
        failed_scenarios=frozenset(failed_scenarios),
        scenarios=frozenset(scenarios),
        reasons=reasons,
    )


def run_matrix(jobs: int = 3) -> list[AppRow]:
    runs = [(app, switch) for app in REFERENCE_APPS.values() for switch in (None, *app.switches)]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(lambda run: certify(run[0], run[1], Path(tmp)), runs))
    clean = {row.defect.split(":")[0]: row for row in rows if row.defect.endswith(":clean")}
    for row in rows:  # a switch is judged on every scenario its clean application ran, no fewer
        row.missing_scenarios = frozenset(clean[row.defect.split(":")[0]].scenarios - row.scenarios)
    return rows


def all_rule_ids() -> set[str]:
    return {
        token.removeprefix("@rule:")
        for feature in (ROOT / "appside" / "features").glob("*.feature")
        for token in feature.read_text().split()
        if token.startswith("@rule:")
    }


def render(rows: list[AppRow]) -> str:
    lines = [
        "| application:switch | rules it breaks | rules that failed | missed | unexpected | caught |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        missed = row.missed + [f"did not run: {name}" for name in sorted(row.missing_scenarios)]
        if not row.scenarios:
            missed.append(f"no scenario ran (exit {row.exit_code})")
        lines.append(
            f"| {row.defect} | {', '.join(row.expected) or '-'} | {', '.join(row.failed) or '-'} | "
            f"{', '.join(missed) or '-'} | {', '.join(row.unexpected) or '-'} | "
            f"{'yes' if row.caught else 'NO'} |"
        )
    switches = [r for r in rows if not r.defect.endswith(":clean")]
    caught = sum(r.caught for r in switches)
    clean = [r for r in rows if r.defect.endswith(":clean")]
    proven = {rule for row in switches if row.caught for rule in row.expected}
    lines += [
        "",
        f"Clean applications: {'all pass' if all(r.caught for r in clean) else 'FAIL'}",
        f"Switches caught by exactly their rules: {caught}/{len(switches)}",
        f"Rules no switch proves yet: {', '.join(sorted(all_rule_ids() - proven)) or 'none'}",
    ]
    for row in rows:  # why a rule failed where no switch should have broken it
        lines += [f"{row.defect}: {rule} did not pass: {row.reasons.get(rule, '?')}" for rule in row.unexpected]
    return "\n".join(lines)


if __name__ == "__main__":
    import time

    started = time.monotonic()
    matrix = run_matrix()
    print(render(matrix) + f"\nWall time: {time.monotonic() - started:.0f} s")
    sys.exit(0 if all(r.caught for r in matrix) else 1)
