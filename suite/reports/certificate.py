"""The certificate of a conformant run: python -m suite.reports.certificate [RECORD] [--out DIR]

One page, HTML and PDF (printed by the Debian Chromium the suite already uses), from a sealed
certification record whose verdict is conformant (waived failures and warnings included): what
was certified (the integration types and application types the environment's clients cover, the
rules that held, by severity) and what was not (application types without a client, rules that
did not apply), environment, issuer, client ids, suite version, time, who ran it (the CI job, or
user@host), every rule that held with its title, the warnings, the waivers, and the record's
digest (and signature key). The record's seal is checked first: a certificate is never issued for
an edited record, nor when a blocker or critical rule of the certified scope did not run. A run
against the embedded sandbox (or with its defects on) gets a page that says, at its top, that it
is a demonstration and certifies no server.

Exit status: 0 issued; 1 the record is not conformant, or a blocker or critical rule of its scope
did not run (no certificate); 4 the record cannot be read, its seal does not hold, or Chromium is
missing (the HTML is still written)."""

import argparse
import html
import json
import re
import sys
from pathlib import Path

from suite.configuration.rules import rule_title
from suite.reports.record_consistency import verdict_problems
from suite.reports.record_markdown import reason_of
from suite.reports.record_seal import verify

EXIT_ISSUED, EXIT_NOT_CONFORMANT, EXIT_CANNOT = 0, 1, 4
MARKS = {"passed": "✔", "waived": "W", "warned": "⚠", "skipped": "-", "blocked": "✖", "failed": "✖", "error": "!"}
MUST_RUN = ("blocker", "critical")
NO_WARNINGS = "none, every warning-level rule that applies passed"
NO_WAIVERS = "none, no failure is waived"
CERTIFIED = ("passed", "waived", "warned")  # a rule that ran and holds (a waiver or a warning named below)
INTEGRATIONS = {"service-integrations": "Service Integrations", "interactive-integrations": "Interactive Integrations"}
APP_TYPES = {
    "service": "service applications (client_credentials)",
    "web": "server-side web applications",
    "spa": "single-page applications",
    "native": "native applications",
}
INTERACTIVE = ("web", "spa", "native")
ABSENT_ROLE = re.compile(r"no '(\w+)'(?:, '\w+')*(?: or '\w+')? client is configured")

STYLE = """
@page { size: A4; margin: 8mm; }
body { font: 8.8pt/1.28 "DejaVu Sans", system-ui, sans-serif; color: #1b1b1b; margin: 0;
       overflow-wrap: normal; word-break: normal; hyphens: manual; }
h1 { font-size: 18pt; margin: 0; letter-spacing: .02em; }
.verdict { font-size: 14pt; font-weight: bold; color: #0b6b2f; border: 2px solid #0b6b2f; display: inline-block;
           padding: 2px 10px; margin: 5px 0; }
.demo-banner { border: 2px solid #a33; color: #a33; padding: 2px 6px; margin: 4px 0; font-weight: bold; }
body.demo h1, body.demo .verdict { color: #a33; border-color: #a33; }
table.facts { border-collapse: collapse; margin: 3px 0 6px; }
table.facts th { text-align: left; padding: 1px 12px 1px 0; font-weight: 600; vertical-align: top;
                 white-space: nowrap; }
table.facts td { padding: 1px 0; }
.rules { columns: 3; column-gap: 10px; font-size: 5.6pt; line-height: 1.04; margin: 3px 0 5px; }
.rules div { break-inside: avoid; display: flex; gap: 3px; }
.rules .id { font-weight: 600; flex: 0 0 5.4em; white-space: nowrap; }
.rules .waived, .rules .warned { color: #7a4a00; font-weight: bold; }
h2 { font-size: 10.5pt; margin: 5px 0 2px; border-bottom: 1px solid #ccc; }
code, span.id { white-space: nowrap; }
code { font-size: 8pt; }
code.digest { white-space: normal; overflow-wrap: anywhere; }
.small { font-size: 7.5pt; color: #444; }
"""


class CertificateRefused(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def certifiable(record: dict) -> None:
    """Raise CertificateRefused unless the record is intact, its verdict follows from its rules, it is
    conformant and it ran every blocker and critical rule of the scope it certifies."""
    problems = verify(record) + verdict_problems(record)
    if problems:
        raise CertificateRefused(
            "the record's seal does not hold, so no certificate: " + "; ".join(problems), EXIT_CANNOT
        )
    verdict = str(record.get("verdict", ""))
    if not verdict.startswith("conformant"):
        failed = ", ".join(record.get("failed_rules") or record.get("error_rules") or []) or "see the record"
        raise CertificateRefused(
            f"the run is {verdict or 'without a verdict'} ({failed}): "
            "a certificate is issued for a conformant run only",
            EXIT_NOT_CONFORMANT,
        )
    missing = [r for r in scope(record)["not_run"] if r.get("severity") in MUST_RUN]
    if missing:
        raise CertificateRefused(
            "blocker and critical rules of the certified scope did not run: "
            + "; ".join(f"{r['rule_id']} ({r['severity']}): {_skip_reason(r)}" for r in missing)
            + ". A certificate states that every such rule held; run them (what each reason names) for one",
            EXIT_NOT_CONFORMANT,
        )


def demonstration(record: dict) -> str:
    """Why this record certifies no server ("" when it may): the embedded sandbox, or defects on."""
    if record.get("sandbox_defects"):
        return (
            "a run against the embedded sandbox with deliberate defects switched on "
            f"({', '.join(record['sandbox_defects'])})"
        )
    if record.get("embedded_sandbox"):
        return "a run against the embedded sandbox, the suite's own stand-in for Visma Connect"
    return ""


def scope(record: dict) -> dict:
    """What the record certifies and what it does not: the integration types and application types
    its clients cover, the rules that held, the rules outside the scope (no client of the role they
    need), and the rules of the scope that did not run (skipped for another reason)."""
    roles = set(record.get("client_ids") or {})
    types = [role for role in APP_TYPES if role in roles]
    integrations = [
        name
        for key, name in INTEGRATIONS.items()
        if (key == "service-integrations" and "service" in roles)
        or (key == "interactive-integrations" and roles & set(INTERACTIVE))
    ]
    held: list[dict] = []
    outside: list[dict] = []
    not_run: list[dict] = []
    for rule in record.get("rules", []):
        if rule.get("status") in CERTIFIED:
            held.append(rule)
        elif rule.get("status") == "skipped":
            absent = {m for s in rule.get("scenarios", []) for m in ABSENT_ROLE.findall(s.get("reason") or "")}
            reasons = {s.get("reason") for s in rule.get("scenarios", [])}
            (outside if absent and all(ABSENT_ROLE.search(r or "") for r in reasons) else not_run).append(rule)
    return {
        "integrations": integrations,
        "app_types": types,
        "missing_types": [role for role in APP_TYPES if role not in roles],
        "held": held,
        "outside": outside,
        "not_run": not_run,
    }


def _unbroken(text: str) -> str:
    """A rule id kept on one line: "RT-01", never "RT-" and "01"."""
    return f"<span class=id>{text}</span>"


def _skip_reason(rule: dict) -> str:
    return next((s["reason"] for s in rule.get("scenarios", []) if s.get("reason")), "skipped")


def run_by(record: dict) -> str:
    """Who ran it, as a customer can follow it up: the CI job (and its address) that ran it, or
    user@host outside CI."""
    who = record.get("run_by") or {}
    person = who.get("user") or "unknown"
    if who.get("ci"):
        job = " ".join(filter(None, (who.get("ci"), "job", who.get("job"))))
        return f"{job}{' (' + who['job_url'] + ')' if who.get('job_url') else ''}, started by {person}"
    host = who.get("host")
    return f"{person}@{host}, not in CI" if host else f"{person}, not in CI"


def render_html(record: dict) -> str:
    def e(value: object) -> str:
        return html.escape(str(value if value is not None else ""))

    certified = scope(record)
    demo = demonstration(record)
    clients = ", ".join(
        f"{e(role)}: <code>{e(client_id)}</code>" for role, client_id in (record.get("client_ids") or {}).items()
    )
    seal = record.get("seal") or {}
    signature = seal.get("signature")
    facts = [
        ("Environment", e(record.get("environment"))),
        ("Issuer", f"<code>{e(record.get('issuer'))}</code>"),
        ("Client ids", clients or "none"),
        ("Suite version", f"<code>{e(record.get('suite_version'))}</code>"),
        ("Run", f"{e(record.get('started'))} to {e(record.get('finished'))} (UTC)"),
        ("Run by", e(run_by(record))),
        ("TLS verification", e(record.get("tls_verification"))),
    ]
    if record.get("sandbox_defects"):
        facts.append(("Sandbox defects on", e(", ".join(record["sandbox_defects"]))))
    held = certified["held"]
    by_severity = ", ".join(
        f"{n} {severity}"
        for severity in ("blocker", "critical", "normal", "minor", "trivial")
        if (n := sum(r.get("severity") == severity for r in held))
    )
    what = (
        f"<b>{len(held)} rules held</b> ({by_severity}) of the Visma Connect contract for "
        f"<b>{e(' and '.join(certified['integrations']) or 'no integration type')}</b>, for "
        f"<b>{e(', '.join(APP_TYPES[t] for t in certified['app_types']) or 'no application type')}</b>."
    )
    not_certified = []
    if certified["missing_types"]:
        not_certified.append(
            "Not certified: "
            + e(", ".join(APP_TYPES[t] for t in certified["missing_types"]))
            + " (the environment has no client of that type)"
            + (
                f": {len(certified['outside'])} rules did not apply "
                f"({', '.join(_unbroken(e(r['rule_id'])) for r in certified['outside'])})."
                if certified["outside"]
                else "."
            )
        )
    if certified["not_run"]:
        not_certified.append(
            "Did not run (not applicable as the environment declares): "
            + "; ".join(f"{_unbroken(e(r['rule_id']))}: {e(_skip_reason(r))}" for r in certified["not_run"])
            + "."
        )
    rules = "".join(
        f'<div class="{e(r["status"])}"><span class="id">{MARKS.get(r["status"], "?")} {e(r["rule_id"])}</span>'
        f'<span>{e(rule_title(str(r.get("title") or "")))} <span class="small">({e(r.get("severity"))}'
        f"{'' if r['status'] == 'passed' else ', ' + e(r['status'])})</span></span></div>"
        for r in held
    )
    warning_rows = "".join(
        f"<tr><th>{e(r['rule_id'])}</th><td>{e(r.get('severity'))}: {e(reason_of(r))}</td></tr>"
        for r in held
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
    title = "Demonstration: not a certificate" if demo else "Certificate of conformance"
    subtitle = (
        f'<div class="demo-banner">DEMONSTRATION: {e(demo)}. It shows what the suite checks; it certifies no '
        "authorization server.</div>"
        if demo
        else "<div>Visma Connect integration contract (Developer Portal: Service and Interactive Integrations, "
        "with the RFCs they rely on)</div>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}: Visma Connect conformance of {e(record.get("environment"))}</title>
<style>{STYLE}</style></head><body{' class="demo"' if demo else ""}>
<h1>{title}</h1>
{subtitle}
<div class="verdict">{e(str(record.get("verdict", "")).upper())}</div>
<h2>What was certified</h2>
<div>{what}</div>
{"".join(f'<div class="small">{line}</div>' for line in not_certified)}
<table class="facts">{"".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in facts)}</table>
<h2>Rules that held</h2>
<div class="rules">{rules}</div>
{_exceptions(warning_rows, waiver_rows)}
<h2>Record</h2>
<div>SHA-256 digest of the whole certification record: <code class="digest">{e(seal.get("digest"))}</code></div>
<div>{signed} Check it: <code>python -m suite.reports.verify compliance.json</code>
(<code>--public-key</code> your organisation's key for the signature).</div>
</body></html>
"""


def _exceptions(warning_rows: str, waiver_rows: str) -> str:
    """The warnings and the waivers, each a section of its own; one line when there are none."""
    if not warning_rows and not waiver_rows:
        return f"<h2>Warnings and Waivers</h2><div><b>Warnings:</b> {NO_WARNINGS}. <b>Waivers:</b> {NO_WAIVERS}.</div>"
    return (
        f"<h2>Warnings</h2>{f'<table class=facts>{warning_rows}</table>' if warning_rows else NO_WARNINGS}"
        f"<h2>Waivers</h2>{f'<table class=facts>{waiver_rows}</table>' if waiver_rows else NO_WAIVERS}"
    )


def write_pdf(html_path: Path, pdf_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from suite.wire.browser import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(java_script_enabled=False)  # a record is data: nothing in it runs
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
        page = render_html(record)
    except (OSError, ValueError, RecursionError, KeyError, TypeError, AttributeError) as error:
        cause = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"no certificate: cannot read {args.record}: {cause}", file=sys.stderr)
        return EXIT_CANNOT
    except CertificateRefused as refusal:
        print(f"no certificate: {refusal}", file=sys.stderr)
        return refusal.exit_code
    out = Path(args.out) if args.out else Path(args.record).parent
    out.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = out / "certificate.html", out / "certificate.pdf"
    html_path.write_text(page, encoding="utf-8")
    try:
        write_pdf(html_path, pdf_path)
    except Exception as error:  # Playwright raises its own types; the cause is what counts
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
