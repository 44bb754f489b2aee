"""One line per cause (docs/certify-server.md): a configuration problem that stops many scenarios is
printed in full once; the later ones name the scenario that showed it, and the record keeps each
scenario's whole reason."""

import json
import os

from run import SANDBOX_YAML, run_suite, write_environment


def test_a_configuration_problem_is_printed_once(tmp_path):
    wrong = write_environment(
        tmp_path, SANDBOX_YAML.replace("    consent_deny_value: deny", "    consent_field: no-such-field")
    )
    record = tmp_path / "compliance.json"
    # CI=true as on a CI machine, where pytest's short summary repeats each failure's first line whole
    # instead of cutting it at the terminal's width: one line there per failed scenario is pytest's
    # index of failures, not the cause printed again.
    result = run_suite(
        f"--env={wrong}",
        "--rule=PKCE-01",
        f"--compliance={record}",
        "-q",
        "-p",
        "no:cacheprovider",
        environ={**os.environ, "CI": "true"},
    )
    assert result.returncode == 4, result.stdout[-3000:]
    details, _, summary = result.stdout.partition(" short test summary info ")
    for part, first_words in ((details, "configuration problem: "), (summary, "FAILED ")):
        full = [line for line in part.splitlines() if "login.form.consent_field" in line]
        assert len(full) == 1 and full[0].startswith(first_words), result.stdout[-3000:]
        same = [line for line in part.splitlines() if "could not be checked: the same cause as PKCE-01" in line]
        assert len(same) == 2, result.stdout[-3000:]
    scenarios = next(r for r in json.loads(record.read_text())["rules"] if r["rule_id"] == "PKCE-01")["scenarios"]
    assert all("login.form.consent_field" in s["reason"] for s in scenarios), scenarios
