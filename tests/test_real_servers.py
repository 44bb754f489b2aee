"""The features run unchanged against real servers nobody here wrote, node's oidc-provider and
Debian's glewlwyd: the rules that fail are exactly each one's documented differences from the
Visma contract, no more, no fewer, and docs/certify-server.md lists them all."""

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from run import ROOT

from suite.wire.browser import chromium_path

sys.path.append(str(ROOT / "scripts"))  # the scripts' own comparison, not a copy of it
from real_server import known_differences, verdict


@dataclass(frozen=True)
class RealServer:
    script: str
    differences: Path
    docs_section: str
    program: str  # what the machine needs besides chromium; CI installs it

    @property
    def known(self) -> dict:
        return known_differences(self.differences)


SERVERS = {
    "oidc-provider": RealServer(
        "scripts/oidc_provider.py",
        ROOT / "oidc_provider" / "known_differences.yaml",
        "## Against node's oidc-provider",
        "node",
    ),
    "glewlwyd": RealServer(
        "scripts/glewlwyd.py", ROOT / "glewlwyd" / "known_differences.yaml", "## Against Debian's glewlwyd", "glewlwyd"
    ),
}


def run_against(server: RealServer, *arguments, timeout=850) -> tuple[int, str]:
    """Run the server's script (it starts the server, runs the suite, compares): exit code, output."""
    if (shutil.which(server.program) is None or chromium_path() is None) and not os.environ.get("CI"):
        pytest.skip(f"needs {server.program} and Debian's chromium; CI has both")
    result = subprocess.run(
        [sys.executable, server.script, "-q", *map(str, arguments)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result.returncode, result.stdout + result.stderr


# The codes' lifetime of the whole runs below (the scripts' --code-lifetime, server and environment file
# alike): CODE-04 redeems a code got at the start of the run once it has passed, so a run lasted at least the
# 60 s the scripts give by default. Every other code is redeemed within a second or two of its sign-in.
CODE_LIFETIME = 20


@pytest.mark.timeout(900)  # a whole run with browser sign-ins, and CODE-04's wait for a code to expire
@pytest.mark.parametrize("name", SERVERS)
def test_failing_rules_are_exactly_the_documented_differences(name, tmp_path):
    server = SERVERS[name]
    returncode, output = run_against(server, f"--code-lifetime={CODE_LIFETIME}", f"--compliance={tmp_path / 'c.json'}")
    assert returncode == 0, output[-4000:]
    known = len(server.known)
    assert f"{known} rules differ from the Visma contract, {known} documented" in output
    assert " skipped" in output  # the tenant rules, by the environment's declared capabilities
    record = json.loads((tmp_path / "c.json").read_text())
    [code_04] = [rule for rule in record["rules"] if rule["rule_id"] == "CODE-04"]
    assert code_04["status"] == ("failed" if "CODE-04" in server.known else "passed"), code_04


@pytest.mark.parametrize("name", SERVERS)
def test_the_docs_list_every_documented_difference(name):
    server = SERVERS[name]
    section = (ROOT / "docs" / "certify-server.md").read_text().split(server.docs_section)[1].split("\n## ")[0]
    assert set(re.findall(r"^\| ([A-Z]+-\d+) \|", section, flags=re.M)) == set(server.known)


def test_a_wrong_expectation_fails_the_glewlwyd_run(tmp_path):
    """The comparison can fail: the same run with an environment file that expects another token
    lifetime than glewlwyd gives (3600 s) fails with the rule that checks it, while the unchanged
    file passes the same rule."""
    declared = (ROOT / "environments" / "glewlwyd.yaml").read_text()
    assert "access_token_lifetime: 3600" in declared
    wrong = tmp_path / "glewlwyd-wrong.yaml"
    wrong.write_text(declared.replace("access_token_lifetime: 3600", "access_token_lifetime: 1800"))
    for environment, expected in (("glewlwyd", 0), (wrong, 1)):
        returncode, output = run_against(
            SERVERS["glewlwyd"],
            f"--env={environment}",
            "--rule=SVC-04",
            f"--compliance={tmp_path / 'c.json'}",
            timeout=240,
        )
        assert returncode == expected, output[-3000:]
    assert "NEW FAILURE SVC-04: not a documented difference" in output
    assert "expires_in" in output and "1800" in output


def test_a_difference_documented_as_blocked_must_still_be_blocked_by_its_cause(capsys):
    """oidc-provider's RT-02 is documented as blocked by RT-01 (no refresh token to rotate). The same
    record with RT-02 failing on its own fails the comparison: the new reason must be read and
    documented, not hidden under the old one."""
    listed = SERVERS["oidc-provider"]
    blocked = {"RT-02", "RT-06", "RT-07", "RT-08", "REV-02", "REV-03", "ID-06"}
    record = {
        "failed_rules": ["AUTH-12", "RT-01", "SVC-13"],
        "blocked_rules": sorted(blocked),
        "rules": [{"rule_id": rule, **({"blocked_by": "RT-01"} if rule in blocked else {})} for rule in listed.known],
    }
    assert verdict("oidc-provider", 1, record, listed.differences) == 0
    assert "documented RT-02: blocked by RT-01" in capsys.readouterr().out
    record.update(failed_rules=["AUTH-12", "RT-01", "RT-02", "SVC-13"], blocked_rules=sorted(blocked - {"RT-02"}))
    assert verdict("oidc-provider", 1, record, listed.differences) == 1
    assert "CHANGED RT-02: documented as blocked by RT-01, but failed" in capsys.readouterr().out


# What each server answers with client secrets of every character class. oidc-provider decodes HTTP
# Basic credentials as RFC 6749 section 2.3.1 says; glewlwyd 2.7.5 compares them as sent (with the same
# secrets sent raw, the same rules pass there), so the suite's conforming requests fail there, and
# the suite says so with the sentence: a difference only a secret with such characters shows.
EVERY_CHARACTER_CLASS_VERDICTS = {
    "oidc-provider": {"SVC-02": "passed", "REV-01": "passed", "CODE-01": "passed"},
    "glewlwyd": {"SVC-02": "failed", "REV-01": "blocked", "RT-01": "failed"},
}


@pytest.mark.timeout(400)
@pytest.mark.parametrize("name", SERVERS)
def test_client_secrets_of_every_character_class_with_http_basic(name, tmp_path):
    """Client secrets with a space, `+ / = % : & ~` and `%41` (scripts/real_server.py
    EVERY_CHARACTER_CLASS): the service client's HTTP Basic token request (SVC-02), the revocation
    request (REV-01) and the web app's code redeemed (CODE-01 at oidc-provider; RT-01 at glewlwyd,
    whose web app declares client_secret_basic: its code and refresh token redeemed with HTTP Basic).
    The suite form-urlencodes them first (RFC 6749 section 2.3.1): oidc-provider grants them as with
    plain secrets; glewlwyd, which does not decode them, refuses, and the failure cites the sentence."""
    expected = EVERY_CHARACTER_CLASS_VERDICTS[name]
    run_against(
        SERVERS[name],
        "--secrets-of-every-character-class",
        "-p",
        "no:xdist",
        *(f"--rule={rule}" for rule in expected),
        f"--compliance={tmp_path / 'c.json'}",
        timeout=380,
    )
    record = json.loads((tmp_path / "c.json").read_text())
    assert {rule["rule_id"]: rule["status"] for rule in record["rules"]} == expected, json.dumps(record)[-3000:]
