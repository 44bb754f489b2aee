import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytest_plugins = ["reports_guard"]  # make test fails when a test wrote into the user's reports/


def pytest_configure(config):
    config.addinivalue_line("markers", "last: runs after every other test (it reads what their shared runs made)")


def pytest_collection_modifyitems(items):
    """Longest first, as pytest-xdist hands tests out in this order: a long test handed out last is
    the run's tail, every worker idle but its own. A test's declared timeout stands for its length
    (unmarked ones have the default); the sort is stable, so tests of one length keep their files' order."""

    def order(item):
        timeout = item.get_closest_marker("timeout")
        return (item.get_closest_marker("last") is not None, -(timeout.args[0] if timeout else 0))

    items.sort(key=order)
