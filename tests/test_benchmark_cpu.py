"""scripts/benchmark.py's app part counts a certification's CPU over its whole process tree: Chromium's
processes are a run's grandchildren and beyond, and one whose parent ended first would be init's, not counted."""

import subprocess
import sys
import textwrap

from run import ROOT

# in a process of its own: a subreaper stays one for the rest of its life
ORPHAN_COUNTED = textwrap.dedent(
    """
    import subprocess, sys
    sys.path.insert(0, "scripts")
    import benchmark

    benchmark.adopt_orphans()
    before = benchmark.children_cpu()
    # the shell ends at once; the busy process it left behind (0.2 s of CPU) outlives it
    busy = "import time\\nend = time.process_time() + 0.2\\nwhile time.process_time() < end: pass"
    subprocess.run(["sh", "-c", f"{sys.executable} -c '{busy}' & exit 0"], check=True)
    benchmark.reap_orphans(bound=120)  # 0.2 s of CPU may take many seconds on a loaded machine
    print(benchmark.children_cpu() - before)
    """
)


def test_the_cpu_of_a_process_left_behind_by_its_parent_is_counted():
    done = subprocess.run(
        [sys.executable, "-c", ORPHAN_COUNTED], cwd=ROOT, capture_output=True, text=True, timeout=240, check=True
    )
    assert float(done.stdout) >= 0.15, done.stdout + done.stderr
