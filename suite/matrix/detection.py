"""The detection matrix: run the features against the sandbox with each defect switch on, and
check that exactly the rules the switch breaks do not pass, and that the clean sandbox passes.

A rule "blocked by" another (its scenario could not reach its own check because a rule it relies
on failed first) is checked against the switch's `blocks`, a failed one against its `breaks`: a
rule that fails where it should be blocked is one cause reported twice, and a rule blocked where
it should fail hides its own check. Only a rule seen failing on its own proves that its check
can fail. A warning-level rule (@level:warning) that failed is "warned" in the record: it counts as
failed here (its check failed, so the switch is caught), though the run's verdict stays
conformant (exit code 0).

The switches run in a few pytest runs side by side, one per core, each against one sandbox
serving all of its switches (suite.matrix.defect_matrix), which costs each switch its scenarios only."""

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sandbox.defects import DEFECTS

ROOT = Path(__file__).resolve().parents[2]
CLEAN = "(none)"
CLEAN_SET = "clean"  # the clean sandbox's key in a --defect-matrix record (suite.matrix.defect_matrix)


@dataclass
class Row:
    defect: str
    expected: tuple[str, ...]  # rule ids the switch breaks
    failed: tuple[str, ...]  # rule ids that failed (warned ones included)
    exit_code: int
    blocked: tuple[str, ...] = ()  # rule ids blocked by one of the failed rules
    failed_scenarios: frozenset = frozenset()
    scenarios: frozenset = frozenset()  # every scenario that ran or was skipped
    missing_scenarios: frozenset = frozenset()  # ran on the clean sandbox, not under this switch
    expected_blocked: tuple[str, ...] = ()  # rule ids the switch's failures must block (its `blocks`)
    warned: tuple[str, ...] = ()  # those of `failed` that are warning-level: the verdict stands
    # blocker or critical rules the run left without a verdict (skipped for want of data, could not be checked),
    # which make a run incomplete (exit 5) only where no rule failed: beside a failure the run exits 1 all the
    # same, so only the row can tell that the switch also silenced a rule it does not declare
    unjudged: tuple[str, ...] = ()
    expected_unchecked: tuple[str, ...] = ()  # rule ids the switch must leave without a verdict (its `unchecked`)

    @property
    def missed(self) -> list[str]:
        """Rules that should have failed, or been blocked, and were not."""
        return sorted((set(self.expected) - set(self.failed)) | (set(self.expected_blocked) - set(self.blocked)))

    @property
    def unexpected(self) -> list[str]:
        """Rules that failed, or were blocked, or were left without a verdict, where the switch says otherwise."""
        declared = set(self.expected_unchecked) | set(self.expected_blocked)
        return sorted(
            (set(self.failed) - set(self.expected))
            | (set(self.blocked) - set(self.expected_blocked))
            | (set(self.unjudged) - declared)
        )

    @property
    def caught(self) -> bool:
        return (
            not self.missed
            and not self.unexpected
            and not self.missing_scenarios
            and self.exit_code in (0, 1)
            and bool(self.scenarios)
        )


def run_matrix(
    defects: Iterable[str] | None = None, jobs: int = 2, clean: Callable[[], Row] | None = None
) -> list[Row]:
    """The clean sandbox and every switch: `jobs` pytest runs side by side (suite.matrix.defect_matrix),
    each with every `jobs`-th switch and a sandbox of its own serving them, one run per core.
    (With pytest-xdist, one process held the sandbox for every switch beside the controller that
    takes in every worker's reports: a process that can use one core, and the matrix's bottleneck.)
    Only the first run includes the clean sandbox, whose row comes first and is what every switch's
    scenarios are held against (a clean set in each run cost a switch's time in each for one row).
    With `clean`, the runs leave the clean sandbox out: `clean()`, called while they run, gives its
    row (another run of the same matrix made it; tests/test_detection_matrix.py runs it in chunks)."""
    names = sorted(defects if defects is not None else DEFECTS)
    # None: the clean sandbox, dealt out as a switch is, so that every run has as many sets
    sets = [*([] if clean else [None]), *names]
    shares = [share for share in (sets[i::jobs] for i in range(max(jobs, 1))) if share]
    with tempfile.TemporaryDirectory() as tmp:
        runs = [
            _start_run([name for name in share if name], Path(tmp) / f"run-{i}", clean=None in share)
            for i, share in enumerate(shares)
        ]
        records: dict[str, dict] = {}
        problem: str | None = None
        try:
            clean_row = clean() if clean else None  # while the runs run: it may wait for another's
            for process, folder in runs:
                try:
                    returncode = process.wait(timeout=120 + 30 * len(names))
                except subprocess.TimeoutExpired:
                    process.kill()
                    returncode = process.wait()
                record = folder / "matrix.json"
                run_records = json.loads(record.read_text()) if record.exists() else {}
                if returncode not in (0, 1) or not run_records:
                    output = ((folder / "output").read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
                    problem = problem or f"(no record: exit {returncode}: {output})"
                records.update(run_records)
        finally:  # a matrix stopped half-way (a test's timeout, Ctrl-C) leaves no run behind
            for process, _ in runs:
                if process.poll() is None:
                    process.kill()
                    process.wait()
    if problem:
        records = {}
    rows = [clean_row or _row(None, records.get(CLEAN_SET), problem)]
    rows += [_row(name, records.get(name), problem) for name in names]
    for row in rows[1:]:  # a switch is judged on every scenario the clean sandbox ran, no fewer
        row.missing_scenarios = frozenset(rows[0].scenarios - row.scenarios)
    return rows


def _start_run(names: list[str], folder: Path, clean: bool) -> tuple[subprocess.Popen, Path]:
    """One pytest run of the matrix, with the clean sandbox too if `clean`, its record and output in
    `folder` (files, not pipes: a run that fills a pipe nobody reads yet would stall).

    Its tracebacks are Python's own (--tb=native): the matrix reads statuses only, and pytest's
    short tracebacks parse each frame's whole source file again for every failure, 70 ms a
    failure, a tenth of what a switch costs."""
    folder.mkdir()
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--tb=native",
        "--env=sandbox",
        f"--defect-matrix={','.join(names)}",
        f"--compliance={folder / 'matrix.json'}",
        str(ROOT / "features"),
    ]
    if not clean:
        command.insert(-1, "--defect-matrix-without-clean")
    with open(folder / "output", "w") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    return process, folder


def _row(defect: str | None, record: dict | None, problem: str | None) -> Row:
    expected, expected_blocked = (DEFECTS[defect].breaks, DEFECTS[defect].blocks) if defect else ((), ())
    if record is None:
        return Row(
            defect or CLEAN,
            expected,
            (problem or "(no record: the switch did not run)",),
            2,
            expected_blocked=expected_blocked,
        )
    scenarios, failed_scenarios = set(), set()
    for rule in record["rules"]:
        for scenario in rule["scenarios"]:
            scenarios.add(scenario["name"])
            if scenario["status"] in ("failed", "warned"):
                failed_scenarios.add(scenario["name"])
    # The exit code the suite would have given this defect set on its own (docs/reference-exit-codes.md).
    exit_code = 3 if record["error_rules"] else 1 if record["failed_rules"] else 0
    warned = tuple(record.get("warned_rules", ()))
    return Row(
        defect or CLEAN,
        expected,
        tuple(record["failed_rules"]) + warned,
        exit_code,
        tuple(record.get("blocked_rules", ())),
        frozenset(failed_scenarios),
        frozenset(scenarios),
        expected_blocked=expected_blocked,
        warned=warned,
        # no switch declares a rule it leaves unjudged: a blocker or critical rule skipped for want of data is
        # a rule it silenced (one that could not be checked is an error, exit 3, never caught)
        unjudged=tuple(record.get("missing_data") or ()),
    )


def all_rule_ids() -> set[str]:
    ids = set()
    for feature in (ROOT / "features").glob("*.feature"):
        for token in feature.read_text().split():
            if token.startswith("@rule:"):
                ids.add(token.removeprefix("@rule:"))
    return ids


def unproven_rules(rows: list[Row]) -> list[str]:
    """Rules that no switch was seen to break on its own (failed, not merely blocked)."""
    proven = {rule for row in rows if row.caught and row.defect != CLEAN for rule in row.failed}
    return sorted(all_rule_ids() - proven)


# Run only where an environment declares what the sandbox's file does not; tests/test_detection_matrix.py
# and tests/test_allowed_variants.py show each failing against a server that does the opposite.
NOT_RUN_ON_THE_SANDBOX = {
    "PKCE-07 The plain method works where the environment accepts it",
    "PKCE-08 A code_challenge without a method is plain, and works where plain is accepted",
    "APP-04 A server-side web app using PKCE cannot redeem its code without its secret where the environment says so",
}


def scenarios_never_failing(rows: list[Row]) -> list[str]:
    """Scenarios (outline rows included) that no switch made fail: a check that may never fail."""
    every = set().union(*(row.scenarios for row in rows))
    failing = set().union(*(row.failed_scenarios for row in rows if row.defect != CLEAN))
    return sorted(every - failing - NOT_RUN_ON_THE_SANDBOX)


def render(rows: list[Row]) -> str:
    lines = [
        "| defect | rules it breaks | rules that failed | rules it blocks | blocked by them | missed | unexpected "
        "| caught |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        failed = ", ".join(f"{rule} (warned)" if rule in row.warned else rule for rule in row.failed)
        lines.append(
            f"| {row.defect} | {', '.join(row.expected) or '-'} | {failed or '-'} | "
            f"{', '.join(row.expected_blocked) or '-'} | {', '.join(row.blocked) or '-'} | "
            f"{', '.join(row.missed) or '-'} | {', '.join(row.unexpected) or '-'} | "
            f"{'yes' if row.caught else 'NO'} |"
        )
    defects = [r for r in rows if r.defect != CLEAN]
    caught = sum(r.caught for r in defects)
    clean = next(r for r in rows if r.defect == CLEAN)
    lines += [
        "",
        f"Clean sandbox: {'all rules pass' if clean.caught else 'FAILS ' + ', '.join(clean.failed)}",
        f"Detection score: {caught}/{len(defects)} defects caught ({100 * caught / max(len(defects), 1):.0f}%)",
    ]
    unproven = unproven_rules(rows)
    lines.append(f"Rules no switch proves yet: {', '.join(unproven) if unproven else 'none'}")
    for row in rows:
        if row.missing_scenarios:
            lines.append(f"Scenarios that did not run under {row.defect}: {'; '.join(sorted(row.missing_scenarios))}")
    never = scenarios_never_failing(rows)
    lines.append(f"Scenarios no switch made fail: {'; '.join(never) if never else 'none'}")
    return "\n".join(lines)
