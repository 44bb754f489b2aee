"""Run the suite against node's oidc-provider and compare its failing rules with the documented
differences: python scripts/oidc_provider.py [--secrets-of-every-character-class] [--code-lifetime=SECONDS]
[pytest arguments ...]

Starts oidc_provider/server.mjs on loopback with fresh client secrets, runs the features with
environments/oidc-provider.yaml, stops the server. Exit 0 when the rules that failed are exactly
those in oidc_provider/known_differences.yaml; 1 when a rule fails that is not listed there, or
a listed difference no longer happens; the suite's own code for environment or configuration
problems. `--code-lifetime` gives its authorization codes another lifetime than 60 s (the file's
declared one, in a copy): CODE-04 waits it out, so a shorter one makes a shorter run."""

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from real_server import (
    ROOT,
    declaring_code_lifetime,
    fresh_secret,
    run_suite,
    split_awkward_argument,
    split_code_lifetime_argument,
    split_record_argument,
    verdict,
    wait_until_serving,
)

KNOWN_DIFFERENCES = ROOT / "oidc_provider" / "known_differences.yaml"
PORT = 3311


def start_server(environ: dict, port: int = PORT, code_lifetime: int | None = None) -> subprocess.Popen:
    if not (ROOT / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
    server = subprocess.Popen(
        ["node", "oidc_provider/server.mjs", "--port", str(port)]
        + (["--code-lifetime", str(code_lifetime)] if code_lifetime else []),
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until_serving(f"http://127.0.0.1:{port}/.well-known/openid-configuration", server, "oidc-provider")
    return server


def main() -> int:
    arguments, awkward = split_awkward_argument(sys.argv[1:])
    arguments, code_lifetime = split_code_lifetime_argument(arguments)
    pytest_args, record = split_record_argument(arguments, ROOT / "reports" / "oidc-provider" / "compliance.json")
    environ = {
        **os.environ,
        **{
            name: fresh_secret(awkward)
            for name in ("OP_SERVICE_SECRET", "OP_WEB_SECRET", "OP_WEB_OTHER_SECRET", "OP_WEB_SHORT_LIVED_SECRET")
        },
        "OP_TEST_PASSWORD": secrets.token_urlsafe(24),
    }
    server = start_server(environ, code_lifetime=code_lifetime)
    try:
        with tempfile.TemporaryDirectory(prefix="oidc-provider-") as folder:
            environment = declaring_code_lifetime("oidc-provider", code_lifetime, Path(folder))
            code, summary = run_suite(environment, environ, record, pytest_args)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return verdict("oidc-provider", code, summary, KNOWN_DIFFERENCES)


if __name__ == "__main__":
    sys.exit(main())
