"""The features run unchanged against node's oidc-provider, a server nobody here wrote: the rules
that fail are exactly its documented differences from the Visma contract, no more, no fewer."""

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from run import ROOT

from suite.browser import chromium_path

KNOWN = yaml.safe_load((ROOT / "oidc_provider" / "known_differences.yaml").read_text())["differences"]


@pytest.mark.skipif((shutil.which("node") is None or chromium_path() is None) and not os.environ.get("CI"),
                    reason="needs Node.js and Debian's chromium; CI has both")
def test_failing_rules_are_exactly_the_documented_differences(tmp_path):
    result = subprocess.run([sys.executable, "scripts/oidc_provider.py", "-q", f"--compliance={tmp_path / 'c.json'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert f"{len(KNOWN)} rules differ from the Visma contract, {len(KNOWN)} documented" in output
    assert " skipped" in output  # the tenant rules, by the environment's declared capabilities


def test_readme_lists_every_documented_difference():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Against node's oidc-provider")[1].split("\n## ")[0]
    listed = set(re.findall(r"^\| ([A-Z]+-\d+) \|", section, flags=re.M))
    assert listed == set(KNOWN)
