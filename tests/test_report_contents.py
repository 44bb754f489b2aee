"""What the reports say after a run with defects on, read as a person would read them: one cause
is one failure (the rest blocked by it), each failed test case quotes its rule with expected and
actual, parameters are readable, JUnit tells errors and blocked scenarios apart from failures,
and the terminal ends with the verdict."""

import json
import xml.etree.ElementTree as ET

import pytest
from faulty_servers import Fault, FaultyProxy
from run import SANDBOX_SECRETS, run_suite, write_sandbox_environment

from sandbox import SandboxServer, default_registry
from sandbox.defects import NEEDS_A_REDEEMED_CODE

# Rules whose scenarios redeem a PKCE code before their own check: a broken S256 hash blocks them,
# as it blocks every rule that needs a redeemed code
BLOCKED_BY_PKCE = set(NEEDS_A_REDEEMED_CODE)


@pytest.fixture(scope="module")
def broken_pkce_run(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    result = run_suite(
        f"--alluredir={reports / 'allure-results'}",
        f"--compliance={reports / 'compliance.json'}",
        f"--junitxml={reports / 'junit.xml'}",
        "--defect=pkce-s256-hex",
        "--defect=no-store-missing",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    return reports, json.loads((reports / "compliance.json").read_text()), result.stdout


def test_one_broken_pkce_hash_is_one_failure_and_the_rest_blocked_by_it(broken_pkce_run):
    _, record, _ = broken_pkce_run
    # APP-03's and APP-04's own check is the redemption of a PKCE code
    assert record["failed_rules"] == ["APP-03", "APP-04", "PKCE-01", "SVC-07"]
    assert set(record["blocked_rules"]) == BLOCKED_BY_PKCE
    rules = {r["rule_id"]: r for r in record["rules"]}
    # AUTH-12 needs APP-03 (a web app's PKCE redemption), which fails on its own check here
    assert {rules[r]["blocked_by"] for r in BLOCKED_BY_PKCE - {"AUTH-12"}} == {"PKCE-01"}
    assert rules["AUTH-12"]["blocked_by"] == "APP-03"
    assert rules["RT-02"]["blocked_by"] == "PKCE-01"  # through RT-01, which is itself blocked
    # a blocked rule's reason: its cause and the first line of the cause's failure at most, not its own account
    headline = rules["PKCE-01"]["scenarios"][0]["reason"].splitlines()[0][:40]
    assert rules["RT-02"]["scenarios"][0]["reason"].startswith("blocked by PKCE-01")
    assert headline in rules["RT-02"]["scenarios"][0]["reason"]
    assert record["verdict"] == "not conformant"


def test_compliance_md_and_the_terminal_open_and_end_on_the_verdict(broken_pkce_run):
    reports, _, stdout = broken_pkce_run
    markdown = (reports / "compliance.md").read_text().splitlines()
    assert markdown[0] == "# Verdict: NOT CONFORMANT"
    failures = [line for line in markdown[markdown.index("## What failed, worst first") :] if line.startswith("| [")]
    assert [line.split("]")[0].removeprefix("| [") for line in failures[:3]] == ["PKCE-01", "APP-04", "SVC-07"]
    lines = stdout.strip().splitlines()
    assert lines[-1] == "no earlier run of sandbox to compare with"  # what changed since the last run: last
    last = lines[-5:-1]
    assert last[0] == "VERDICT: NOT CONFORMANT"
    assert last[1] == "failed: PKCE-01 (blocker), APP-04 (critical), SVC-07 (critical), APP-03 (normal)"
    assert last[2].startswith("blocked by an earlier failure: CODE-01 (blocker), ID-01 (blocker)")
    assert "compliance.json" in last[3] and "suite.reports.verify" in last[3]
    # pytest's own summary counts a blocked scenario as blocked, not failed, and lists no FAILED line for it
    # (CODE-04 is among the skipped: its control code, a PKCE code too, is refused, so its refusal shows nothing;
    # the refusals whose control was refused, passed by pytest, are counted blocked too)
    assert "6 failed, 78 passed, 5 skipped, 42 blocked in " in stdout
    assert "FAILED features/test_features.py::test_code01" not in stdout and "test_code01" not in stdout
    # tracebacks on the terminal and in JUnit XML start at the step, not in pytest's fixture code
    assert "steps/token_endpoint.py:" in stdout and "site-packages" not in stdout
    assert "site-packages" not in (reports / "junit.xml").read_text()


def _results(reports):
    for path in (reports / "allure-results").glob("*-result.json"):
        yield json.loads(path.read_text())


def test_allure_results_quote_the_rule_and_say_expected_and_actual(broken_pkce_run):
    reports, _, _ = broken_pkce_run
    results = {r["name"]: r for r in _results(reports)}
    failed = results["SVC-07 Token responses are not cached"]
    assert failed["status"] == "failed"
    assert 'MUST include the HTTP "Cache-Control" response header field' in failed["description"]
    assert "rfc6749#section-5.1" in failed["description"]
    details = failed["statusDetails"]
    # the two values the check compared, side by side in Allure's "Show difference"
    assert details["expected"] == "Cache-Control: no-store" and details["actual"] == "no Cache-Control header"
    assert details["trace"].startswith("steps/"), details["trace"][:200]  # starts at the step
    # and so does each failed step's own trace (Python's format), in failed and blocked scenarios
    step_traces = [
        s["statusDetails"]["trace"]
        for r in results.values()
        for s in r.get("steps", [])
        if s.get("statusDetails", {}).get("trace")
    ]
    assert len(step_traces) > 10
    assert all(t.lstrip().startswith(('File "steps/', 'File "suite/')) for t in step_traces), step_traces[:3]
    blocked = results["RT-02 Refresh tokens rotate as the environment declares"]
    assert blocked["status"] == "skipped" and blocked["statusDetails"]["message"].startswith("Blocked by PKCE-01")
    assert {"name": "conformance_environment", "value": "sandbox-with-defects"} in failed["labels"]
    # Allure 3's history id is the test case and its parameters: the environment is one (hidden).
    assert {"name": "conformance_environment", "value": "sandbox-with-defects", "mode": "hidden"} in failed[
        "parameters"
    ]


def test_step_parameters_are_values_not_object_dumps(broken_pkce_run):
    reports, _, _ = broken_pkce_run
    text = "".join(json.dumps(r.get("steps", [])) + json.dumps(r.get("parameters", [])) for r in _results(reports))
    for dump in ("object at 0x", "PosixPath", "ScenarioState(", "Environment(name=", "/work/", "/home/"):
        assert dump not in text, dump
    results = {r["name"]: r for r in _results(reports)}
    first_step = results["PKCE-01 The spa app redeems its code with the right verifier"]["steps"][0]
    stories = {label["value"] for r in results.values() for label in r["labels"] if label["name"] == "story"}
    assert "PKCE-01 Each app redeems its code with the right verifier" in stories
    assert [story for story in stories if "<" in story] == []  # no raw outline placeholders in rule titles
    assert [
        p
        for p in results["PKCE-01 The spa app redeems its code with the right verifier"]["parameters"]
        if p.get("mode") != "hidden"
    ] == [{"name": "role", "value": "spa"}]
    assert first_step["parameters"] == [{"name": "role", "value": "spa"}]


def test_junit_reports_blocked_scenarios_as_skipped(broken_pkce_run):
    reports, _, _ = broken_pkce_run
    suite = ET.parse(reports / "junit.xml").getroot().find("testsuite")
    blocked = [
        c
        for c in suite.iter("testcase")
        if c.find("skipped") is not None and c.find("skipped").get("type") == "blocked"
    ]
    # 42: 33 that failed before their own check (5 of them warning-level: UINFO-07, CODE-07, UINFO-09, PKCE-09 x2), 9
    # refusals whose control (a PKCE redemption) was refused too
    assert len(blocked) == 42 and int(suite.get("failures")) == 6  # PKCE-01 x3, APP-03, APP-04, SVC-07
    # a failure's message is the check's sentence, not a traceback (that stays in the element's text)
    messages = [c.find("failure").get("message") for c in suite.iter("testcase") if c.find("failure") is not None]
    assert len(messages) == 6 and all(" is not kept: " in m and "Traceback" not in m for m in messages), messages
    assert all("\n" not in m and "steps/" not in m and "NonConformance" not in m for m in messages), messages
    assert any(m.startswith("SVC-07 is not kept: no Cache-Control header;") for m in messages), messages


def test_an_environment_problem_mid_run_is_a_junit_error(tmp_path):
    proxy = FaultyProxy([Fault("POST", r"/connect/token$", 503, times=99)])
    sandbox = SandboxServer(default_registry(), issuer=proxy.url).start()
    proxy.target = sandbox.url
    try:
        environment = write_sandbox_environment(
            tmp_path, proxy.url, "failing-gateway", "http:\n  retries: 1\n  backoff: 0.1"
        )
        result = run_suite(
            f"--env={environment}",
            "--rule=SVC-01",
            f"--junitxml={tmp_path / 'junit.xml'}",
            f"--compliance={tmp_path / 'c.json'}",
            environ=SANDBOX_SECRETS,
        )
    finally:
        proxy.close()
        sandbox.stop()
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert result.returncode == 3, result.stdout + result.stderr
    assert suite.get("errors") == "1" and suite.get("failures") == "0"
    assert suite.find("testcase/error").get("message").startswith("environment problem: HTTP 503")


def test_the_report_is_served_on_loopback_only(tmp_path):
    """`make serve-report`: the report's files on 127.0.0.1, nothing on the machine's other addresses,
    and nothing for a request whose Host header names another host."""
    import http.client
    import socket
    import threading
    import urllib.request

    from suite.reports.serve_report import make_server

    (tmp_path / "index.html").write_text("<html>report</html>")
    server = make_server(tmp_path)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as answer:
            assert answer.read() == b"<html>report</html>" and answer.headers["Cache-Control"] == "no-store"
        for host in (f"rebound.example:{port}", "127.0.0.1", f"127.0.0.1.nip.io:{port}", ""):  # DNS rebinding
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.putrequest("GET", "/index.html", skip_host=True)
            if host:
                connection.putheader("Host", host)
            connection.endheaders()
            answer = connection.getresponse()
            assert answer.status == 421 and b"report" not in answer.read(), host
            connection.close()
        with urllib.request.urlopen(f"http://localhost:{port}/index.html", timeout=5) as answer:
            assert answer.read() == b"<html>report</html>"
        address = _an_address_other_than_loopback()
        if address:
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
    finally:
        server.shutdown()
        server.server_close()


def _an_address_other_than_loopback() -> str | None:
    """This machine's address towards other networks (a UDP "connect" sends nothing)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.123", 9))  # TEST-NET-1: only the route is looked up
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address
