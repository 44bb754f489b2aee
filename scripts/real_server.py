"""What the runs against real third-party servers share (scripts/oidc_provider.py,
scripts/glewlwyd.py): wait for the server, run the suite with its environment file, and compare
the rules that failed with the server's documented differences from the Visma contract.

A run passes when the rules that did not pass (failed, blocked by an earlier failure, or warned:
a warning-level rule that failed) are exactly the documented differences: a rule that fails
without being listed is a fault of the suite or a difference to document, and a listed rule that
passes is a difference that no longer happens; both fail the run."""

import json
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent


# A documented difference that is only a consequence of another (no refresh token, so no rotation
# to see) says so first; the run then checks that the rule is still reported blocked by that one.
DOCUMENTED_BLOCKED = re.compile(r"Reported blocked by ([A-Z]+-\d+)")


def known_differences(path: Path) -> dict[str, str]:
    """Rule id -> why it fails there: the server's difference and the sentence of the Visma page or
    RFC it breaks (`differences:`), or a fault of the suite not fixed yet (`suite_faults:`)."""
    listed = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {**listed["differences"], **(listed.get("suite_faults") or {})}


def wait_until_serving(
    url: str, server: subprocess.Popen, name: str, timeout: float = 30, log: Path | None = None
) -> None:
    """Return once `url` answers; raise with the server's own output (its pipe, or the `log` file
    it writes to) if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            if server.poll() is not None:
                output = log.read_text(errors="replace") if log else server.stdout.read() if server.stdout else ""
                raise RuntimeError(f"{name} did not start: {output[-2000:]}") from None
            time.sleep(0.2)
    server.kill()
    raise RuntimeError(f"{name} did not answer within {timeout:.0f} s")


def split_record_argument(arguments: list[str], default: Path) -> tuple[list[str], Path]:
    """The script's own `--compliance=PATH` (where the record goes) and the rest for pytest."""
    chosen = [a.split("=", 1)[1] for a in arguments if a.startswith("--compliance=")]
    return [a for a in arguments if not a.startswith("--compliance=")], Path(chosen[-1]) if chosen else default


# Every character class a client secret may have (RFC 6749 Appendix A.2: client-secret = *VSCHAR,
# printable ASCII and the space) that form-urlencoding changes, as HTTP Basic sends it (RFC 6749
# section 2.3.1): a space, reserved characters, a percent sign with what would be an escape after it.
# Not non-ASCII: oidc-provider refuses such a secret at registration, as VSCHAR has it; the sandbox's
# tests send one too.
EVERY_CHARACTER_CLASS = " +/=%41:&~"
AWKWARD_SECRETS = "--secrets-of-every-character-class"


def fresh_secret(awkward: bool) -> str:
    """A new client secret; with `awkward`, one that ends in EVERY_CHARACTER_CLASS."""
    return secrets.token_urlsafe(24) + (EVERY_CHARACTER_CLASS if awkward else "")


def split_awkward_argument(arguments: list[str]) -> tuple[list[str], bool]:
    """The scripts' own AWKWARD_SECRETS flag (client secrets of every character class) and the rest."""
    return [a for a in arguments if a != AWKWARD_SECRETS], AWKWARD_SECRETS in arguments


# What each server's setup gives its authorization codes by default, as its environment file declares
# (expectations.authorization_code_lifetime): CODE-04 redeems a code got at the start of the run once it
# has passed, so no run is shorter. `--code-lifetime=SECONDS` sets another, server and file alike.
CODE_LIFETIME = 60
CODE_LIFETIME_OPTION = "--code-lifetime="


def split_code_lifetime_argument(arguments: list[str]) -> tuple[list[str], int]:
    """The scripts' own `--code-lifetime=SECONDS` (CODE_LIFETIME where none is given) and the rest."""
    chosen = [a.removeprefix(CODE_LIFETIME_OPTION) for a in arguments if a.startswith(CODE_LIFETIME_OPTION)]
    if chosen and not (chosen[-1].isdigit() and int(chosen[-1]) > 0):
        raise SystemExit(f"{CODE_LIFETIME_OPTION}{chosen[-1]}: a whole number of seconds, at least 1")
    rest = [a for a in arguments if not a.startswith(CODE_LIFETIME_OPTION)]
    return rest, int(chosen[-1]) if chosen else CODE_LIFETIME


def declaring_code_lifetime(environment: str, lifetime: int, folder: Path) -> str:
    """The server's environment file (environments/`environment`.yaml), or, for another code lifetime
    than CODE_LIFETIME, a copy of it in `folder` that declares `lifetime`."""
    if lifetime == CODE_LIFETIME:
        return environment
    declared = f"authorization_code_lifetime: {CODE_LIFETIME}"
    text = (ROOT / "environments" / f"{environment}.yaml").read_text(encoding="utf-8")
    if text.count(declared) != 1:
        raise SystemExit(f"environments/{environment}.yaml does not declare `{declared}` once")
    copy = folder / f"{environment}.yaml"
    copy.write_text(text.replace(declared, f"authorization_code_lifetime: {lifetime}"), encoding="utf-8")
    return str(copy)


def run_suite(environment: str, environ: dict, record: Path, pytest_args=()) -> tuple[int, dict]:
    """Run the features against a started server: (the suite's exit code, the compliance record). An --env among
    `pytest_args` replaces the server's own file (the suite refuses one given twice)."""
    own = [] if any(str(a).startswith("--env=") for a in pytest_args) else [f"--env={environment}"]
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", *own, f"--compliance={record}", *pytest_args],
        cwd=ROOT,
        env=environ,
    )
    return completed.returncode, json.loads(record.read_text()) if record.exists() else {}


def not_passed(summary: dict) -> dict[str, str]:
    """Rule id -> "" for the rules that failed, "warned" for the warning-level ones that failed,
    "blocked by X" for those an earlier failure kept from their own check: none passed, so all are
    what a server's list must account for (a warning leaves the verdict conformant, not the server
    without a difference)."""
    blocked_by = {rule["rule_id"]: rule.get("blocked_by", "") for rule in summary.get("rules", [])}
    return {
        **{rule: "" for rule in summary.get("failed_rules", [])},
        **{rule: "warned" for rule in summary.get("warned_rules", [])},
        **{
            rule: f"blocked by {blocked_by.get(rule) or 'an earlier failure'}"
            for rule in summary.get("blocked_rules", [])
        },
    }


def compare(summary: dict, known: dict[str, str]) -> tuple[list[str], list[str]]:
    """(rules that did not pass without being a known difference, known differences that passed).
    A run of some rules only (`--rule=`) says nothing of the differences of the rules it left out."""
    differing, ran = set(not_passed(summary)), {rule["rule_id"] for rule in summary.get("rules", [])}
    return sorted(differing - set(known)), sorted(set(known) & ran - differing)


def verdict(name: str, code: int, summary: dict, differences_file: Path, stale_adaptations=()) -> int:
    """Print the comparison; 0 when the rules that did not pass (failed, or blocked by an earlier
    failure) are exactly the documented differences, 1 when not, the suite's own code when it
    gave no verdict (environment or configuration problem). `stale_adaptations`: ways the setup
    works around the server that its script found no longer needed; each fails the run too."""
    if code not in (0, 1) or not summary:
        return code or 1
    known = known_differences(differences_file)
    differing = not_passed(summary)
    new, stale = compare(summary, known)
    counts = summary.get("counts", {})
    print(
        f"\n{name}: "
        + ", ".join(
            f"{counts.get(status, 0)} {status}"
            for status in ("passed", "failed", "blocked", "warned", "error", "skipped")
        )
        + " rules"
    )
    print(
        f"{name}: {len(differing)} rules differ from the Visma contract, "
        f"{len(known)} documented in {differences_file.relative_to(ROOT)}"
    )
    changed = []
    for rule in sorted(set(differing) & set(known)):  # each with how it did not pass: blocked is no failure of its own
        observed = differing[rule] or "failed"
        print(f"  documented {rule}: {observed}")
        declared = DOCUMENTED_BLOCKED.match(known[rule])
        if declared and observed != f"blocked by {declared.group(1)}":
            changed.append(
                f"{rule}: documented as blocked by {declared.group(1)}, but {observed}; "
                "it now fails for a reason of its own: read it and document that"
            )
    ran = {rule["rule_id"] for rule in summary.get("rules", [])}
    if set(known) - ran:
        print(f"  not run, so not compared: {', '.join(sorted(set(known) - ran))}")
    for rule in new:
        how = f" ({differing[rule]})" if differing[rule] else ""
        print(
            f"  NEW FAILURE {rule}{how}: not a documented difference; a fault of the suite, or a difference to document"
        )
    for rule in stale:
        print(f"  STALE {rule}: documented as a difference but passed; remove it from the list")
    for adaptation in stale_adaptations:
        print(f"  STALE ADAPTATION: {adaptation}")
    for change in changed:
        print(f"  CHANGED {change}")
    return 1 if new or stale or stale_adaptations or changed else 0
