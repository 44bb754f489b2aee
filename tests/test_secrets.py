"""No secret reaches a report, a log, JUnit XML or the terminal, not even on failures shown with
--showlocals. The sandbox's witness file lists every secret it received or issued in the run:
client secrets, the password, codes, verifiers, access and refresh tokens."""

import os
import re

import pytest

from run import ROOT, SANDBOX_YAML, run_suite, write_environment
from suite.browser import chromium_path

BROWSER_YAML = (ROOT / "environments" / "sandbox-browser.yaml").read_text(encoding="utf-8")

RECOGNISABLE = {
    "sandbox-service-secret": "Svc-Secret-7f3a9c1e-DO-NOT-LEAK",
    "sandbox-web-secret": "Web-Secret-2b8d4f60-DO-NOT-LEAK",
    "sandbox-web-other-secret": "Other-Secret-93ce17aa-DO-NOT-LEAK",
    "sandbox-password": "Passw0rd-5e1b77d2-DO-NOT-LEAK",
}
# Rules that fail on purpose, so failure output (messages, tracebacks, locals) is exercised.
DEFECTS = ("wrong-secret-accepted", "code-reusable", "refresh-for-spa", "tenant-claim-missing", "no-store-missing")


# Each login method hands the callback over its own way: HTTP redirects, or a browser that the
# suite's HTTP client never sees.
@pytest.mark.parametrize("login", [
    "form",
    pytest.param("browser", marks=pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"),
                                                     reason="needs Debian's chromium; CI installs it")),
])
def test_no_secret_in_any_output(tmp_path, login):
    text = SANDBOX_YAML if login == "form" else BROWSER_YAML
    for old, new in RECOGNISABLE.items():
        text = text.replace(old, new)
    environment = write_environment(tmp_path, text)
    witness, reports = tmp_path / "witness.txt", tmp_path / "reports"
    result = run_suite(f"--env={environment}", *(f"--defect={d}" for d in DEFECTS),
                       f"--alluredir={reports / 'allure-results'}", f"--junitxml={reports / 'junit.xml'}",
                       f"--compliance={reports / 'compliance.json'}", "--showlocals", "--tb=long", "-rA",
                       "-o", "log_cli=true", "-o", "log_level=DEBUG",
                       environ={"SANDBOX_WITNESS_FILE": str(witness)})
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    secrets = set(witness.read_text().split()) | set(RECOGNISABLE.values())
    kinds = witness.read_text()
    assert "eyJ" in kinds and any(s in kinds for s in RECOGNISABLE.values()), "the witness saw no tokens or secrets"
    assert len(secrets) > 40, f"only {len(secrets)} secrets witnessed"

    outputs = {"terminal": result.stdout + result.stderr}
    for path in reports.rglob("*"):
        if path.is_file():
            outputs[str(path.relative_to(tmp_path))] = path.read_text(encoding="utf-8", errors="replace")
    assert any("allure-results" in name for name in outputs) and "reports/junit.xml" in outputs
    assert "--showlocals is turned off: local variables hold secrets" in outputs["terminal"]
    assert re.search(r"\[(access_token|refresh_token|authorization code|code_verifier|cookie redacted)\]",
                     "".join(outputs.values())), "no masked value shown anywhere"

    # Whole secrets, and the head and tail of each: pytest cuts long values in the middle.
    fragments = {secret: {secret, secret[:16], secret[-16:]} if len(secret) >= 32 else {secret} for secret in secrets}
    leaks = [(name, secret[:8] + "...") for name, content in outputs.items()
             for secret, parts in fragments.items() if any(part in content for part in parts)]
    assert not leaks, f"secrets found in output: {leaks[:10]}"
    jwt = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}")
    assert not [name for name, content in outputs.items() if jwt.search(content)], "a JWT reached an output"
