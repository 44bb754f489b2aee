"""compliance.md: the certification record written for people."""


def render_markdown(record: dict) -> str:
    """The certification record for people: verdict first, then one row per rule."""
    marks = {"passed": "PASSED", "failed": "FAILED", "error": "ERROR (environment)", "skipped": "skipped"}
    lines = [f"# Visma Connect conformance: {record['environment']}", "",
             f"**Verdict: {record['verdict']}** for the documented contract "
             f"({record['counts']['passed']} rules passed, {record['counts']['failed']} failed, "
             f"{record['counts']['error']} could not be checked, {record['counts']['skipped']} skipped).", "",
             "| | |", "|---|---|",
             f"| Issuer | {record['issuer']} |",
             f"| Client ids | {', '.join(f'{r}: {c}' for r, c in record['client_ids'].items())} |",
             f"| Suite version | {record['suite_version']} |",
             f"| Run | {record['started']} to {record['finished']} |",
             f"| Sandbox defects | {', '.join(record['sandbox_defects']) or 'none'} |",
             f"| TLS verification | {record['tls_verification']} |",
             f"| SHA-256 of the rules | `{record['sha256']}` |", "",
             "| Rule | Title | Severity | Status | Scenarios | Detail |", "|---|---|---|---|---|---|"]
    for rule in record["rules"]:
        detail = "; ".join(sorted({s["reason"] for s in rule["scenarios"] if s["reason"]}))
        link = f"[{rule['rule_id']}]({rule['documentation']})" if rule["documentation"] else rule["rule_id"]
        counts = ", ".join(f"{n} {st}" for st in ("passed", "failed", "error", "skipped")
                           if (n := sum(s["status"] == st for s in rule["scenarios"])))
        title = rule["title"].replace("<", "&lt;").replace(">", "&gt;")
        lines.append(f"| {link} | {title} | {rule['severity']} | {marks[rule['status']]} | {counts} | "
                     f"{detail.replace('|', '/')} |")
    lines += ["", "The SHA-256 is taken over the `rules` list of compliance.json, serialised with sorted keys "
                  "and no extra spaces changed: `python -c \"import json,hashlib;r=json.load(open('compliance.json'));"
                  "print(hashlib.sha256(json.dumps(r['rules'],sort_keys=True).encode()).hexdigest())\"`", ""]
    return "\n".join(lines)
