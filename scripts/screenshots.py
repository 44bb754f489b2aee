"""Pictures of what people see outside the report, taken in headless Chromium (Debian's, through
Playwright): python scripts/screenshots.py [--out DIR] (default docs/images)

- job-summary-after-a-regression.png: changes.md, the CI job's page, as GitHub renders a job
  summary, after two clean nightly runs and one with a PKCE regression (sandbox defect
  pkce-s256-hex);
- certificate-service-only.png: the certificate of a run whose environment has a service client
  only;
- report-opened-from-a-file-offline.png: the regression's HTML report opened as a file, every
  request that is not for a file refused (no server, no network);
- difference-view.png: a failed test case's "Show difference" (a state cut to 40 characters).

Each run is made with `python -m suite.run` against the embedded sandbox, in a scratch folder: the
user's reports/ is never touched. Takes about a minute and a half on 2 cores."""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from suite.wire.browser import launch_chromium  # noqa: E402 - after the project's folder is on the path

SUMMARY_STYLE = """
body { font: 14px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328; margin: 0;
       padding: 24px 32px; max-width: 1100px; }
h2 { font-size: 20px; border-bottom: 1px solid #d1d9e0; padding-bottom: 6px; }
h3 { font-size: 16px; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #d1d9e0; padding: 4px 10px; text-align: left; font-size: 13px; }
tr:nth-child(2n) td { background: #f6f8fa; }
.job { color: #59636e; font-size: 13px; margin-bottom: 12px; }
"""
RENDER_MARKDOWN = (
    "const md = require('markdown-it')({html: false});"
    "let t = ''; process.stdin.on('data', c => t += c).on('end', () => process.stdout.write(md.render(t)));"
)


def suite_run(reports: Path, *arguments: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "suite.run", f"--reports={reports}", "-q", *arguments],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=600,
    )
    if not (reports / "compliance.json").exists():
        raise SystemExit(f"no record in {reports}: python -m suite.run {' '.join(arguments)} failed")


def job_summary(reports: Path, scratch: Path) -> Path:
    """changes.md rendered as a CI job summary (markdown-it, which GitHub's renderer follows)."""
    markdown = (reports / "changes.md").read_text(encoding="utf-8")
    rendered = subprocess.run(
        ["node", "-e", RENDER_MARKDOWN], cwd=ROOT, input=markdown, capture_output=True, text=True, check=True
    ).stdout
    page = scratch / "job-summary.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{SUMMARY_STYLE}</style></head><body>"
        "<div class='job'>nightly / conformance (sandbox) &mdash; job summary</div>"
        f"{rendered}</body></html>",
        encoding="utf-8",
    )
    return page


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/screenshots.py", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"), help="where to save the pictures")
    out = Path(parser.parse_args(argv).out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshots-") as folder:
        scratch = Path(folder)
        nightly = scratch / "nightly"
        for defects in ((), (), ("--defect=pkce-s256-hex",)):
            suite_run(nightly, *defects)
        environment = yaml.safe_load((ROOT / "environments" / "sandbox.yaml").read_text())
        environment["name"], environment["clients"] = "service-only", {"service": environment["clients"]["service"]}
        service_file = scratch / "service-only.yaml"
        service_file.write_text(yaml.safe_dump(environment))
        service = scratch / "service-only"
        suite_run(service, f"--env={service_file}")
        subprocess.run(
            [sys.executable, "-m", "suite.reports.certificate", str(service / "compliance.json")],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=120,
        )
        state = scratch / "state"
        suite_run(state, "--rule=AUTH-02", "--defect=state-truncated")
        summary = job_summary(nightly, scratch)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                _shoot(browser, summary, out / "job-summary-after-a-regression.png")
                _shoot(browser, service / "certificate.html", out / "certificate-service-only.png", width=820)
                _report_offline(browser, nightly, out / "report-opened-from-a-file-offline.png")
                _difference(browser, state, out / "difference-view.png")
            finally:
                browser.close()
        verdict = json.loads((nightly / "compliance.json").read_text())["verdict"]
    print(f"pictures in {out} (the regression's verdict: {verdict})")
    return 0


def _shoot(browser, page_path: Path, picture: Path, width: int = 1200) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(page_path.as_uri())
    page.wait_for_timeout(300)
    page.screenshot(path=str(picture), full_page=True)
    page.close()


def _offline_page(browser):
    """A page that may load files only: every other request is refused and counted."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    refused: list[str] = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort()

    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else refuse(route))
    return page, refused


def _report_offline(browser, reports: Path, picture: Path) -> None:
    page, refused = _offline_page(browser)
    page.goto((reports / "allure-report" / "index.html").as_uri())
    page.locator("[data-testid='tree-leaf']").first.wait_for(timeout=30000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(picture))
    page.close()
    if refused:
        raise SystemExit(f"the report asked for {refused[0]} (and {len(refused) - 1} more) with no network")


def _difference(browser, reports: Path, picture: Path) -> None:
    page, _ = _offline_page(browser)
    page.goto((reports / "allure-report" / "index.html").as_uri())
    page.locator("[data-testid='tree-leaf']:has([data-testid='tree-leaf-status-failed'])").first.click(timeout=30000)
    page.locator("[data-testid='test-result-diff-button']").first.click(timeout=10000)
    page.wait_for_timeout(800)
    page.screenshot(path=str(picture))
    page.close()


if __name__ == "__main__":
    sys.exit(main())
