"""Writes docs/reference-application-rules.md from appside/features and appside/features/rules.yaml:
every APPC rule with its title, severity, level, the rules it needs, why it is written as it is
(the scenario's description), and the sentences it enforces, quoted with their links, so that a
partner can read what its application will be held to before a run.

    .venv/bin/python scripts/application_rules_page.py           # writes the page
    .venv/bin/python scripts/application_rules_page.py --check   # exit 1 if the page is out of date

tests/test_docs.py runs the check: the page is the features, never a copy that drifts from them."""

import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from appside.record import CATALOGUE  # noqa: E402  (the project root on the path first)
from suite.configuration.rule_catalogue import catalogue  # noqa: E402
from suite.configuration.rules import WARNING, Rule, rule_of  # noqa: E402

FEATURES = ROOT / "appside" / "features"
PAGE = ROOT / "docs" / "reference-application-rules.md"
HEADER = """# Reference: application-side rules

The rules `make certify-app` holds a partner's application to (see
[certify-application.md](certify-application.md)), as `appside/features/*.feature` and
`appside/features/rules.yaml` state them: written from them by `scripts/application_rules_page.py`,
so this page is what the suite checks. A failed rule of any severity (**blocker**, **critical** or
**normal**) makes the application not conformant (exit 1), unless the rule is **warning-level**: a
warning-level rule's failure is reported and the verdict stands. A run that leaves out a blocker or
critical rule (not run, or could not be checked) is incomplete (exit 5; see
[reference-exit-codes.md](reference-exit-codes.md)). A rule that *needs* others is reported *blocked by* one
of them when that one's failure kept it from its own check (one cause, one failure): where its
evidence is there all the same, it is judged on it. The callback faults' rules (APPC-16, APPC-17,
APPC-18, APPC-25) judge an attempted redemption of the faulty callback's code, refused or not, so a
failed APPC-10 (the token request refused) does not block them; it, like the other rules they need,
blocks them only where no redemption was attempted at all. What no rule checks (open redirectors, the
userinfo `sub`, a server's own calls to other hosts) is in
[What the suite does not check](certify-application.md#what-the-suite-does-not-check). Back to the
[README](../README.md).

| rule | title | severity | level | needs |
|---|---|---|---|---|
"""


@dataclass
class Scenario:
    rule: Rule
    title: str
    description: list[str] = field(default_factory=list)


def scenarios() -> list[Scenario]:
    """Every APPC scenario, by rule id."""
    found: list[Scenario] = []
    for path in sorted(FEATURES.glob("*.feature")):
        feature_tags: list[str] = []
        pending: list[str] = []
        current: Scenario | None = None
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("@"):
                pending += stripped.split()
                current = None
            elif stripped.startswith("Feature:"):
                feature_tags, pending = pending, []
            elif stripped.startswith(("Scenario:", "Scenario Outline:")):
                rule = rule_of(tag.lstrip("@") for tag in feature_tags + pending)
                pending = []
                if rule is not None:
                    title = stripped.partition(":")[2].strip().removeprefix(rule.rule_id).strip()
                    current = Scenario(rule, title)
                    found.append(current)
            elif current is not None:
                if stripped.startswith(("Given ", "When ", "Then ", "And ", "But ", "Examples:", "|", "#")):
                    current = None  # the description ends where the steps begin
                elif stripped or current.description:
                    current.description.append(stripped)
    return sorted(found, key=lambda scenario: scenario.rule.rule_id)


def page() -> str:
    entries = catalogue(CATALOGUE)
    rows, sections = [], []
    for scenario in scenarios():
        rule, title = scenario.rule, scenario.title
        rule_id, description = rule.rule_id, " ".join(" ".join(scenario.description).split())
        entry = entries.get(rule_id)
        needs = ", ".join(entry.needs) if entry and entry.needs else "-"
        level = "warning" if rule.level == WARNING else "failure"
        rows.append(f"| [{rule_id}](#{rule_id.lower()}) | {title} | {rule.severity} | {level} | {needs} |")
        lines = [f"## {rule_id}", "", f"**{title}** ({rule.severity}, {level}-level)", ""]
        if description:
            lines += [description, ""]
        for source in entry.sources if entry else ():
            cited = f"[{source.source}]({source.url})" if source.url else source.source
            lines.append(f"- {cited}: \u201c{source.quote}\u201d")
        sections.append("\n".join(lines).rstrip() + "\n")
    return HEADER + "\n".join(rows) + "\n\n" + "\n".join(sections)


def main(argv: list[str]) -> int:
    text = page()
    if "--check" in argv:
        if PAGE.read_text(encoding="utf-8") != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run .venv/bin/python scripts/application_rules_page.py")
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
