"""pytest-xdist (`-n 2`) gives the same result for every scenario as a serial run, and a complete
report: each scenario has its own state, verifier, code and tokens."""

import json

from run import run_suite


def _statuses(record):
    return {s["id"]: s["status"] for rule in json.loads(record.read_text())["rules"] for s in rule["scenarios"]}


def test_parallel_and_serial_runs_agree_scenario_by_scenario(tmp_path):
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    # Two defects, so that agreement covers failures as well as passes.
    defects = ("--defect=code-reusable", "--defect=state-dropped")
    first = run_suite(*defects, f"--compliance={serial}", "-q")
    second = run_suite(*defects, f"--compliance={parallel}", f"--alluredir={tmp_path / 'allure'}", "-q", "-n", "2")
    assert first.returncode == second.returncode == 1, second.stdout[-2000:]
    assert _statuses(serial) == _statuses(parallel)
    assert json.loads(parallel.read_text())["failed_rules"] == ["AUTH-02", "CODE-01"]
    assert len(list((tmp_path / "allure").glob("*-result.json"))) == len(_statuses(parallel)) == len(_statuses(serial))
