"""A result computed once per test run and shared by every pytest-xdist worker: the first to ask
computes it under a lock, the others wait on that lock and read what it wrote (pickled). So a
matrix's clean run, or one of its chunks, is made once however many tests and workers need it."""

import fcntl
import os
import pickle
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, compute: Callable[[], T]) -> T:
    """`compute()` the first time any worker of this run asks for `name`, its stored result after."""
    # an xdist worker's temporary folder is inside its run's, which every worker shares; without
    # xdist the run's own folder (its parent is every earlier run's too, with their stale results)
    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = shared / f"{name}.pickle"
        if not result.exists():
            result.write_bytes(pickle.dumps(compute()))
        return pickle.loads(result.read_bytes())
