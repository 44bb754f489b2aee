"""One table for many environments: python -m suite.reports.merge_records RECORD.json ... [--out FILE]

A nightly CI run fans out one job per environment (the CI system's matrix; the suite stays one
process per environment); its last step merges their certification records into one markdown
table: verdict, counts and what changed since each environment's previous run. It prints the
table (and writes it to FILE), and exits 0 when every record's code is 0, else with the highest
code among them: the step fails when any environment's run is not conformant or gave no verdict.
A run conformant with warnings exits 0; its warned rules have their own column, and an application's
rules that could not be checked theirs (unchecked)."""

import argparse
import json
import sys
from pathlib import Path

from suite.verdict.exit_codes import exit_code

# the record's counts; "unchecked": an application's rules that ran and found nothing to judge ("could not be
# checked", appside/record.py), which a server's record has no such count of ("-")
COLUMNS = ("passed", "failed", "blocked", "waived", "warned", "error", "unchecked", "skipped")


def merge(paths: list[Path]) -> tuple[str, int]:
    """(the markdown table, the highest exit code among the records)."""
    lines = [
        "# Visma Connect conformance",
        "",
        "| environment | verdict | exit code | " + " | ".join(COLUMNS) + " | newly failing | newly warned | fixed |",
        "|---" * (len(COLUMNS) + 6) + "|",
    ]
    worst = 0
    for path in paths:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict) or not isinstance(record.get("verdict", ""), str):
                raise ValueError("not a certification record (a JSON object with a verdict)")
            row, code = _row(path, record)
        except (OSError, ValueError, RecursionError, KeyError, TypeError, AttributeError) as error:
            cause = _cell(str(error).splitlines()[0] if str(error) else type(error).__name__)
            lines.append(f"| {_cell(path)} | no record: {cause} | 2 |" + " |" * (len(COLUMNS) + 3))
            worst = max(worst, 2)
            continue
        worst = max(worst, code)
        lines.append(row)
    return "\n".join([*lines, ""]), worst


def _row(path: Path, record: dict) -> tuple[str, int]:
    """The record's line of the table and its exit code; TypeError and the like when a field is malformed."""
    code = exit_code(record.get("verdict", ""))
    counts = record.get("counts") or {}
    changes = record.get("changes") or {}
    return (
        f"| {record.get('environment', path)} | {record.get('verdict', 'no verdict')} | {code} | "
        + " | ".join(str(counts.get(column, "-")) for column in COLUMNS)
        + " | "
        + f"{', '.join(changes.get('newly_failing') or ()) or '-'} | "
        + f"{', '.join(changes.get('newly_warned') or ()) or '-'} | "
        + f"{', '.join(changes.get('fixed') or ()) or '-'} |"
    ), code


def _cell(value: object) -> str:
    """A value as one markdown table cell: a record's text cannot break the table."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", type=Path)
    parser.add_argument("--out", type=Path)
    arguments = parser.parse_args(argv)
    table, worst = merge(sorted(arguments.records))
    print(table)
    if arguments.out:
        arguments.out.write_text(table, encoding="utf-8")
    return worst


if __name__ == "__main__":
    sys.exit(main())
