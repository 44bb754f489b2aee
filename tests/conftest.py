import compileall
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytest_plugins = ["reports_guard"]  # make test fails when a test wrote into the user's reports/


# The project's own Python: what the suite, application-side, matrix and real-server runs import.
PROJECT_CODE = ("suite", "steps", "sandbox", "appside", "features", "scripts", "examples", "conftest.py")


def pytest_configure(config):
    config.addinivalue_line("markers", "last: runs after every other test (it reads what their shared runs made)")
    if not hasattr(config, "workerinput"):  # once, in the process that starts the workers
        compile_the_project()
        give_the_reference_service_a_temporary_cache(config)


def give_the_reference_service_a_temporary_cache(config) -> None:
    """The reference service's `cache-token` keeps its token in the user's cache unless
    SERVICE_APP_TOKEN_CACHE names a folder: every test's run of it (and the workers', which inherit
    the variable) keeps it in one temporary folder, removed at the end (tests/reports_guard.py fails
    the run when one is left in the user's cache)."""
    if "SERVICE_APP_TOKEN_CACHE" not in os.environ:
        folder = tempfile.mkdtemp(prefix="service-token-cache-")
        os.environ["SERVICE_APP_TOKEN_CACHE"] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


@pytest.fixture(autouse=True)
def _timed_out_endpoints_forgotten():
    """The HTTP client stops waiting, for the rest of its process, on an endpoint that timed out: a
    test's loopback server may leave its port to a later test's, which must be waited for again."""
    yield
    http = sys.modules.get("suite.wire.http")
    if http is not None:
        http.HttpClient.timed_out.clear()


def compile_the_project() -> None:
    """Byte-compile the project's own modules before the tests start their hundreds of runs of the
    suite, the application side and the matrices: those are started with PYTHONDONTWRITEBYTECODE=1
    (they leave no bytecode behind), so each compiled every module it imports from source again, 0.3
    of the 1.2 CPU-seconds a suite run takes to start and collect. A third of a second, once; git
    ignores __pycache__, and Python checks each file's size and time before it uses its bytecode."""
    for name in PROJECT_CODE:
        path = ROOT / name
        if path.is_dir():
            compileall.compile_dir(path, quiet=1)
        elif path.is_file():
            compileall.compile_file(path, quiet=1)
    rewrite_the_project_for_pytest()


def rewrite_the_project_for_pytest() -> None:
    """The same for pytest's own bytecode: it rewrites the asserts of every plugin, conftest and test module a
    run loads (the suite's steps and plugins, appside.steps, features/test_features.py), and keeps the result
    only where it may write bytecode, so each of those runs parsed and rewrote them again: 0.07-0.1 of the
    0.55-0.65 CPU-seconds a suite or application-side run takes to start and collect. Written here once, by
    pytest's own rewriter, where its runs look for it; each run checks it against its source's hash before use,
    as pytest does its own. 0.35 CPU-seconds for every module of the project, whichever a run rewrites."""
    from types import SimpleNamespace

    from _pytest.assertion.rewrite import PYC_TAIL, _rewrite_test, _write_pyc, get_cache_dir

    quiet = SimpleNamespace(trace=lambda message: None)  # what _write_pyc says of a file it could not write
    for name in PROJECT_CODE:
        path = ROOT / name
        for module in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            try:
                source_hash, code = _rewrite_test(module, None)
            except (OSError, SyntaxError):  # compileall said so already
                continue
            cache = get_cache_dir(module)
            cache.mkdir(parents=True, exist_ok=True)
            _write_pyc(quiet, code, source_hash, cache / (module.name[:-3] + PYC_TAIL))


def pytest_collection_modifyitems(items):
    """Longest first, as pytest-xdist hands tests out in this order: a long test handed out last is
    the run's tail, every worker idle but its own. A test's declared timeout stands for its length; an
    unmarked one comes after every marked one, so a long test declares its timeout even where it is the
    ini's (test_secrets' whole runs, 40-100 s, were handed out among the last); the sort is stable, so tests
    of one length keep their files' order."""

    def order(item):
        timeout = item.get_closest_marker("timeout")
        return (item.get_closest_marker("last") is not None, -(timeout.args[0] if timeout else 0))

    items.sort(key=order)


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")  # after xdist's own
def pytest_collection_modifyitems_keeping_xdist_groups(config, items):
    """pytest-xdist 3.8 keeps the tests of one `xdist_group` on one worker (--dist loadgroup) by writing
    "<nodeid>@<group>" into `item._nodeid`, which pytest 9 no longer reads (its nodeid is `item._id`): the
    scheduler saw no group, and a group's tests ran on several workers, each waiting on the others' lock
    for the run they share (seen: two tests of one group on gw0 and gw1). The id xdist meant is made the
    item's own, as pytest 8 had it."""
    from _pytest.nodeid import NodeId

    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        meant = vars(item).get("_nodeid")
        if isinstance(meant, str) and meant != item.nodeid:
            item._id = NodeId.parse(meant)


@pytest.fixture(scope="module")
def sandbox():
    """A sandbox with its default registry, for a test module's sign-ins (sandbox_sign_in); a module that needs
    other defects or clients defines its own."""
    from sandbox import SandboxServer, default_registry

    server = SandboxServer(default_registry()).start()
    yield server
    server.stop()
