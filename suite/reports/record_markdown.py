"""compliance.md: the certification record written for people. It opens on the verdict and the
rules that failed, worst severity first, then the warnings (warning-level rules whose check failed:
the verdict stands, the server's difference is shown), so a reader deciding a go-live needs the
first lines only.

Much of it is the other side's words (a server's error and error_description, claim values, headers,
page titles, in the reasons; an application's name): every value is written as text (_text), so that
rendered as Markdown, in a repository's page, a CI summary or a browser, it shows as it was and does
nothing: no HTML element, no link, no image, no code span or table cell it did not open."""

import re
import shlex
from collections.abc import Callable
from pathlib import Path

from suite.configuration.rules import SEVERITIES
from suite.reports.comparison import change_lines

MARKS = {
    "passed": "PASSED",
    "failed": "FAILED",
    "blocked": "BLOCKED",
    "waived": "WAIVED (failed, accepted)",
    "warned": "WARNED (failed, warning-level)",
    "error": "ERROR (environment or configuration)",
    "skipped": "skipped",
}


def render_markdown(record: dict) -> str:
    """The certification record for people: verdict and failures first, then one row per rule."""
    counts = record["counts"]
    lines = [
        f"# Verdict: {_text(record['verdict'].upper())}",
        "",
        f"Visma Connect conformance of **{_text(record['environment'])}** ({_text(record['issuer'])}): "
        f"{counts['passed']} rules passed, {counts['failed']} failed"
        + (f", {counts['blocked']} blocked by an earlier failure" if counts.get("blocked") else "")
        + (f", {counts['waived']} failed under a waiver" if counts.get("waived") else "")
        + (f", {counts['warned']} warned (a warning-level rule failed)" if counts.get("warned") else "")
        + f", {counts['error'] + counts.get('unchecked', 0)} could not be checked, {counts['skipped']} skipped.",
        "",
    ]
    if "changes" in record:
        head, *kinds = change_lines(record)
        lines += (
            [_text(head[:1].upper() + head[1:]), ""] + [f"- {_text(kind)}" for kind in kinds] + ([""] * bool(kinds))
        )
    if record.get("not_run_rules"):
        lines += [
            f"Blocker and critical rules this run did not run: {_text(', '.join(record['not_run_rules']))}. "
            "Run every rule (no --rule, -k, -m or feature path) for a verdict.",
            "",
        ]
    lines += _unchecked_list(
        "Blocker and critical rules that ran but could not be checked (the run found no evidence either way; "
        "running them again as they are will not check them, what each reason names will):",
        _unchecked_said_once(record),
        lambda rule: rule["severity"],
    )
    lines += _unchecked_list(
        "Rules that ran but could not be checked and leave the verdict as it is (warning-level, or of normal "
        "or minor severity):",
        _unchecked_said_once(record, unchecked_elsewhere(record)),
        _weight,
    )
    lines += [f"**Waiver problem:** {_text(problem)}" for problem in record.get("waiver_problems", ())]
    lines += [""] if record.get("waiver_problems") else []
    lines += _failures(record) + _warnings(record) + _waivers(record)
    lines += [
        "## The run",
        "",
        "| | |",
        "|---|---|",
        f"| Issuer | {_text(record['issuer'])} |",
        f"| Client ids | {_text(', '.join(f'{r}: {c}' for r, c in record['client_ids'].items()))} |",
        f"| Suite version | {_text(record['suite_version'])} |",
        f"| Run | {_text(record['started'])} to {_text(record['finished'])} |",
        f"| Sandbox defects | {_text(', '.join(record['sandbox_defects']) or 'none')} |",
        f"| TLS verification | {_text(record['tls_verification'])} |",
    ]
    seal = record.get("seal") or {}
    if seal:
        signature = seal.get("signature")
        lines.append(f"| Digest (SHA-256 of the whole record) | {_text(seal['digest'])} |")
        lines.append(
            f"| Signature | {_text('Ed25519, key ' + signature['key_fingerprint'] if signature else 'not signed')} |"
        )
    lines += [
        "",
        "## Every rule",
        "",
        "| Rule | Title | Statements | Severity | Status | Scenarios | Detail |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in record["rules"]:
        detail = "; ".join(
            sorted({s["reason"] for s in rule["scenarios"] if s["reason"]})
            # how an application authenticated at the token endpoint (APPC-10), as its record keeps it
            + sorted(
                {
                    f"client authentication: {s['client_authentication']}"
                    for s in rule["scenarios"]
                    if s.get("client_authentication")
                }
            )
        )
        counts = ", ".join(f"{n} {st}" for st in MARKS if (n := sum(s["status"] == st for s in rule["scenarios"])))
        # the documented statements the rule checks (features/coverage_map.yaml), else where its sentence comes from
        beyond = rule.get("beyond_documentation")
        statements = ", ".join(s["id"] for s in rule.get("statements", ())) or (
            f"beyond the pages: {beyond}" if beyond else "beyond the pages"
        )
        lines.append(
            f"| {_link(rule)} | {_cell(rule['title'])} | {_text(statements)} | {_text(rule['severity'])} | "
            f"{_text(MARKS.get(rule['status'], rule['status']))} | {_text(counts)} | {_cell(detail)} |"
        )
    lines += [
        "",
        "Check that this record was not edited: `python -m suite.reports.verify compliance.json` "
        "(add `--public-key KEY.pem` to check it was signed by your organisation's key).",
        "",
    ]
    return "\n".join(lines)


def render_no_verdict(record: dict) -> str:
    """compliance.md of a run that stopped before any verdict: why, and that nothing here is older."""
    return "\n".join(
        [
            f"# Verdict: {_text(record['verdict'].upper())}",
            "",
            f"The run of {_text(record['finished'])} against **{_text(record['environment'])}** produced no verdict:",
            "",
            *_fenced(record["reason"] or "(no message)"),
            "",
            "The reports of earlier runs were removed, so that nothing here describes another run.",
            "",
        ]
    )


def _failures(record: dict) -> list[str]:
    failed = [r for r in record["rules"] if r["status"] in ("failed", "error", "blocked")]
    if not failed:
        return []
    order = {"failed": 0, "error": 1, "blocked": 2}
    failed.sort(key=lambda r: (order[r["status"]], _severity_rank(r["severity"])))
    lines = ["## What failed, worst first", "", "| Rule | Severity | Status | Why |", "|---|---|---|---|"]
    for rule in failed:
        lines.append(
            f"| {_link(rule)} {_cell(rule['title'])} | {_text(rule['severity'])} | {MARKS[rule['status']]} | "
            f"{_cell(reason_of(rule))} |"
        )
    return [*lines, ""]


def _warnings(record: dict) -> list[str]:
    warned = sorted(_warned(record), key=lambda r: _severity_rank(r["severity"]))
    if not warned:
        return []
    party = "the application" if record.get("application") else "the server"  # an application record names it
    lines = [
        f"## Warnings: warning-level rules {party} does not keep (the verdict stands)",
        "",
        "| Rule | Severity | Why |",
        "|---|---|---|",
    ]
    lines += [
        f"| {_link(rule)} {_cell(rule['title'])} | {_text(rule['severity'])} | {_cell(reason_of(rule))} |"
        for rule in warned
    ]
    return [*lines, ""]


def _warned(record: dict) -> list[dict]:
    return [r for r in record["rules"] if r["status"] == "warned"]


def _unchecked(record: dict, rule_ids: list[str] | None = None) -> list[tuple[dict, str]]:
    """The blocker and critical rules that ran and found no evidence either way (an application's
    record: unchecked_rules), each with why, which is what to fix: not a rule left out of the run."""
    rules = {rule["rule_id"]: rule for rule in record.get("rules", ())}
    return [
        (
            rules[rule_id],
            "; ".join(
                dict.fromkeys(
                    re.sub(r"^could not be checked[^:]*: ", "", s["reason"])
                    for s in rules[rule_id]["scenarios"]
                    if s["status"] == "skipped" and s["reason"].startswith("could not be checked")
                )
            ),
        )
        for rule_id in (record.get("unchecked_rules") or () if rule_ids is None else rule_ids)
        if rule_id in rules
    ]


def unchecked_elsewhere(record: dict) -> list[str]:
    """The rules that ran and could not be checked but leave the verdict as it is (warning-level, or of
    normal or minor severity): counted in the summary line, named here, not in unchecked_rules."""
    return [
        rule["rule_id"]
        for rule in record.get("rules", ())
        if rule["rule_id"] not in (record.get("unchecked_rules") or ())
        and rule["status"] == "skipped"
        and any(s["status"] == "skipped" and s["reason"].startswith("could not be checked") for s in rule["scenarios"])
    ]


def _weight(rule: dict) -> str:
    return "warning-level" if rule.get("level") == "warning" else f"{rule['severity']} severity"


def _unchecked_list(heading: str, unchecked: list[tuple[dict, str]], weight: Callable[[dict], str]) -> list[str]:
    """A list of rules that could not be checked under its heading, each with its weight and reason; none: nothing."""
    if not unchecked:
        return []
    items = [f"- {_text(rule['rule_id'])} ({_text(weight(rule))}): {_text(reason)}" for rule, reason in unchecked]
    return [heading, "", *items, ""]


def _unchecked_said_once(record: dict, rule_ids: list[str] | None = None) -> list[tuple[dict, str]]:
    """_unchecked (or those of `rule_ids`), a long cause that several rules share said at the first of them
    only (said_once)."""
    unchecked = _unchecked(record, rule_ids)
    shown = said_once([(rule["rule_id"], why) for rule, why in unchecked])
    return [(rule, shown[number]) for number, (rule, _) in enumerate(unchecked)]


# A cause shorter than this is said again where it recurs; a longer one (how a sign-in ended, what the
# browser refused: often 1,200 characters, the same for 20 rules) is said once and named after
SAID_ONCE = 120
SAME_PREFIX = 300  # two causes are one where they begin alike this far ("; 2 more sign-ins did not finish")


def said_once(reasons: list[tuple[str, str]]) -> list[str]:
    """Each rule's reason [(rule id, reason)], a long one said once: a reason said before becomes "the
    same cause as APPC-xx", and one whose long parenthesised cause was said before keeps its own words
    with "(the same cause as APPC-xx)" in the place of the cause."""
    said: list[tuple[str, str]] = []  # (a reason or its cause, the rule that said it first)
    shown = []
    for rule_id, reason in reasons:
        head, cause, tail = _cause_of(reason)
        whole = next((rule for text, rule in said if len(reason) >= SAID_ONCE and text == reason), None)
        earlier = next((rule for text, rule in said if _same_cause(text, cause)), None)
        if whole is not None:
            shown.append(f"the same cause as {whole}")
        elif earlier is not None:
            shown.append(f"{head} (the same cause as {earlier}){tail}")
        else:
            said += [(reason, rule_id), (cause, rule_id)]
            shown.append(reason)
    return shown


def _cause_of(reason: str) -> tuple[str, str, str]:
    """A reason as its words, its cause (its first parenthesised part of at least SAID_ONCE characters,
    else nothing) and what follows."""
    start = reason.find(" (")
    while start >= 0:
        depth = 0
        for at in range(start + 1, len(reason)):
            depth += {"(": 1, ")": -1}.get(reason[at], 0)
            if depth == 0:
                if at - start - 2 >= SAID_ONCE:
                    return reason[:start], reason[start + 2 : at], reason[at + 1 :]
                break
        start = reason.find(" (", start + 2)
    return reason, "", ""


def _same_cause(one: str, other: str) -> bool:
    shorter, longer = sorted((one, other), key=len)
    return len(shorter) >= SAID_ONCE and longer.startswith(shorter[:SAME_PREFIX])


def reason_of(rule: dict) -> str:
    """The reasons of every scenario that gave the rule its status, each once, in the scenarios' order:
    each failed example of an outline (each fault an application accepted) is named, not the first."""
    reasons = dict.fromkeys(s["reason"] for s in rule["scenarios"] if s["status"] == rule["status"] and s["reason"])
    return "; ".join(reasons)


def _waivers(record: dict) -> list[str]:
    if not record.get("waivers"):
        return []
    lines = [
        "## Waived: failures accepted until their expiry",
        "",
        "| Rule | Scenario | Reason | Reference | Accepted by | Expires |",
        "|---|---|---|---|---|---|",
    ]
    for waiver in record["waivers"]:
        lines.append(
            f"| {_text(waiver['rule'])} | {_cell(waiver['scenario'] or 'every scenario')} | "
            f"{_cell(waiver['reason'])} | {_cell(waiver['reference'])} | {_cell(waiver['accepted_by'])} | "
            f"{_text(waiver['expires'])} |"
        )
    return [*lines, ""]


def _configuration_problem(rule: dict) -> bool:
    return any(s["status"] == "error" and s["reason"].startswith("configuration problem") for s in rule["scenarios"])


def verdict_lines(record: dict, path: Path | str) -> list[str]:
    """The last lines of the terminal: the verdict, the rules that failed and where the record is."""
    lines = [f"VERDICT: {record['verdict'].upper()}"]
    by_status: dict[str, list[dict]] = {}
    for rule in record["rules"]:
        by_status.setdefault(rule["status"], []).append(rule)
    # each rule that could not be checked under its own cause: a wrong password beside a failed rule
    # is still a configuration problem, whatever the verdict
    errors = by_status.pop("error", [])
    by_status["configuration"] = [r for r in errors if _configuration_problem(r)]
    by_status["environment"] = [r for r in errors if not _configuration_problem(r)]
    for status, label in (
        ("failed", "failed"),
        ("configuration", "could not be checked (configuration problem)"),
        ("environment", "could not be checked (environment problem)"),
        ("blocked", "blocked by an earlier failure"),
    ):
        rules = sorted(by_status.get(status, []), key=lambda r: _severity_rank(r["severity"]))
        if rules:
            lines.append(f"{label}: " + ", ".join(f"{r['rule_id']} ({r['severity']})" for r in rules))
    lines += [
        f"warned (warning-level, the verdict stands): {r['rule_id']} ({r['severity']}): {reason_of(r)}"
        for r in sorted(_warned(record), key=lambda r: _severity_rank(r["severity"]))
    ]
    if record.get("not_run_rules"):
        lines.append("did not run (blocker or critical): " + ", ".join(record["not_run_rules"]))
    lines += [
        f"ran but could not be checked (blocker or critical): {rule['rule_id']} ({rule['severity']}): {reason}"
        for rule, reason in _unchecked_said_once(record)
    ]
    lines += [
        f"could not be checked ({_weight(rule)}, the verdict stands): {rule['rule_id']} ({rule['severity']}): {reason}"
        for rule, reason in _unchecked_said_once(record, unchecked_elsewhere(record))
    ]
    if record.get("missing_data"):
        needed: dict[str, list[str]] = {}
        for rule_id, keys in record["missing_data"].items():
            for key in keys:
                needed.setdefault(key, []).append(rule_id)
        lines.append(
            f"add to the {'application' if 'application' in record else 'environment'} file to run them: "
            + ", ".join(f"{key} ({', '.join(rules)})" for key, rules in sorted(needed.items()))
        )
    lines += [
        f"waived: {w['rule']}{' (' + w['scenario'] + ')' if w['scenario'] else ''}: {w['reason']} "
        f"(ref. {w['reference']}, accepted by {w['accepted_by']}, until {w['expires']})"
        for w in record.get("waivers", ())
    ]
    lines += [f"WAIVER PROBLEM: {problem}" for problem in record.get("waiver_problems", ())]
    lines.append(
        f"record: {path} and {Path(path).with_suffix('.md')}; check it with python -m suite.reports.verify "
        f"{shlex.quote(str(path))}"  # a command to copy: a folder with a space in its name, quoted
    )
    return lines + (change_lines(record) if "changes" in record else [])


def _severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _link(rule: dict) -> str:
    """The rule's id, linked to its documentation where that is a web page (http, https)."""
    documentation = str(rule.get("documentation") or "")
    if not documentation.startswith(("https://", "http://")) or re.search(r"[\s()<>\\`]", documentation):
        return _text(rule["rule_id"])
    return f"[{_text(rule['rule_id'])}]({documentation})"


def _cell(text: str) -> str:
    """A table cell: the text as _text writes it, an outline placeholder shown as `<role>` (code)."""
    parts = _PLACEHOLDER.split(_one_line(text))  # text, placeholder, text, ...
    return "".join(f"`<{part}>`" if odd % 2 else _escaped(part) for odd, part in enumerate(parts))


_PLACEHOLDER = re.compile(r"<(\w+)>")  # an outline's <role>: shown as code, not taken for an HTML tag
# Characters Markdown (CommonMark, GitHub's and Python-Markdown) gives a meaning to anywhere in a line,
# each written escaped with a backslash: links and images ([ ]), emphasis (* _ ~), code spans, table
# cells (|); and at the start of a value, those that open a heading, a list or a rule (# + - = 1.)
_MARKDOWN = re.compile(r"[\\`*_\[\]|~]")
_NUMBERED = re.compile(r"(\d+)[.)]")
# An & that begins a character reference (CommonMark's entity and numeric references: &amp; &#38; &#x26;), which a
# renderer would show as another character: written &amp;. Any other & is text as it stands (a client id rust-web+app&1)
_REFERENCE = re.compile(r"&(?=[A-Za-z][A-Za-z0-9]*;|#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};)")
# Control characters (a terminal's escapes, a line's end) and the marks that reorder text on screen
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _text(value: object) -> str:
    """A value as Markdown text that renders as itself and nothing else: on one line (white space,
    control characters and bidirectional marks as one space), < and an & that would begin a character reference
    as HTML character references (no element, comment or autolink can open: Python-Markdown has no backslash
    escape for <), every other character Markdown gives a meaning to escaped with a backslash (no link, image,
    emphasis, code span, table cell, heading, list or quote)."""
    return _escaped(_one_line(value))


def _one_line(value: object) -> str:
    return " ".join(_INVISIBLE.sub(" ", str(value)).split())


def _escaped(text: str) -> str:
    text = _REFERENCE.sub("&amp;", text).replace("<", "&lt;")  # a > alone opens nothing but a quoted line
    text = _MARKDOWN.sub(r"\\\g<0>", text)
    if numbered := _NUMBERED.match(text):  # "12." or "12)" opens a numbered list: "12\."
        return f"{numbered.group(1)}\\{text[numbered.end(1) :]}"
    return "\\" + text if text.startswith(("#", "+", "-", "=", ">")) else text


def _fenced(text: str) -> list[str]:
    """Text shown as it is, in a code block whose fence is longer than any run of backticks in it (a
    server's "```" cannot close it); control characters but the line's ends left out."""
    text = re.sub("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", " ", text)
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", text)), default=0))
    return [fence, text, fence]
