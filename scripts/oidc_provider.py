"""Run the suite against node's oidc-provider and compare its failing rules with the documented
differences: python scripts/oidc_provider.py [--port N] [pytest arguments ...]

Starts oidc_provider/server.mjs on loopback with fresh client secrets, runs the features with
environments/oidc-provider.yaml, stops the server. Exit 0 when the rules that failed are exactly
those in oidc_provider/known_differences.yaml; 1 when a rule fails that is not listed there, or
a listed difference no longer happens; the suite's own code for environment or configuration
problems."""

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
KNOWN_DIFFERENCES = ROOT / "oidc_provider" / "known_differences.yaml"
PORT = 3311


def known_differences() -> dict[str, str]:
    return yaml.safe_load(KNOWN_DIFFERENCES.read_text(encoding="utf-8"))["differences"]


def start_server(environ: dict, port: int = PORT) -> subprocess.Popen:
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
    server = subprocess.Popen(["node", "oidc_provider/server.mjs", "--port", str(port)], cwd=ROOT, env=environ,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=1)
            return server
        except requests.ConnectionError:
            if server.poll() is not None:
                raise RuntimeError(f"oidc-provider did not start: {server.stdout.read()}")
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("oidc-provider did not answer within 30 s")


def run(pytest_args=(), record=ROOT / "reports" / "oidc-provider" / "compliance.json") -> tuple[int, dict]:
    """Start the server, run the suite, stop it: (the suite's exit code, the compliance record)."""
    environ = {**os.environ, **{name: secrets.token_urlsafe(24) for name in
                                ("OP_SERVICE_SECRET", "OP_WEB_SECRET", "OP_WEB_OTHER_SECRET", "OP_TEST_PASSWORD")}}
    server = start_server(environ)
    try:
        completed = subprocess.run([sys.executable, "-m", "pytest", "--env=oidc-provider", f"--compliance={record}",
                                    *pytest_args], cwd=ROOT, env=environ)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return completed.returncode, json.loads(Path(record).read_text()) if Path(record).exists() else {}


def compare(summary: dict) -> tuple[list[str], list[str]]:
    """(rules that failed without being a known difference, known differences that did not fail)"""
    failed, known = set(summary.get("failed_rules", [])), set(known_differences())
    return sorted(failed - known), sorted(known - failed)


def main() -> int:
    arguments = sys.argv[1:]
    chosen = [a.split("=", 1)[1] for a in arguments if a.startswith("--compliance=")]
    arguments = [a for a in arguments if not a.startswith("--compliance=")]
    code, summary = run(arguments, *(Path(c) for c in chosen[-1:]))
    if code not in (0, 1) or not summary:
        return code or 1
    new, stale = compare(summary)
    print(f"\noidc-provider: {len(summary['failed_rules'])} rules differ from the Visma contract, "
          f"{len(known_differences())} documented in {KNOWN_DIFFERENCES.relative_to(ROOT)}")
    for rule in new:
        print(f"  NEW FAILURE {rule}: not a documented difference; a fault of the suite, or a difference to document")
    for rule in stale:
        print(f"  STALE {rule}: documented as a difference but passed; remove it from the list")
    return 1 if new or stale else 0


if __name__ == "__main__":
    sys.exit(main())
