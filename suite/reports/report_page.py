"""The HTML report opens on the verdict: python -m suite.reports.report_page REPORT_DIR RECORD

Allure's own header shows a pass-percentage ring as its largest element (85% for a server that
fails a blocker rule) and opens scrolled down to the first failed test. After `allure generate`
this puts a banner above the report with the verdict, the rules that failed (worst severity
first), the rules they blocked, the warnings (warning-level rules that failed) and the run's
identity; hides the ring; and keeps the page at the top when it opens. And it takes out what
Allure 3 adds to every report with no switch to turn it off (allure3 issue 476): Google Tag
Manager's analytics, which would send the report's title (the verdict and the environment's name)
to Google from a page that holds a partner's client ids and exchanges. The report loads nothing
from outside this machine."""

import html
import json
import re
import sys
from pathlib import Path

from suite.configuration.rules import SEVERITIES
from suite.reports.atomic_write import OUTPUT_ERRORS, not_written

MARKER = "<!-- conformance verdict banner -->"
# Allure's analytics: the loader of Google's script and the inline script that configures it
ANALYTICS = re.compile(
    r"\s*<script[^>]*src=\"https://www\.googletagmanager\.com/[^\"]*\"[^>]*>\s*</script>"
    r"(\s*<script>(?:(?!</script>).)*?gtag\((?:(?!</script>).)*</script>)?",
    re.S,
)
COLOURS = {"conformant": ("#0b6b2f", "#e6f4ea"), "not": ("#a50e0e", "#fce8e6"), "other": ("#7a4a00", "#fef7e0")}

STYLE_AND_SCRIPT = """
<style>
#conformance-verdict { font: 15px/1.45 system-ui, sans-serif; padding: 14px 24px; border-bottom: 3px solid; }
#conformance-verdict h1 { font-size: 28px; margin: 0 0 4px; letter-spacing: .02em; }
#conformance-verdict p { margin: 2px 0; }
#conformance-verdict code { font-size: 13px; }
</style>
<script>
// Hide the pass-percentage ring (it is not the verdict) and keep the page at the top on opening.
(function () {
  var settled = false;
  ["wheel", "keydown", "mousedown", "touchstart"].forEach(function (name) {
    window.addEventListener(name, function () { settled = true; }, { once: true, capture: true });
  });
  var observer = new MutationObserver(function () {
    document.querySelectorAll('article[class*="styles_chart__"]').forEach(function (chart) {
      if (/^\\s*\\d+(\\.\\d+)?%\\s*$/.test(chart.textContent)) { chart.style.display = "none"; }
    });
    if (!settled) {
      document.querySelectorAll("[data-tree-scroll-container]").forEach(function (e) { e.scrollTop = 0; });
      window.scrollTo(0, 0);
    }
  });
  observer.observe(document.documentElement, { childList: true, subtree: true });
  setTimeout(function () { settled = true; }, 5000);
})();
</script>
"""


def banner(record: dict) -> str:
    verdict = str(record.get("verdict", "no verdict"))
    kind = "conformant" if verdict.startswith("conformant") else "not" if verdict.startswith("not") else "other"
    ink, paper = COLOURS[kind]
    rules = record.get("rules", [])
    facts = [
        f"Visma Connect conformance of <b>{html.escape(str(record.get('environment', 'unknown')))}</b>"
        + (f" ({html.escape(str(record['issuer']))})" if record.get("issuer") else "")
    ]
    facts += [html.escape(str(record[key])) for key in ("finished",) if record.get(key)]
    facts += [f"suite {html.escape(str(record['suite_version']))}"] if record.get("suite_version") else []
    lines = [
        f"<h1>{html.escape(verdict.upper())}</h1>",
        "<p>"
        + ", ".join(facts)
        + (
            f"; sandbox defects on: {html.escape(', '.join(map(str, record['sandbox_defects'])))}"
            if record.get("sandbox_defects")
            else ""
        )
        + "</p>",
    ]
    for status, label in (
        ("failed", "Failed"),
        ("error", "Not checked (environment problem)"),
        ("blocked", "Blocked by those failures, not checked"),
        ("warned", "Warnings (warning-level rules that failed; the verdict stands)"),
    ):
        chosen = sorted((r for r in rules if r["status"] == status), key=lambda r: _rank(str(r["severity"])))
        if chosen:
            lines.append(
                f"<p><b>{label}:</b> "
                + ", ".join(
                    f"<span style='white-space:nowrap'>{html.escape(str(r['rule_id']))} "
                    f"({html.escape(str(r['severity']))})</span>"
                    for r in chosen
                )
                + "</p>"
            )
    counts = record.get("counts", {})
    counted = ", ".join(f"{html.escape(str(n))} {html.escape(str(status))}" for status, n in counts.items() if n)
    if "seal" not in record:
        lines.append("<p>No certification record: what the results below show has no verdict.</p>")
    else:
        lines.append(
            "<p>" + (f"Rules: {counted}. " if counted else "") + "The certification record: "
            "<code>compliance.json</code> / <code>compliance.md</code>, checked by "
            "<code>python -m suite.reports.verify compliance.json</code>.</p>"
        )
    return (
        f'{MARKER}<div id="conformance-verdict" role="banner" data-verdict="{html.escape(kind)}" '
        f'style="color:{ink};background:{paper};border-color:{ink}">' + "".join(lines) + "</div>"
    )


def add_verdict_banner(report_dir: Path, record: dict) -> None:
    index = Path(report_dir) / "index.html"
    text = without_analytics(index.read_text(encoding="utf-8"))
    if MARKER not in text:
        text = text.replace("<body>", "<body>" + banner(record) + STYLE_AND_SCRIPT, 1)
    index.write_text(text, encoding="utf-8")


def without_analytics(page: str) -> str:
    return ANALYTICS.sub("", page)


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 4
    try:
        record_path = Path(argv[1])
        record = (
            json.loads(record_path.read_text(encoding="utf-8"))
            if record_path.exists()
            else {"verdict": "no verdict: the run left no certification record", "environment": "unknown"}
        )
        if not isinstance(record, dict):
            raise ValueError(f"{record_path} is not a certification record (a JSON object)")
        add_verdict_banner(Path(argv[0]), record)
    except (OSError, ValueError, RecursionError, KeyError, TypeError, AttributeError) as error:
        if isinstance(error, OSError) and error.errno in OUTPUT_ERRORS:  # a full disk: the page is cut short
            raise not_written(Path(argv[0]) / "index.html", error) from None
        print(f"no verdict banner: {error}", file=sys.stderr)
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
