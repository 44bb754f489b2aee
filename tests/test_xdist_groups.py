"""The tests of one `xdist_group` run on one worker under `make test`'s --dist loadgroup, as the shared
runs of the detection matrix, the rendered report and the reference service count on (each group's
first test makes what the others read; on several workers each waited on the others' lock)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import os
import pytest

@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("n", range(6))
def test_grouped(n, tmp_path_factory):
    with open(os.environ["WORKERS_FILE"], "a") as seen:
        seen.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")

@pytest.mark.parametrize("n", range(6))
def test_free(n):
    pass
"""


def test_a_groups_tests_run_on_one_worker(tmp_path):
    (tmp_path / "test_probe.py").write_text(PROBE)
    # the project's conftest, as make test loads it (its hooks, not its tests)
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "reports_guard.py").write_text((ROOT / "tests" / "reports_guard.py").read_text())
    workers = tmp_path / "workers.txt"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "3", "--dist", "loadgroup", "-p", "no:cacheprovider", "."],
        cwd=tmp_path,
        env={**os.environ, "WORKERS_FILE": str(workers)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    seen = workers.read_text().split()
    assert len(seen) == 6 and len(set(seen)) == 1, seen
