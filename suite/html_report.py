"""The HTML report of one run: python -m suite.html_report [REPORTS_DIR] (default reports)

The Allure 3 command line (npm package `allure`, pinned in package.json) turns
REPORTS_DIR/allure-results into REPORTS_DIR/allure-report with the project's allurerc.mjs, which
reads the folder from CONFORMANCE_REPORTS; then the verdict banner goes on top. Allure appends
the run to REPORTS_DIR/history.jsonl (the trend across runs): results already in the history are
never appended twice, however often the report is generated again."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .report_page import main as add_banner

ROOT = Path(__file__).resolve().parent.parent
ALLURE = ROOT / "node_modules" / ".bin" / "allure"
IN_HISTORY = ".in-history"  # marks results whose run history.jsonl already holds


def generate(reports: Path) -> bool:
    """Build the HTML report of the results in `reports`; False (and why, on stderr) when it cannot."""
    results, history = reports / "allure-results", reports / "history.jsonl"
    if not ALLURE.exists():
        reason = ("Node.js (with npm) is not installed. Install Node.js 20 or newer, then run: make report"
                  if shutil.which("npm") is None else "the Allure command line is not installed: run npm ci")
        print(f"HTML report skipped: {reason}. The results are in {results}, the certification record in "
              f"{reports / 'compliance.json'} and .md.", file=sys.stderr)
        return False
    if not results.is_dir():
        print(f"HTML report skipped: no results in {results} (the run stopped before any scenario)", file=sys.stderr)
        return False
    kept = history.read_bytes() if (results / IN_HISTORY).exists() and history.exists() else None
    shutil.rmtree(reports / "allure-report", ignore_errors=True)
    generated = subprocess.run([str(ALLURE), "generate", str(results)], cwd=ROOT, stdout=subprocess.DEVNULL,
                               env={**os.environ, "CONFORMANCE_REPORTS": str(reports.resolve())})
    if kept is not None:
        history.write_bytes(kept)
    if generated.returncode != 0:
        print(f"HTML report failed: allure generate exited {generated.returncode}", file=sys.stderr)
        return False
    (results / IN_HISTORY).touch()
    add_banner([str(reports / "allure-report"), str(reports / "compliance.json")])
    print(f"HTML report: {reports / 'allure-report' / 'index.html'} "
          "(serve it on this machine only: make serve-report)")
    return True


if __name__ == "__main__":
    sys.exit(0 if generate(Path(sys.argv[1] if len(sys.argv) > 1 else "reports")) else 1)
