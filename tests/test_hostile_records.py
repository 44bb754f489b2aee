"""Records, certificates and history as hostile input: every field is escaped where it is shown,
the PDF is printed with scripts off, a malformed record gets one line and a documented exit code
(no traceback) from verify, the certificate, the banner and the merge, a resealed record whose
verdict does not follow from its rules fails verification, and the run history is read bounded."""

import json
import os
import re
import subprocess
import sys
import tracemalloc

import pytest
from faulty_servers import Answer, HostileServer
from run import ROOT, run_suite

from suite.reports.comparison import compare_with_previous
from suite.reports.record_seal import seal
from suite.wire.browser import chromium_path

INJECTED = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


def _consistent_record(**changes) -> dict:
    rules = [
        {"rule_id": "SVC-01", "status": "passed", "severity": "blocker", "scenarios": []},
        {"rule_id": "AUTH-01", "status": "passed", "severity": "blocker", "scenarios": []},
    ]
    statuses = ("passed", "failed", "blocked", "waived", "warned", "error", "skipped")
    record = {
        "environment": "hostile",
        "issuer": "http://127.0.0.1:9",
        "finished": "2026-01-01T00:00:00Z",
        "verdict": "conformant",
        "failed_rules": [],
        "error_rules": [],
        "blocked_rules": [],
        "waived_rules": [],
        "warned_rules": [],
        "not_run_rules": [],
        "waivers": [],
        "waiver_problems": [],
        "counts": {s: sum(r["status"] == s for r in rules) for s in statuses},
        "rules": rules,
    }
    record.update(changes)
    return record


def _command(module, *args):
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_a_resealed_record_whose_verdict_does_not_follow_from_its_rules_fails_verification(tmp_path):
    record = _consistent_record()
    path = tmp_path / "compliance.json"
    path.write_text(json.dumps(seal(dict(record))))
    assert _command("suite.reports.verify", path).returncode == 0
    record["rules"][1]["status"] = "failed"  # edited, then sealed again: the digest holds
    record["failed_rules"], record["counts"]["passed"], record["counts"]["failed"] = ["AUTH-01"], 1, 1
    path.write_text(json.dumps(seal(dict(record))))
    checked = _command("suite.reports.verify", path)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "the verdict says 'conformant' but its rules make it 'not conformant' (AUTH-01)" in checked.stdout
    refused = _command("suite.reports.certificate", path, "--out", tmp_path / "out")
    assert refused.returncode == 4 and "not conformant" in refused.stderr, refused.stderr
    assert not (tmp_path / "out" / "certificate.html").exists()


MALFORMED = {
    "list": "[]",
    "string": '"compliance"',
    "seal-a-string": '{"seal": "x", "verdict": "conformant"}',
    "digest-a-number": '{"seal": {"digest": 5}, "verdict": "conformant"}',
    "signature-a-string": '{"seal": {"digest": "ab", "signature": "x"}, "verdict": "conformant"}',
    "verdict-a-number": '{"seal": {"digest": "ab"}, "verdict": 7, "rules": [1]}',
    "rules-not-dicts": '{"verdict": "conformant", "rules": ["SVC-01"], "counts": [], "environment": "x"}',
    "deeply-nested": "[" * 100000 + "]" * 100000,
    "not-json": "{",
}


@pytest.mark.parametrize("content", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_record_gets_one_line_and_a_documented_code_everywhere(tmp_path, content):
    path = tmp_path / "compliance.json"
    path.write_text(content)
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "index.html").write_text("<html><body></body></html>")
    for module, args, codes in (
        ("suite.reports.verify", (path,), (1, 4)),
        ("suite.reports.certificate", (path, "--out", tmp_path / "out"), (1, 4)),
        ("suite.reports.report_page", (tmp_path / "report", path), (0, 4)),
        ("suite.reports.merge_records", (path,), (0, 2)),  # a table row either way; 2 for what is no record
    ):
        completed = _command(module, *args)
        assert completed.returncode in codes, (module, completed.returncode, completed.stderr[-2000:])
        assert "Traceback" not in completed.stderr, (module, completed.stderr[-2000:])
        assert len(completed.stderr.strip().splitlines()) <= 1, (module, completed.stderr[-2000:])


def test_every_field_is_escaped_in_the_certificate_and_the_banner():
    from suite.reports.certificate import render_html
    from suite.reports.report_page import banner

    record = _consistent_record(
        counts={"passed": INJECTED, INJECTED: 1},
        sandbox_defects=[INJECTED],
        seal={"digest": INJECTED},
        verdict="not conformant" + INJECTED,
    )
    record["rules"].append({"rule_id": INJECTED, "status": "failed", "severity": INJECTED, "scenarios": []})
    for page in (render_html(record), banner(record)):
        assert "<script>" not in page and "<img" not in page, page


@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium")
def test_the_certificate_is_printed_with_scripts_off(tmp_path):
    from suite.reports.certificate import write_pdf

    witness = HostileServer({"/ran": Answer(200, body=b"")})
    page = tmp_path / "certificate.html"
    page.write_text(f'<!doctype html><p>certificate</p><script>fetch("{witness.url}/ran")</script>')
    try:
        write_pdf(page, tmp_path / "certificate.pdf")
    finally:
        witness.close()
    assert (tmp_path / "certificate.pdf").read_bytes().startswith(b"%PDF")
    assert witness.requests == [], "a script in the certificate ran while it was printed"


def test_a_history_line_without_finished_or_malformed_is_passed_over(tmp_path):
    history = tmp_path / "run-history.jsonl"
    good = {
        "environment": "hostile",
        "finished": "2026-01-01T00:00:00Z",
        "verdict": "not conformant",
        "sandbox_defects": [],
        "rules": {"SVC-01": "failed"},
    }
    lines = [
        json.dumps(good),
        json.dumps({"environment": "hostile", "verdict": "conformant", "rules": {}}),
        json.dumps({"environment": "hostile", "finished": 5, "verdict": [], "rules": {}}),
        "[" * 50000,
        "{",
    ]
    history.write_text("\n".join(lines) + "\n")
    record = _consistent_record(sandbox_defects=[])
    changes = compare_with_previous(record, tmp_path)
    assert changes["compared_with"] == {"finished": good["finished"], "verdict": good["verdict"]}
    assert changes["fixed"] == ["SVC-01"]


def test_reading_a_huge_history_is_bounded_in_memory(tmp_path):
    history = tmp_path / "run-history.jsonl"
    with history.open("w") as file:
        file.write('{"environment": "hostile", "rules": {"' + "x" * (64 << 20) + '": "passed"}}\n')
        for n in range(20000):
            file.write(
                json.dumps(
                    {
                        "environment": "hostile",
                        "finished": str(n),
                        "verdict": "conformant",
                        "sandbox_defects": [],
                        "rules": {"SVC-01": "passed"},
                    }
                )
                + "\n"
            )
    tracemalloc.start()
    changes = compare_with_previous(_consistent_record(sandbox_defects=[]), tmp_path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert changes["compared_with"]["finished"] == "19999"
    assert peak < 8 << 20, f"{peak >> 20} MiB to read a {history.stat().st_size >> 20} MiB history"


def test_a_history_line_without_finished_does_not_stop_the_next_run(tmp_path):
    record = tmp_path / "reports" / "compliance.json"
    record.parent.mkdir()
    (record.parent / "run-history.jsonl").write_text(
        '{"environment": "sandbox", "verdict": "conformant", "rules": {}}\n'
    )
    result = run_suite("--rule=DISC-01", f"--compliance={record}")
    assert "INTERNALERROR" not in result.stdout + result.stderr, result.stdout[-3000:]
    assert json.loads(record.read_text())["verdict"].startswith("incomplete")


def test_a_plain_http_issuer_on_this_machine_is_recorded_without_tls_verification(tmp_path):
    record = tmp_path / "compliance.json"
    run_suite("--rule=DISC-01", f"--compliance={record}")
    written = json.loads(record.read_text())
    assert written["issuer"].startswith("http://127.0.0.1")
    assert written["tls_verification"].startswith("not applicable: the issuer is plain HTTP"), written


# What a hostile server puts in its error, error_description, claims, headers and page titles: HTML that
# runs when the record is rendered, a javascript: link and image, a code span, a table cell and a line
# of its own, a terminal's escapes and bidirectional marks (the security tester's)
MARKDOWN_INJECTED = (
    "<img src=x onerror=fetch('/xss-img')><svg/onload=fetch('/xss-svg')><script>fetch('/x')</script>"
    "[link](javascript:alert(1)) ![i](javascript:alert(2)) <javascript:alert(3)> &lt;b&gt; `code` | cell |"
    "\n# heading\n1. item\n- item\n```\n\x1b]8;;http://127.0.0.1:9/ansi\x07CLICKME\x1b[2J\u202eevil\u202c <!--"
)


def _markdown_record(**changes) -> dict:
    record = _consistent_record(
        issuer="http://127.0.0.1:9/" + MARKDOWN_INJECTED,
        environment=MARKDOWN_INJECTED,
        client_ids={"web": MARKDOWN_INJECTED},
        suite_version="1",
        started=MARKDOWN_INJECTED,
        sandbox_defects=[MARKDOWN_INJECTED],
        tls_verification=MARKDOWN_INJECTED,
        waiver_problems=[MARKDOWN_INJECTED],
        not_run_rules=[MARKDOWN_INJECTED],
        reason=MARKDOWN_INJECTED,
        **changes,
    )
    scenario = {"status": "failed", "reason": "error_description: " + MARKDOWN_INJECTED}
    record["rules"] = []
    for status in ("failed", "warned", "passed"):
        record["rules"].append(
            {
                "rule_id": "SVC-05",
                "title": "Each <role> gets a token " + MARKDOWN_INJECTED,
                "documentation": "https://example.test/docs#svc-05",
                "severity": "blocker",
                "status": status,
                "scenarios": [{**scenario, "status": status}],
            }
        )
    record["rules"].append({**record["rules"][-1], "documentation": "javascript:alert(4)"})
    record["waivers"] = [
        {k: MARKDOWN_INJECTED for k in ("rule", "scenario", "reason", "reference", "accepted_by", "expires")}
    ]
    return record


def _active_markdown(markdown: str) -> list[str]:
    """What in a Markdown text a renderer (CommonMark, GitHub's, Python-Markdown) would make more than
    text: raw HTML or an autolink (a < outside code), a link or image not the suite's own rule links
    (an unescaped [), a code block or span the text did not open, a table row with other cells than its
    header."""
    problems, fence, columns = [], "", 0
    for line in markdown.splitlines():
        if fence:
            fence = "" if line == fence else fence
            continue
        if line.startswith("```"):
            fence = line
            continue
        if re.match(r"(# Verdict: |## (What failed|Warnings|Waived|The run|Every rule))", line):  # the suite's own
            line = line.lstrip("#")
        text = re.sub(r"(?<!\\)(`+)(?!`).+?(?<!`)\1(?!`)", "code", line)  # code spans show as they are
        text = re.sub(r"\[[A-Z]+-\d+\]\(https://example\.test/docs#[a-z0-9-]+\)", "link", text)  # the suite's own
        for pattern, what in (
            ("<", "HTML"),
            (r"(?<!\\)\[", "link"),
            (r"(?<!\\)`", "code"),
            ("^ {0,3}(#|[-+*] |\\d+[.)])", "block"),
        ):
            if re.search(pattern, text):
                problems.append(f"{what}: {line}")
        cells = len(re.findall(r"(?<!\\)\|", text))
        if line.startswith("|---"):
            columns = cells
        elif line.startswith("|") and columns and cells != columns:
            problems.append(f"cells: {line}")
        elif not line.startswith("|"):
            columns = 0
    return problems


@pytest.mark.parametrize("side", ["server", "application"])
def test_server_controlled_values_are_text_in_the_markdown_record(side):
    """compliance.md holds the other side's words; rendered as Markdown, they are text: no HTML, no
    javascript: link or image, no code block or span, heading, list or table cell of theirs. The
    application side writes its record through the same code (appside/record.py)."""
    from suite.reports.record_markdown import render_markdown, render_no_verdict

    record = _markdown_record(**({"application": {"name": MARKDOWN_INJECTED}} if side == "application" else {}))
    markdown = render_markdown(record)
    assert not _active_markdown(markdown), "\n".join(_active_markdown(markdown))
    assert "javascript:alert(4)" not in markdown, "a rule's documentation that is no web page is not linked"
    assert not re.search(r"(?<!\\)\]\(javascript", markdown)
    assert "`<role>`" in markdown, "an outline placeholder shows as code"
    assert not _active_markdown(render_no_verdict(record)), render_no_verdict(record)
    assert "\x1b" not in markdown and "\u202e" not in markdown


def test_the_markdown_checker_finds_what_a_renderer_would_run():
    """Control: the same values written as they were (before the record escaped them) are found."""
    for line in MARKDOWN_INJECTED.splitlines()[:2]:
        assert _active_markdown(line)
    assert _active_markdown("| a | b |\n|---|---|\n| x | y | z |")
