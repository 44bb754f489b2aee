"""A reference application's full certification, made once per test run and read by every test that judges it:
the application matrix's row for a switch and the verdict tests' checks on the same run's record. Each test
still makes its own assertions on it, and fails when its own check fails; none waits for a second run of the
same application with the same switch (a web certification costs 10-15 CPU-seconds, most of them a browser's)."""

import pytest
from once_per_run import once_per_run

from appside.matrix import REFERENCE_APPS, AppRow, certify


def reference_certification(tmp_path_factory: pytest.TempPathFactory, name: str, switch: str | None) -> AppRow:
    """The reference application `name` certified as the matrix certifies it (a fresh secret of every character
    class its client library carries, APP_SETTLE=1, its own folder), with `switch` on (None: clean); its record
    is the row's `record`. Safe to call from a pool thread once the test has made its base folder."""
    app = REFERENCE_APPS[name]
    return once_per_run(
        tmp_path_factory,
        f"app-matrix-{name}-{switch or 'clean'}",
        lambda: certify(app, switch, tmp_path_factory.mktemp("certification")),
    )


def is_matrix_switch(name: str, switch: str) -> bool:
    """Whether the application matrix certifies `name` with `switch` ("" the clean run): a test that judges that
    run reads the matrix's, rather than make a run of its own."""
    return not switch or switch in REFERENCE_APPS[name].switches
