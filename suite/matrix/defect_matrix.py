"""The detection matrix in one pytest run (`--defect-matrix=all`, or `=NAME,NAME`): every scenario
runs against the clean sandbox (unless `--defect-matrix-without-clean`: suite.matrix.detection runs it
once) and against each defect switch on its own. One sandbox serves them all from one port,
each defect set under its own issuer (`/defects/NAME`), with its own state; so a switch costs
its scenarios, not a pytest start, a sandbox start and a signing key.

The `environment` fixture is parametrized by defect set at session scope, so pytest runs one
set's scenarios together and each set gets its own discovery. The record file (`--compliance`)
holds one compliance record per defect set, keyed by switch name (`clean` for none), each
computed exactly as a normal run's record is (suite.reports.results), so the matrix judges a switch by
the same statuses a user sees. Only `scripts/detection_matrix.py` and the tests use it (the allowed
variants, sandbox.defects.VARIANTS, run the same way: tests/test_allowed_variants.py)."""

import dataclasses
import json
from pathlib import Path

import pytest

CLEAN = "clean"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("conformance").addoption(
        "--defect-matrix",
        metavar="all|NAME,NAME",
        default=None,
        help="sandbox only: run every scenario against the clean sandbox and against each of these defect "
        "switches or allowed variants (all: every defect switch), one sandbox serving them all; writes one record "
        "per switch",
    )
    parser.getgroup("conformance").addoption(
        "--defect-matrix-without-clean",
        action="store_true",
        help="with --defect-matrix: leave the clean sandbox out (another run of the same matrix has it)",
    )


def requested_defect_sets(config: pytest.Config) -> list[tuple[str, ...]]:
    """[(), (NAME,), ...] for --defect-matrix, without () for --defect-matrix-without-clean; [] without it."""
    value = config.getoption("--defect-matrix")
    if value is None:
        return []
    # here: importing the sandbox (Flask, Authlib) costs a real server's run 0.1 s
    from sandbox.defects import DEFECTS, UNCHECKABLE, VARIANTS

    names = sorted(DEFECTS) if value == "all" else [n for n in value.split(",") if n]
    unknown = sorted(set(names) - set(DEFECTS) - set(VARIANTS) - set(UNCHECKABLE))
    if unknown:
        raise pytest.UsageError(
            f"configuration problem\n--defect-matrix: unknown sandbox defect(s): {', '.join(unknown)}"
        )
    clean = [] if config.getoption("--defect-matrix-without-clean") else [()]
    if not clean and not names:
        raise pytest.UsageError("configuration problem\n--defect-matrix-without-clean: no defect set left to run")
    return clean + [(name,) for name in names]


def label(defect_set: tuple[str, ...]) -> str:
    return "+".join(defect_set) or CLEAN


def install(config, environment, issuers: dict) -> None:
    """Called by conftest.py once the sandbox runs, with its issuer for each defect set (a tuple of
    names, or, in an xdist worker, its label): one environment per defect set."""
    issuers = {name if isinstance(name, str) else label(name): issuer for name, issuer in issuers.items()}
    config.defect_matrix_environments = {
        name: _environment_of(environment, issuer, () if name == CLEAN else tuple(name.split("+")))
        for name, issuer in issuers.items()
    }
    if getattr(config, "workerinput", None) is None:
        config.pluginmanager.register(
            MatrixRecorder(config.defect_matrix_environments, config.getoption("--compliance")),
            "conformance-defect-matrix",
        )


def _environment_of(environment, issuer: str, defect_set: tuple[str, ...]):
    """The sandbox's environment for one defect set, under its own issuer, with the expectations its
    switches declare (sandbox.defects.Defect.declares: plain PKCE accepted, say)."""
    from sandbox.defects import DEFECTS

    declared = dict(pair for name in defect_set if name in DEFECTS for pair in DEFECTS[name].declares)
    expectations = dataclasses.replace(environment.expectations, **declared)
    return dataclasses.replace(environment, issuer=issuer, sandbox_defects=defect_set, expectations=expectations)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    environments = getattr(metafunc.config, "defect_matrix_environments", None)
    if environments and "environment" in metafunc.fixturenames:
        metafunc.parametrize(
            "environment", list(environments.values()), ids=list(environments), indirect=True, scope="session"
        )


@pytest.fixture(autouse=True)
def _defect_set_of_the_scenario(request, environment) -> None:
    """Makes every scenario depend on `environment` (so the matrix can parametrize it) and, in a
    matrix run, tells the recorder which defect set the scenario ran against."""
    if getattr(request.config, "defect_matrix_environments", None):
        request.node.user_properties.append(("defect_set", label(environment.sandbox_defects)))


class MatrixRecorder:
    """One compliance record per defect set, written together at the end."""

    def __init__(self, environments: dict, path: str) -> None:
        from suite.reports.results import ResultRecorder

        self.path = Path(path)
        self.recorders = {name: ResultRecorder(environment, path) for name, environment in environments.items()}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        recorder = self.recorders.get(dict(report.user_properties).get("defect_set"))
        if recorder is not None:
            recorder.pytest_runtest_logreport(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        records = {name: recorder.record() for name, recorder in self.recorders.items() if recorder.scenarios}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(records, indent=1), encoding="utf-8")
