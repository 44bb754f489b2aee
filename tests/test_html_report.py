"""The HTML report, opened in a real browser as a person would: the scenarios and a failing rule
are on the page. Needs Node.js (the Allure CLI) and Debian's chromium, which .ci/run installs."""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from once_per_run import once_per_run
from run import ROOT, run_suite

from suite.reports.html_report import embedded_files
from suite.wire.browser import chromium_path, launch_chromium

ALLURE = ROOT / "node_modules" / ".bin" / "allure"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with reports/: the record, the Allure results and report of a suite run with a defect."""
    tmp_path = tmp_path_factory.mktemp("rendered-report")
    reports = tmp_path / "reports"
    result = run_suite(
        f"--alluredir={reports / 'allure-results'}",
        f"--compliance={reports / 'compliance.json'}",
        "--defect=code-reusable",
        "-q",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    # The project's own allurerc.mjs, run in a scratch copy of the project so its paths (and the
    # history it appends to) stay out of the real reports/.
    (tmp_path / "allurerc.mjs").write_text((ROOT / "allurerc.mjs").read_text())
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    subprocess.run(
        [str(ALLURE), "generate", "reports/allure-results"], cwd=tmp_path, check=True, capture_output=True, timeout=120
    )
    assert (reports / "allure-report" / "index.html").exists()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "suite.reports.report_page",
            str(reports / "allure-report"),
            str(reports / "compliance.json"),
        ],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    return tmp_path


@pytest.fixture(scope="module")
def rendered_report(tmp_path_factory):
    """One report the tests below read (none changes it): a suite run with a defect, the Allure CLI's
    report of it and the suite's page (made once for the whole test run, whichever workers the tests go
    to), served on loopback. Each test made its own: a whole suite run and a report, three times."""
    if (not ALLURE.exists() or chromium_path() is None) and not os.environ.get("CI"):
        pytest.skip("needs `npm ci` (the Allure CLI) and Debian's chromium; CI installs both")
    tmp_path = Path(once_per_run(tmp_path_factory, "rendered-report", lambda: str(_render(tmp_path_factory))))
    reports = tmp_path / "reports"
    handler = functools.partial(_QuietHandler, directory=str(reports / "allure-report"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/index.html", tmp_path
    server.shutdown()


@pytest.mark.xdist_group("rendered-report")  # with the report they share, made once (once_per_run)
def test_report_shows_scenarios_and_the_failing_rule(rendered_report):
    from playwright.sync_api import sync_playwright

    url, tmp_path = rendered_report
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_text("CODE-01 An authorization code can be redeemed only once").first.wait_for(timeout=20000)
        page.wait_for_timeout(1000)  # Allure scrolls to the first failure once the tree is drawn
        page.screenshot(path=str(tmp_path / "report.png"))
        text = page.inner_text("body")
        banner = page.locator("#conformance-verdict").bounding_box()
        scrolled = page.evaluate("window.scrollY")
        rings = page.evaluate("""[...document.querySelectorAll('article')].filter(
            a => /^\\s*\\d+(\\.\\d+)?%\\s*$/.test(a.textContent) && a.offsetParent !== null).length""")
        browser.close()
    # The verdict opens the page: the first words, at the top, with the rule that failed.
    assert text.lstrip().startswith("NOT CONFORMANT\n"), text[:200]
    assert banner["y"] == 0 and scrolled == 0 and rings == 0
    assert "Failed: CODE-01 (blocker)" in text
    assert "NOT CONFORMANT: Visma Connect conformance of sandbox" in text
    assert "Rules: 86 passed, 1 failed, 1 warned." in text  # 88 rules
    # Allure's own count: CODE-01's scenario and CODE-07's (warning-level, its category says Warning)
    assert "Failed 2" in text.replace("\n", " ")
    for name in ("Service Integrations", "Interactive Integrations", "OpenID Connect Discovery"):
        assert name in text
    assert "CODE-02 A code redeemed with another redirect_uri is refused" in text
    assert (tmp_path / "report.png").stat().st_size > 10_000


@pytest.mark.xdist_group("rendered-report")  # with the report they share, made once (once_per_run)
def test_the_report_opens_from_a_file_and_loads_nothing_from_outside(rendered_report):
    """A downloaded CI artifact is opened as a file, with no server and maybe no network: the report
    is one index.html that shows the verdict and the rules so, and asks nothing of any other host
    (Allure 3's Google Tag Manager taken out; it would send the title, verdict and environment)."""
    from playwright.sync_api import sync_playwright

    _, tmp_path = rendered_report
    report = tmp_path / "reports" / "allure-report"
    assert [p.name for p in report.iterdir() if p.is_dir()] == []  # one file, nothing beside it to fetch
    requested = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        def outside(route):
            requested.append(route.request.url)
            route.abort()

        page.route(re.compile(r"^(?!file:|data:|blob:|about:)"), outside)
        page.goto((report / "index.html").as_uri())
        page.get_by_text("CODE-01 An authorization code can be redeemed only once").first.wait_for(timeout=20000)
        text = page.inner_text("body")
        browser.close()
    assert text.lstrip().startswith("NOT CONFORMANT\n") and "Failed: CODE-01 (blocker)" in text
    assert requested == []
    for path in report.rglob("*"):
        assert "googletagmanager" not in path.read_text(errors="replace"), path
    carried = b"".join(embedded_files(report).values()).decode(errors="replace")
    page_html = (report / "index.html").read_text()
    loads = re.findall(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=[\"']?(https?:)?//", page_html + carried)
    assert loads == [], "the report loads something from another host"


@pytest.mark.xdist_group("rendered-report")  # with the report they share, made once (once_per_run)
def test_categories_tell_what_does_not_apply_from_what_failed(rendered_report):
    """A scenario the environment declares does not apply is not a configuration problem."""
    _, tmp_path = rendered_report
    widget = json.loads(embedded_files(tmp_path / "reports" / "allure-report")["widgets/categories.json"])
    totals = {
        widget["nodes"][root]["name"].split(":")[0]: widget["nodes"][root]["statistic"] for root in widget["roots"]
    }
    skipped = [
        r
        for r in map(
            json.loads, map(lambda p: p.read_text(), (tmp_path / "reports" / "allure-results").glob("*-result.json"))
        )
        if r["status"] == "skipped"
    ]
    assert skipped and totals["Does not apply"] == {"total": len(skipped), "skipped": len(skipped)}
    assert totals["Non-conformance"] == {"total": 1, "failed": 1}
    # the defect also breaks CODE-07, warning-level (RFC 6749 section 4.1.2's SHOULD): a warning, apart
    assert totals["Warning"]["total"] == 1
    assert set(totals) == {"Does not apply", "Non-conformance", "Warning"}


def test_history_is_kept_per_environment(tmp_path):
    """A failure with sandbox defects on never enters the clean sandbox's history: Allure 3 keys
    history by test case and parameters, and the environment is one of them (hidden)."""
    if not ALLURE.exists() and not os.environ.get("CI"):
        pytest.skip("needs `npm ci` (the Allure CLI); CI installs it")
    (tmp_path / "allurerc.mjs").write_text((ROOT / "allurerc.mjs").read_text())
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules")
    reports = tmp_path / "reports"
    for defects in ((), ("--defect=code-reusable",), ()):
        result = run_suite(
            "--rule=CODE-01",
            f"--alluredir={reports / 'allure-results'}",
            "--clean-alluredir",
            f"--compliance={reports / 'compliance.json'}",
            *defects,
        )
        assert result.returncode == (1 if defects else 0), result.stdout + result.stderr
        shutil.rmtree(reports / "allure-report", ignore_errors=True)  # as `make report` does
        subprocess.run(
            [str(ALLURE), "generate", "reports/allure-results"],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=120,
        )
    points = [json.loads(line)["testResults"] for line in (reports / "history.jsonl").read_text().splitlines()]
    ids = [{history_id: result["status"] for history_id, result in point.items()} for point in points]
    assert len(ids) == 3 and ids[0] == ids[2] and not set(ids[1]) & set(ids[0])  # two histories
    # The last report's CODE-01 sees the first clean run only, not the failure with defects on.
    files = embedded_files(reports / "allure-report")
    results = [json.loads(data) for name, data in files.items() if name.startswith("data/test-results/")]
    code01 = [r for r in results if r.get("name", "").startswith("CODE-01") and "history" in r]
    assert code01 and all(r["status"] == "passed" and not r.get("flaky") for r in code01)
    assert all([h["status"] for h in r["history"]] == ["passed"] for r in code01)


def test_the_suites_report_is_allure_generates_report(tmp_path):
    """suite/reports/allure_report.mjs reads and writes faster than `allure generate` and writes the same
    report: the same files, the same content (but for what differs between any two reports: their
    id, time and the chart ids), the same history. It reads the results in name order, as
    `allure generate` does with ALLURE_READ_CONCURRENCY=1, so that the order of keys is the same too."""
    if not ALLURE.exists() and not os.environ.get("CI"):
        pytest.skip("needs `npm ci` (the Allure CLI); CI installs it")
    results = tmp_path / "allure-results"
    ran = run_suite("--rule=CODE-01", "--rule=DISC", f"--alluredir={results}", "--defect=code-reusable")
    assert ran.returncode == 1, ran.stdout[-3000:] + ran.stderr
    made = {}
    for name, command in (
        ("cli", [str(ALLURE), "generate"]),
        ("suite", ["node", str(ROOT / "suite" / "reports" / "allure_report.mjs")]),
    ):
        project = tmp_path / name  # a scratch copy of the project: allurerc.mjs's paths are relative
        shutil.copytree(results, project / "reports" / "allure-results")
        (project / "allurerc.mjs").write_text((ROOT / "allurerc.mjs").read_text())
        (project / "node_modules").symlink_to(ROOT / "node_modules")
        subprocess.run(
            [*command, "reports/allure-results"],
            cwd=project,
            check=True,
            capture_output=True,
            timeout=120,
            env={**os.environ, "ALLURE_READ_CONCURRENCY": "1"},
        )
        report = project / "reports" / "allure-report"
        made[name] = {str(p.relative_to(report)): _comparable(p) for p in sorted(report.rglob("*")) if p.is_file()}
        made[name]["history.jsonl"] = _comparable(project / "reports" / "history.jsonl")
    assert made["suite"].keys() == made["cli"].keys()
    assert [name for name in made["cli"] if json.dumps(made["suite"][name]) != json.dumps(made["cli"][name])] == []


def _comparable(path):
    """A report file without what differs between any two reports: ids made at random, times. The
    single-file report's page is compared file by file of what it carries, and by the page around."""
    if path.name == "index.html":
        carried = {
            name: _without_random_parts(_parsed(data.decode())) for name, data in embedded_files(path.parent).items()
        }
        page = re.sub(r'\bd\("[^"]*","[A-Za-z0-9+/=]*"\)', "d()", path.read_text())
        return {"carried": carried, "page": _without_random_parts(page)}
    if path.suffix == ".json":
        return _without_random_parts(json.loads(path.read_text()))
    return _without_random_parts(path.read_text())


def _parsed(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _without_random_parts(value):
    import re

    if isinstance(value, str):
        value = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", value)
        value = re.sub(r"^[A-Za-z0-9_-]{21}$", "<nanoid>", value)  # the charts' series keys
        return re.sub(r"\b1[0-9]{12}\b", "<time>", value)
    if isinstance(value, int) and 10**12 <= value < 2 * 10**12:
        return "<time>"
    if isinstance(value, list):
        return [_without_random_parts(item) for item in value]
    if not isinstance(value, dict):
        return value
    items = {_without_random_parts(key): _without_random_parts(item) for key, item in value.items()}
    if value and set(items) == {"<uuid>"}:  # keyed by ids made at random (the charts): their values, sorted
        return sorted(json.dumps(_without_random_parts(item), sort_keys=True) for item in value.values())
    return items


def test_show_difference_sets_the_value_expected_against_the_value_received(tmp_path):
    """A state cut to 40 characters: the report's difference is the state sent against the one
    returned, not the RFC sentence against the whole message."""
    reports = tmp_path / "reports"
    result = run_suite(
        "--rule=AUTH-02",
        "--defect=state-truncated",
        f"--alluredir={reports / 'allure-results'}",
        f"--compliance={reports / 'compliance.json'}",
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    failed = [
        r
        for r in map(json.loads, map(lambda p: p.read_text(), (reports / "allure-results").glob("*-result.json")))
        if r["name"].startswith("AUTH-02") and r["status"] == "failed"
    ]
    assert failed
    for test in failed:
        details = test["statusDetails"]
        assert len(details["actual"]) == 40 and len(details["expected"]) > 40, details
        assert details["expected"].startswith(details["actual"]) and "RFC" not in details["expected"]
    record = json.loads((reports / "compliance.json").read_text())
    scenarios = [
        s for r in record["rules"] if r["rule_id"] == "AUTH-02" for s in r["scenarios"] if s["status"] == "failed"
    ]
    assert all(len(s["difference"]["received"]) == 40 for s in scenarios)


def test_make_serve_report_serves_the_folder_that_was_written():
    """A run written with --reports DIR (or REPORTS=DIR) is served from DIR, not from reports/."""
    shown = subprocess.run(
        ["make", "-n", "serve-report", "REPORTS=/tmp/nightly-run"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "-m suite.reports.serve_report /tmp/nightly-run/allure-report" in shown.stdout, shown.stdout + shown.stderr
