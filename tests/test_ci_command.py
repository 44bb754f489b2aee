"""The command for CI, `python -m suite.run`: its exit code is the suite's (docs/reference-exit-codes.md),
whatever happened, and after any run its reports folder holds this run's reports only, or says
that this run produced no verdict and why."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from run import ROOT, SANDBOX_YAML, run_ci, write_environment

from suite.reports.html_report import ALLURE

UNREACHABLE = """name: unreachable
issuer: http://127.0.0.1:9
http: {connect_timeout: 1, retries: 0}
clients:
  service: {client_id: c, client_secret: "${T_SECRET}", scope: visma_api:read, tenant_id: t}
"""


def _history_lines(reports) -> int:
    history = reports / "history.jsonl"
    return len(history.read_text().splitlines()) if history.exists() else 0


def test_a_conformant_run_exits_0_and_a_later_configuration_problem_leaves_nothing_stale(tmp_path):
    reports = tmp_path / "reports"
    first = run_ci(f"--reports={reports}", "-q")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert first.stdout.rstrip().endswith("exit code 0: conformant")
    assert json.loads((reports / "compliance.json").read_text())["verdict"] == "conformant"
    assert (reports / "junit.xml").exists() and (reports / "allure-results").is_dir()
    if ALLURE.exists() or os.environ.get("CI"):
        assert (reports / "allure-report" / "index.html").exists()
        assert _history_lines(reports) == 1
    history = _history_lines(reports)

    broken = write_environment(tmp_path, "name: broken\nissuer: [not, a, url]\n")
    second = run_ci(f"--reports={reports}", f"--env={broken}", "-q")
    assert second.returncode == 4, second.stdout[-3000:] + second.stderr
    assert second.stdout.rstrip().endswith("exit code 4: no verdict: configuration problem")
    record = json.loads((reports / "compliance.json").read_text())
    assert record["verdict"] == "no verdict: configuration problem" and "issuer" in record["reason"]
    markdown = (reports / "compliance.md").read_text()
    assert markdown.startswith("# Verdict: NO VERDICT: CONFIGURATION PROBLEM") and "issuer" in markdown
    # Nothing of the first run is left to be taken for this one's, and its history is not repeated.
    assert sorted(p.name for p in reports.iterdir()) == sorted(
        ["compliance.json", "compliance.md", "changes.md", "run-history.jsonl"] + (["history.jsonl"] if history else [])
    )
    assert (reports / "changes.md").read_text().startswith("# Verdict: NO VERDICT: CONFIGURATION PROBLEM")
    assert _history_lines(reports) == history


def test_the_previous_runs_outputs_leave_at_once_and_are_deleted_while_the_run_goes_on(tmp_path):
    """pytest starts without waiting for the previous run's files to be deleted (about 1,100 with
    the HTML report, 0.1-0.5 s); what a run killed before its deletion finished left aside goes too."""
    from suite.reports.previous_run import ASIDE, ASIDE_MARK, THIS_RUN, aside_folder, delete_once_moved, move_aside

    reports = _previous_run(tmp_path / "reports")
    (reports / f"{ASIDE}killed" / "allure-report").mkdir(parents=True)
    (reports / f"{ASIDE}killed" / ASIDE_MARK).touch()  # a run made it
    aside = aside_folder(reports)
    clearing = delete_once_moved(reports, aside, lambda: True)
    move_aside(reports, aside)
    assert not [name for name in THIS_RUN if (reports / name).exists()]
    clearing.join(timeout=10)
    assert sorted(p.name for p in reports.iterdir()) == ["history.jsonl"]


def _previous_run(reports):
    from suite.reports.previous_run import THIS_RUN

    for name in THIS_RUN:
        if "." in name:
            (reports / name).parent.mkdir(parents=True, exist_ok=True)
            (reports / name).write_text("the previous run's")
        else:
            (reports / name / "data").mkdir(parents=True)
            (reports / name / "data" / "result.json").write_text("{}")
    (reports / "history.jsonl").write_text("{}\n")
    return reports


def _contents(folder):
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(
    "arguments, code",
    [
        (["--help"], 0),
        (["-h"], 0),
        (["--no-such-option"], 2),
        (["--envv=sandbox"], 2),  # a typo of --env
        (["--rule"], 2),  # an option without its value
        (["--reports"], 2),
        (["--env=sandbox", "clean"], 2),  # a stray word: pytest took it for a path, found it missing after the run
        (["--rule", "NOPE-99"], 2),  # ran nothing: exit 5, and its "incomplete" record replaced the last run's
        (["--rule=DISK"], 2),
        (["--env=sandbox", "--env", "environments/sandbox.yaml"], 2),  # the last one was used, silently
        (["--reports=elsewhere"], 2),  # given twice, with the test's own --reports
    ],
)
def test_help_a_usage_error_or_a_typo_leave_the_reports_folder_as_it_was(tmp_path, arguments, code):
    """The last run's report stays the last run's: nothing moved aside, no "no verdict" record."""
    reports = _previous_run(tmp_path / "reports")
    before = _contents(reports)
    where = [] if arguments == ["--reports"] else [f"--reports={reports}"]
    result = run_ci(*where, *arguments, timeout=120)
    assert result.returncode == code, result.stdout[-3000:] + result.stderr
    assert _contents(reports) == before
    if code == 0:
        assert "usage: python -m suite.run" in result.stdout and "--env=NAME|PATH" in result.stdout
    else:
        assert "usage error" in result.stdout + result.stderr
        # the last line of every run, a usage error's too (docs/reference-exit-codes.md)
        assert result.stdout.splitlines()[-1].startswith(f"exit code {code}: usage error"), result.stdout
    if "--rule=DISK" in arguments:
        assert "--rule DISK: no such rule. Did you mean DISC?" in result.stderr, result.stderr
    repeated = {"--reports=elsewhere": "--reports", "--env": "--env"}
    for option in {repeated[a] for a in arguments if a in repeated}:
        assert f"usage error: {option} given 2 times (" in result.stderr and f"Give {option} once" in result.stderr


def test_the_suites_options_take_their_value_after_a_space(tmp_path):
    """`--env PATH` made PATH's folder pytest's rootdir before the suite's plugin was loaded, and
    pytest refused `--compliance=...`, an option the user never typed."""
    broken = write_environment(tmp_path, "name: broken\n")
    result = run_ci(f"--reports={tmp_path / 'reports'}", "--env", str(broken), "--rule", "DISC-01", timeout=120)
    assert result.returncode == 4, result.stdout[-3000:] + result.stderr
    assert "unrecognized arguments" not in result.stdout + result.stderr
    assert "issuer" in (tmp_path / "reports" / "compliance.md").read_text()


def test_a_usage_error_makes_no_reports_folder(tmp_path):
    result = run_ci(f"--reports={tmp_path / 'new'}", "--no-such-option", timeout=120)
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr
    assert not (tmp_path / "new").exists()


def test_an_unreachable_server_exits_3_with_a_record_that_says_why(tmp_path):
    reports = tmp_path / "reports"
    (reports / "allure-report").mkdir(parents=True)
    (reports / "compliance.md").write_text("# Verdict: CONFORMANT\n")  # an earlier run's
    environment = write_environment(tmp_path, UNREACHABLE)
    result = run_ci(f"--reports={reports}", f"--env={environment}", "-q", environ={"T_SECRET": "s3cret"})
    assert result.returncode == 3, result.stdout[-3000:] + result.stderr
    markdown = (reports / "compliance.md").read_text()
    assert markdown.startswith("# Verdict: NO VERDICT: ENVIRONMENT PROBLEM")
    assert "cannot reach http://127.0.0.1:9" in markdown
    assert sorted(p.name for p in reports.iterdir()) == ["changes.md", "compliance.json", "compliance.md"]


def test_a_non_conformant_run_exits_1_with_details_written_for_people(tmp_path):
    reports = tmp_path / "reports"
    result = run_ci(f"--reports={reports}", "--defect=pkce-s256-hex", "--rule=PKCE", "--rule=ID", "-q")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    record, markdown = (reports / "compliance.json").read_text(), (reports / "compliance.md").read_text()
    assert json.loads(record)["verdict"] == "not conformant"
    for text in (record, markdown):
        assert "suite.verdict.checks." not in text and "NonConformance:" not in text and "NothingToCheck:" not in text
    assert "&lt;" not in markdown and "&gt;" not in markdown
    assert "Each app redeems its code with the right verifier" in markdown and "<role>" not in markdown


@pytest.mark.parametrize("selection", [["--rule=SVC-01"], ["-k", "not svc08"], ["features/discovery.feature"]])
def test_a_run_that_leaves_out_a_blocker_rule_is_incomplete_and_exits_5(tmp_path, selection):
    reports = tmp_path / "reports"
    result = run_ci(f"--reports={reports}", "-q", "-m", "not slow", *selection)
    assert result.returncode == 5, result.stdout[-3000:] + result.stderr
    record = json.loads((reports / "compliance.json").read_text())
    assert record["verdict"].startswith("incomplete") and "SVC-08" in record["not_run_rules"]
    assert "did not run (blocker or critical): " in result.stdout and "SVC-08" in result.stdout
    assert "Blocker and critical rules this run did not run" in (reports / "compliance.md").read_text()


def _as_at_a_terminal():
    """Ctrl-C stops the run, as at a terminal, even when this test runs in the background: a shell
    without job control starts background jobs with SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("to", ["group", "process"])
def test_an_interrupted_run_is_incomplete_and_exits_5(tmp_path, to):
    """Ctrl-C (SIGINT to the process group), and SIGINT to the suite.run process alone: that went
    unseen, its pytest ran on and the run certified (exit 0)."""
    # A sandbox whose codes live 120 s: CODE-04, which runs last, then sleeps for two minutes, so the
    # Ctrl-C surely comes mid-run however slowly this machine lets the test watch the results.
    assert "  authorization_code_lifetime: 4 " in SANDBOX_YAML
    environment = write_environment(
        tmp_path, SANDBOX_YAML.replace("  authorization_code_lifetime: 4 ", "  authorization_code_lifetime: 120 ")
    )
    reports = tmp_path / "reports"
    child = subprocess.Popen(
        [sys.executable, "-m", "suite.run", f"--reports={reports}", f"--env={environment}", "-q"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=_as_at_a_terminal,
    )
    deadline = time.monotonic() + 240  # a loaded machine can take a minute to start the run
    while len(list((reports / "allure-results").glob("*-result.json"))) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert child.poll() is None, "the run ended before it could be interrupted: " + child.communicate()[0][-3000:]
    if to == "group":
        os.killpg(child.pid, signal.SIGINT)  # Ctrl-C at a terminal reaches the whole process group
    else:
        os.kill(child.pid, signal.SIGINT)  # kill -INT PID: suite.run alone
    output, _ = child.communicate(timeout=60)
    assert child.returncode == 5, output[-3000:]
    record = json.loads((reports / "compliance.json").read_text())
    assert record["verdict"].startswith("incomplete") and record["not_run_rules"], record["verdict"]


@pytest.mark.parametrize(
    "arguments, says",
    [
        (["--compliance=elsewhere.json"], "--compliance=elsewhere.json: the CI command writes every output into one"),
        (["--compliance="], "--compliance= (empty): the CI command writes every output into one folder"),
    ],
)
def test_options_the_command_cannot_take_are_a_configuration_problem(tmp_path, arguments, says):
    """One line that names the cause, in the form of every other configuration problem, and the
    code on the last line (docs/reference-exit-codes.md); nothing is written."""
    result = run_ci(f"--reports={tmp_path / 'reports'}", *arguments)
    assert result.returncode == 4, result.stdout[-3000:] + result.stderr
    assert result.stderr.splitlines()[:2] == ["ERROR: configuration problem", result.stderr.splitlines()[1]]
    assert says in result.stderr.splitlines()[1], result.stderr
    assert result.stdout.splitlines()[-1] == "exit code 4: no verdict: configuration problem", result.stdout
    assert not (tmp_path / "reports").exists()


def test_a_reports_path_that_is_a_file_is_named_as_one(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("kept")
    result = run_ci(f"--reports={afile}")
    assert result.returncode == 4, result.stdout[-3000:] + result.stderr
    assert result.stderr.splitlines()[:2] == [
        "ERROR: configuration problem",
        f"{afile}: is a file, not a folder. Give the reports a folder (--reports=DIR)",
    ], result.stderr
    assert result.stdout.splitlines()[-1] == "exit code 4: no verdict: configuration problem"
    assert afile.read_text() == "kept"


def test_make_conformance_exits_2_and_names_the_suites_code(tmp_path):
    """make exits 2 whenever a recipe fails (docs/reference-exit-codes.md): the suite's own code is on the last line."""
    broken = write_environment(tmp_path, "name: broken\n")
    result = subprocess.run(
        [
            "make",
            "-s",
            "-o",
            ".venv/.installed",
            "-o",
            "allure-cli",
            "conformance",
            f"ENV={broken}",
            f"REPORTS={tmp_path / 'reports'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "exit code 4: no verdict: configuration problem" in result.stdout


def _guarded_test_run(tmp_path, **variables: str) -> subprocess.CompletedProcess:
    """pytest on the tests in tmp_path with tests/reports_guard.py, as `make test` loads it."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "reports_guard", "-q", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **variables, "PYTHONPATH": str(ROOT / "tests")},
    )


def test_a_test_that_writes_into_reports_fails_the_test_run(tmp_path):
    """tests/reports_guard.py, as `make test` loads it, watching a folder of this test's own."""
    watched = tmp_path / "reports"
    watched.mkdir()
    (tmp_path / "test_writer.py").write_text(
        f"def test_writes():\n    open({str(watched / 'compliance.json')!r}, 'w').write('{{}}')\n"
    )
    result = _guarded_test_run(tmp_path, REPORTS_GUARD_DIR=str(watched))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "REPORTS TOUCHED" in result.stdout and "compliance.json" in result.stdout


def test_a_test_that_leaves_a_token_in_the_users_cache_fails_the_test_run(tmp_path):
    """tests/reports_guard.py, watching the reference service's token cache in a user cache of this
    test's own: its `cache-token` switch left a file there on every run."""
    cache = tmp_path / "user-cache" / "visma-connect-reference-service"
    (tmp_path / "test_writer.py").write_text(
        f"import os\ndef test_writes():\n    os.makedirs({str(cache)!r})\n"
        f"    open({str(cache / 'token.json')!r}, 'w').write('{{}}')\n"
    )
    result = _guarded_test_run(
        tmp_path, REPORTS_GUARD_DIR=str(tmp_path / "reports"), XDG_CACHE_HOME=str(tmp_path / "user-cache")
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "LEFT IN THE USER'S CACHE" in result.stdout and "token.json" in result.stdout


def test_a_crash_of_the_suite_exits_2_as_a_fault_of_the_suite_not_as_an_environment_problem(tmp_path):
    # pytest's exit code 3 is also its INTERNALERROR; only a record that says so is an environment problem
    (tmp_path / "crashing_plugin.py").write_text(
        "def pytest_collection_finish(session):\n    raise RuntimeError('a fault of the suite')\n"
    )
    reports = tmp_path / "reports"
    result = run_ci(f"--reports={reports}", "-p", "crashing_plugin", "-q", environ={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr
    assert result.stdout.rstrip().endswith("exit code 2: no verdict: a fault of the suite")
    assert json.loads((reports / "compliance.json").read_text())["verdict"] == "no verdict: a fault of the suite"


def test_the_ci_command_reads_pytests_exit_codes_without_importing_pytest(tmp_path):
    """Its pytest does the run; pytest imported in `python -m suite.run` too took CPU from the run's
    start and time from its end (Python tears every module down as the process exits)."""
    from suite.run import PYTEST_INTERNAL_ERROR, PYTEST_USAGE_ERROR

    assert (PYTEST_INTERNAL_ERROR, PYTEST_USAGE_ERROR) == (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR)
    broken = write_environment(tmp_path, "name: broken\n")  # a record, the parent reads its verdict
    probe = (
        "import runpy, sys\nsys.argv = ['suite.run', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('suite.run', run_name='__main__')\nexcept SystemExit:\n"
        "    print('pytest imported' if 'pytest' in sys.modules else 'pytest not imported')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, f"--reports={tmp_path / 'reports'}", f"--env={broken}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "exit code 4: no verdict: configuration problem" in result.stdout, result.stdout[-2000:] + result.stderr
    assert result.stdout.rstrip().endswith("pytest not imported"), result.stdout[-2000:] + result.stderr


def test_allure_starts_loading_once_the_first_result_is_written_not_with_pytest(tmp_path, monkeypatch):
    """Node's loading of Allure took the CPU from pytest's start-up (and so from the early sign-in
    that CODE-04's wait counts from); it starts once the run is under way."""
    import threading

    import suite.reports.html_report
    from suite.run import LOAD_ALLURE_AFTER, _start_report_once_under_way

    reports = tmp_path / "reports"
    started = []
    monkeypatch.setattr(
        suite.reports.html_report,
        "start",
        lambda folder: (
            started.append(sorted(p.name for p in (folder / "allure-results").glob("*-result.json"))) or "allure"
        ),
    )
    run = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    writer = threading.Timer(
        0.5,
        lambda: (
            (reports / "allure-results").mkdir(parents=True),
            (reports / "allure-results" / "1-result.json").write_text("{}"),
        ),
    )
    writer.start()
    try:
        assert _start_report_once_under_way(run, reports) == "allure"
        assert started == [["1-result.json"]]
    finally:
        run.kill()
        run.wait()
    assert _start_report_once_under_way(run, tmp_path / "other") is None  # pytest ended before any result
    assert started == [["1-result.json"]]
    # a run whose first result comes late (CODE-04 alone) still has Allure loaded before it ends
    run = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        begun = time.monotonic()
        assert _start_report_once_under_way(run, tmp_path / "late") == "allure"
        assert LOAD_ALLURE_AFTER <= time.monotonic() - begun < LOAD_ALLURE_AFTER + 5 and started[-1] == []
    finally:
        run.kill()
        run.wait()


def test_a_run_killed_without_a_record_says_how_far_it_had_gone(tmp_path):
    """pytest killed (SIGTERM sent to the whole process group, as `timeout` does) writes no record:
    the one written for it says so truly, by what the scenarios had written, never "before any
    scenario" when one was running (the security tester's run said so, killed in its first scenario)."""
    from suite.run import _how_far

    results = tmp_path / "allure-results"
    assert _how_far(-15, results) == (
        "pytest was ended by SIGTERM (exit -15) before any scenario had written anything; its output above says why"
    )
    results.mkdir()
    (results / "1-attachment.txt").write_text("requests refused")
    assert "during its first scenario, which had begun and not finished" in _how_far(-15, results)
    (results / "1-result.json").write_text("{}")
    (results / "2-result.json").write_text("{}")
    assert "after 2 scenarios had finished" in _how_far(-9, results) and "SIGKILL" in _how_far(-9, results)


def test_the_commands_it_prints_quote_a_folder_with_a_space(tmp_path):
    """`make serve-report REPORTS=/ci/my reports` and `... verify /ci/my reports/compliance.json` were
    printed as they are: copied, each ran on the wrong folder."""
    from suite.reports.record_markdown import verdict_lines

    reports = tmp_path / "my reports"
    last = verdict_lines({"verdict": "conformant", "rules": [], "environment": "x"}, reports / "compliance.json")[-1]
    assert last.endswith(f"python -m suite.reports.verify '{reports / 'compliance.json'}'"), last
    if ALLURE.exists():
        result = run_ci(f"--reports={reports}", "--rule=DISC-01", timeout=120)
        assert f"make serve-report REPORTS='{reports}')" in result.stdout, result.stdout[-2000:]
