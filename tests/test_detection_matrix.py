"""The suite catches every defect switch: the broken rules fail, all other rules still pass,
and the clean sandbox passes everything. Runs in parallel with pytest-xdist (`make test`)."""

import pytest

from sandbox.defects import DEFECTS
from suite.detection import run_suite


def test_clean_sandbox_passes_every_rule(tmp_path):
    row = run_suite(None, tmp_path)
    assert row.exit_code == 0 and not row.failed, row


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defect_is_caught_by_exactly_its_rules(defect, tmp_path):
    row = run_suite(defect, tmp_path)
    assert row.exit_code == 1, f"the suite did not fail with {defect} on: {row}"
    assert not row.missed, f"{defect} breaks {row.missed}, but those rules still passed"
    assert not row.unexpected, f"{defect} should break only {row.expected}, yet {row.unexpected} failed too"
