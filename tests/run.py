"""Run the conformance suite the way a user does: `python -m pytest ...` in the project root."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_suite(*args, environ=None, timeout=240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VISMA_", "ACME_"))}
    env.update(environ or {})
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # A new session has no controlling terminal, as in CI, whoever runs the tests.
    return subprocess.run([sys.executable, "-m", "pytest", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, start_new_session=True)


def write_environment(directory: Path, text: str, name="env.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


SANDBOX_YAML = (ROOT / "environments" / "sandbox.yaml").read_text(encoding="utf-8")
