"""The certificate of a conformant run: python -m suite.reports.certificate [RECORD] [--out DIR]

One page, HTML and PDF (printed by the Debian Chromium the suite already uses), from a sealed
certification record whose verdict is conformant (waived failures and warnings included):
environment, issuer, client ids, suite version, time, who ran it and from which CI job, every rule
and its status, the warnings (warning-level rules that failed, with why), the waivers, and the
record's digest (and signature key). The record's seal is checked
first: a certificate is never issued for an edited record.

Exit status: 0 issued; 1 the record is not conformant (no certificate); 4 the record cannot be
read, its seal does not hold, or Chromium is missing (the HTML is still written)."""

import argparse
import html
import json
import sys
from pathlib import Path

from suite.reports.record_markdown import reason_of
from suite.reports.record_seal import verify

EXIT_ISSUED, EXIT_NOT_CONFORMANT, EXIT_CANNOT = 0, 1, 4
MARKS = {"passed": "✔", "waived": "W", "warned": "⚠", "skipped": "\u2013", "blocked": "✖", "failed": "✖", "error": "!"}

STYLE = """
@page { size: A4; margin: 12mm; }
body { font: 9.5pt/1.35 "DejaVu Sans", system-ui, sans-serif; color: #1b1b1b; margin: 0; }
h1 { font-size: 20pt; margin: 0; letter-spacing: .02em; }
.verdict { font-size: 15pt; font-weight: bold; color: #0b6b2f; border: 2px solid #0b6b2f; display: inline-block;
           padding: 2px 10px; margin: 6px 0; }
table.facts { border-collapse: collapse; margin: 4px 0 8px; }
table.facts th { text-align: left; padding: 1px 12px 1px 0; font-weight: 600; vertical-align: top;
                 white-space: nowrap; }
table.facts td { padding: 1px 0; }
.rules { columns: 5; column-gap: 10px; font-size: 7.6pt; line-height: 1.3; margin: 4px 0 8px; }
.rules div { break-inside: avoid; white-space: nowrap; }
.rules .skipped { color: #777; }
.rules .waived, .rules .warned { color: #7a4a00; font-weight: bold; }
h2 { font-size: 11pt; margin: 8px 0 2px; border-bottom: 1px solid #ccc; }
code { font-size: 8pt; word-break: break-all; }
.small { font-size: 8pt; color: #444; }
"""


class CertificateRefused(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def certifiable(record: dict) -> None:
    """Raise CertificateRefused unless the record is intact and conformant."""
    problems = verify(record)
    if problems:
        raise CertificateRefused(
            "the record's seal does not hold, so no certificate: " + "; ".join(problems), EXIT_CANNOT
        )
    verdict = str(record.get("verdict", ""))
    if not verdict.startswith("conformant"):
        failed = ", ".join(record.get("failed_rules") or record.get("error_rules") or []) or "see the record"
        raise CertificateRefused(
            f"the run is {verdict or 'without a verdict'} ({failed}): a certificate is "
            "issued for a conformant run only",
            EXIT_NOT_CONFORMANT,
        )


def render_html(record: dict) -> str:
    e = lambda value: html.escape(str(value if value is not None else ""))  # noqa: E731 - local shorthand
    run_by = record.get("run_by") or {}
    ci = ", ".join(filter(None, (run_by.get("ci"), run_by.get("job"), run_by.get("job_url"))))
    clients = ", ".join(
        f"{e(role)}: <code>{e(client_id)}</code>" for role, client_id in (record.get("client_ids") or {}).items()
    )
    seal = record.get("seal") or {}
    signature = seal.get("signature")
    facts = [
        ("Environment", e(record.get("environment"))),
        ("Issuer", f"<code>{e(record.get('issuer'))}</code>"),
        ("Client ids", clients or "none"),
        ("Suite version", e(record.get("suite_version"))),
        ("Run", f"{e(record.get('started'))} to {e(record.get('finished'))} (UTC)"),
        ("Run by", e(run_by.get("user") or "unknown") + (f"; CI: {e(ci)}" if ci else "; not in CI")),
        ("TLS verification", e(record.get("tls_verification"))),
    ]
    if record.get("sandbox_defects"):
        facts.append(("Sandbox defects on", e(", ".join(record["sandbox_defects"]))))
    counts = ", ".join(f"{n} {e(status)}" for status, n in (record.get("counts") or {}).items() if n)
    rules = "".join(
        f'<div class="{e(r["status"])}">{MARKS.get(r["status"], "?")} {e(r["rule_id"])} '
        f'<span class="small">{e(r["status"])}</span></div>'
        for r in record.get("rules", [])
    )
    warning_rows = "".join(
        f"<tr><th>{e(r['rule_id'])}</th><td>{e(r.get('severity'))}: {e(reason_of(r))}</td></tr>"
        for r in record.get("rules", [])
        if r.get("status") == "warned"
    )
    waivers = record.get("waivers") or []
    waiver_rows = "".join(
        f"<tr><th>{e(w.get('rule', ''))}</th><td>{e(w.get('reason', ''))}"
        + "".join(
            f"; {label} {e(w[key])}"
            for key, label in (
                ("scenario", "scenario"),
                ("reference", "ref."),
                ("accepted_by", "accepted by"),
                ("expires", "until"),
            )
            if w.get(key)
        )
        + "</td></tr>"
        for w in waivers
        if isinstance(w, dict)
    )
    signed = (
        f"Signed with Ed25519 key <code>{e(signature.get('key_fingerprint'))}</code>."
        if signature
        else "Not signed: the digest proves that the record was not edited, not who issued it."
    )
    warnings = (
        f'<table class="facts">{warning_rows}</table>'
        if warning_rows
        else "<div>None: every warning-level rule that applies passed.</div>"
    )
    waived = f'<table class="facts">{waiver_rows}</table>' if waiver_rows else "<div>None: no failure is waived.</div>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Certificate: Visma Connect conformance of {e(record.get("environment"))}</title>
<style>{STYLE}</style></head><body>
<h1>Certificate of conformance</h1>
<div>Visma Connect integration contract (Service and Interactive Integrations, with the RFCs they rely on)</div>
<div class="verdict">{e(str(record.get("verdict", "")).upper())}</div>
<table class="facts">{"".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in facts)}</table>
<h2>Rules ({counts})</h2>
<div class="rules">{rules}</div>
<h2>Warnings</h2>
{warnings}
<h2>Waivers</h2>
{waived}
<h2>Record</h2>
<div>SHA-256 digest of the whole certification record: <code>{e(seal.get("digest"))}</code></div>
<div>{signed} Check it: <code>python -m suite.reports.verify compliance.json</code>
(<code>--public-key</code> your organisation's key for the signature).</div>
</body></html>
"""


def write_pdf(html_path: Path, pdf_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from suite.wire.browser import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.goto(html_path.resolve().as_uri())
            page.pdf(path=str(pdf_path), format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.reports.certificate", description=__doc__.splitlines()[0])
    parser.add_argument("record", nargs="?", default="reports/compliance.json")
    parser.add_argument("--out", help="the folder to write certificate.html and .pdf to (default: the record's)")
    args = parser.parse_args(argv)
    try:
        record = json.loads(Path(args.record).read_text(encoding="utf-8"))
        if not isinstance(record, dict):
            raise ValueError("not a certification record (a JSON object)")
        certifiable(record)
    except (OSError, ValueError) as error:
        print(f"no certificate: cannot read {args.record}: {error}", file=sys.stderr)
        return EXIT_CANNOT
    except CertificateRefused as refusal:
        print(f"no certificate: {refusal}", file=sys.stderr)
        return refusal.exit_code
    out = Path(args.out) if args.out else Path(args.record).parent
    out.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out / "certificate.html", out / "certificate.pdf"
    html_path.write_text(render_html(record), encoding="utf-8")
    try:
        write_pdf(html_path, pdf_path)
    except Exception as error:
        print(
            f"certificate: {html_path}; no PDF: {str(error).splitlines()[0]} "
            "(the PDF is printed by Debian's chromium: apt-get install chromium)",
            file=sys.stderr,
        )
        return EXIT_CANNOT
    print(f"certificate: {html_path} and {pdf_path}")
    return EXIT_ISSUED


if __name__ == "__main__":
    sys.exit(main())
