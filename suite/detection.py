"""The detection matrix: run the features against the sandbox with each defect switch on, and
check that exactly the rules the switch breaks fail, and that the clean sandbox passes."""

import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sandbox.defects import DEFECTS

ROOT = Path(__file__).resolve().parent.parent
CLEAN = "(none)"


@dataclass
class Row:
    defect: str
    expected: tuple[str, ...]      # rule ids the switch breaks
    failed: tuple[str, ...]        # rule ids that failed
    exit_code: int
    failed_scenarios: frozenset = frozenset()
    scenarios: frozenset = frozenset()  # every scenario that ran or was skipped

    @property
    def missed(self) -> list[str]:
        return sorted(set(self.expected) - set(self.failed))

    @property
    def unexpected(self) -> list[str]:
        return sorted(set(self.failed) - set(self.expected))

    @property
    def caught(self) -> bool:
        return not self.missed and not self.unexpected and self.exit_code in (0, 1)


def run_suite(defect: str | None, workdir: Path) -> Row:
    record_path = workdir / f"{defect or 'clean'}.json"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--env", "sandbox",
               "--compliance", str(record_path), str(ROOT / "features")]
    if defect:
        command += ["--defect", defect]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300,
                               env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    failed: tuple[str, ...] = ()
    scenarios, failed_scenarios = set(), set()
    if record_path.exists():
        record = json.loads(record_path.read_text())
        failed = tuple(record["failed_rules"])
        for rule in record["rules"]:
            for scenario in rule["scenarios"]:
                scenarios.add(scenario["name"])
                if scenario["status"] == "failed":
                    failed_scenarios.add(scenario["name"])
    expected = DEFECTS[defect].breaks if defect else ()
    if not record_path.exists():
        failed = ("(no record: " + (completed.stderr or completed.stdout).strip().splitlines()[-1] + ")",)
    return Row(defect or CLEAN, expected, failed, completed.returncode, frozenset(failed_scenarios),
               frozenset(scenarios))


def run_matrix(defects=None, jobs: int = os.cpu_count() or 2) -> list[Row]:
    names = [None] + sorted(defects if defects is not None else DEFECTS)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda name: run_suite(name, Path(tmp)), names))


def all_rule_ids() -> set[str]:
    ids = set()
    for feature in (ROOT / "features").glob("*.feature"):
        for token in feature.read_text().split():
            if token.startswith("@rule:"):
                ids.add(token.removeprefix("@rule:"))
    return ids


def unproven_rules(rows: list[Row]) -> list[str]:
    """Rules that no switch was seen to break on its own."""
    proven = {rule for row in rows if row.caught and row.defect != CLEAN for rule in row.expected}
    return sorted(all_rule_ids() - proven)


# Runs only where an environment declares plain PKCE accepted, which the sandbox does not;
# tests/test_detection_matrix.py shows it failing against a server that refuses plain.
NOT_RUN_ON_THE_SANDBOX = {"PKCE-07 The plain method works where the environment accepts it"}


def scenarios_never_failing(rows: list[Row]) -> list[str]:
    """Scenarios (outline rows included) that no switch made fail: a check that may never fail."""
    every = set().union(*(row.scenarios for row in rows))
    failing = set().union(*(row.failed_scenarios for row in rows if row.defect != CLEAN))
    return sorted(every - failing - NOT_RUN_ON_THE_SANDBOX)


def render(rows: list[Row]) -> str:
    lines = ["| defect | rules it breaks | rules that failed | missed | unexpected | caught |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.defect} | {', '.join(row.expected) or '-'} | {', '.join(row.failed) or '-'} | "
                     f"{', '.join(row.missed) or '-'} | {', '.join(row.unexpected) or '-'} | "
                     f"{'yes' if row.caught else 'NO'} |")
    defects = [r for r in rows if r.defect != CLEAN]
    caught = sum(r.caught for r in defects)
    clean = next(r for r in rows if r.defect == CLEAN)
    lines += ["", f"Clean sandbox: {'all rules pass' if clean.caught else 'FAILS ' + ', '.join(clean.failed)}",
              f"Detection score: {caught}/{len(defects)} defects caught ({100 * caught / max(len(defects), 1):.0f}%)"]
    unproven = unproven_rules(rows)
    lines.append(f"Rules no switch proves yet: {', '.join(unproven) if unproven else 'none'}")
    never = scenarios_never_failing(rows)
    lines.append(f"Scenarios no switch made fail: {'; '.join(never) if never else 'none'}")
    return "\n".join(lines)
