"""python -m appside --help shows the command's options and exits 0: it said "configuration problem:
--app missing" and exited 4, as if help were a certification without its application file."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help_lists_the_options_and_exits_0(option):
    completed = subprocess.run(
        [sys.executable, "-m", "appside", option], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert completed.stdout.startswith("python -m appside --app=PATH [options]")
    assert "--app=PATH" in completed.stdout and "--compliance" in completed.stdout
    assert "configuration problem" not in completed.stdout + completed.stderr


def test_without_app_it_is_still_a_configuration_problem():
    completed = subprocess.run([sys.executable, "-m", "appside"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 4
    assert "--app: missing" in completed.stdout + completed.stderr
