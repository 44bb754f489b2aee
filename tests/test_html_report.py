"""The HTML report, opened in a real browser as a person would: the scenarios and a failing rule
are on the page. Needs Node.js (the Allure CLI) and Debian's chromium, which .ci/run installs."""

import functools
import http.server
import os
import subprocess
import threading

import pytest
from run import ROOT, run_suite

from suite.browser import chromium_path, launch_chromium

ALLURE = ROOT / "node_modules" / ".bin" / "allure"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def rendered_report(tmp_path):
    if (not ALLURE.exists() or chromium_path() is None) and not os.environ.get("CI"):
        pytest.skip("needs `npm ci` (the Allure CLI) and Debian's chromium; CI installs both")
    reports = tmp_path / "reports"
    result = run_suite(f"--alluredir={reports / 'allure-results'}", f"--compliance={reports / 'compliance.json'}",
                       "--defect=code-reusable", "-q")
    assert result.returncode == 1, result.stdout + result.stderr
    # The project's own allurerc.mjs, run in a scratch copy of the project so its paths (and the
    # history it appends to) stay out of the real reports/.
    (tmp_path / "allurerc.mjs").write_text((ROOT / "allurerc.mjs").read_text())
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    subprocess.run([str(ALLURE), "generate", "reports/allure-results"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    assert (reports / "allure-report" / "index.html").exists()
    handler = functools.partial(_QuietHandler, directory=str(reports / "allure-report"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/index.html", tmp_path
    server.shutdown()


def test_report_shows_scenarios_and_the_failing_rule(rendered_report):
    from playwright.sync_api import sync_playwright
    url, tmp_path = rendered_report
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_text("CODE-01 An authorization code can be redeemed only once").first.wait_for(timeout=20000)
        page.screenshot(path=str(tmp_path / "report.png"))
        text = page.inner_text("body")
        browser.close()
    assert "Visma Connect conformance: sandbox (not conformant)" in text
    assert "Failed 1" in text.replace("\n", " ")
    for name in ("Service Integrations", "Interactive Integrations", "OpenID Connect Discovery"):
        assert name in text
    assert "CODE-02 A code redeemed with another redirect_uri is refused" in text
    assert (tmp_path / "report.png").stat().st_size > 10_000
