"""The coverage map (features/coverage_map.yaml) stays true: every documented statement is quoted
where it stands, mapped to rules that exist or given a reason, and every rule is accounted for."""

import re

import yaml
from run import ROOT

from suite.configuration.coverage import DOCUMENTATION, load_coverage_map

FEATURE_RULE = re.compile(r"@rule:([A-Z]+-\d+)")


def _normalised(text: str) -> str:
    """Markdown emphasis and code quotes left out, whitespace collapsed."""
    return " ".join(text.replace("**", "").replace("`", "").split())


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _normalised(heading).lower()).strip("-")


def _lines_with_sections(text: str):
    """(page, sections the line stands under, line) for each line of the documentation copy."""
    page, stack = None, []
    for line in text.splitlines():
        heading = re.match(r"(#+) (.*)", line)
        if heading:
            level, slug = len(heading.group(1)), _slug(heading.group(2))
            if level == 1:
                page, stack = slug, []
            stack = [(lvl, s) for lvl, s in stack if lvl < level] + [(level, slug)]
        yield page, {s for _, s in stack}, _normalised(line)


def _feature_rule_ids() -> set[str]:
    return {m for path in (ROOT / "features").glob("*.feature") for m in FEATURE_RULE.findall(path.read_text())}


def test_every_quote_stands_on_its_page_under_its_section():
    lines = list(_lines_with_sections(DOCUMENTATION.read_text(encoding="utf-8")))
    for statement in load_coverage_map().statements:
        quote = _normalised(statement["quote"])
        assert any(
            page == statement["page"] and statement["section"] in sections and quote in line
            for page, sections, line in lines
        ), f"{statement['id']}: {statement['quote']!r} is not on {statement['page']} under #{statement['section']}"


def test_every_statement_has_rules_or_a_reason():
    for statement in load_coverage_map().statements:
        has_rules, has_reason = bool(statement.get("rules")), bool(statement.get("reason", "").strip())
        assert has_rules or has_reason, f"{statement['id']} names no rule and gives no reason"
        assert not (has_rules and has_reason), f"{statement['id']}: a reason is for statements no rule checks"


def test_statement_ids_are_unique():
    ids = [s["id"] for s in load_coverage_map().statements]
    assert len(ids) == len(set(ids)), "a statement id is used twice"


def test_every_listed_rule_exists():
    existing = _feature_rule_ids()
    coverage = load_coverage_map()
    for rule_id in coverage.mapped_rules | coverage.beyond_rules:
        assert rule_id in existing, f"features/coverage_map.yaml names {rule_id}, which no feature has"


def test_every_rule_of_the_features_is_mapped():
    coverage = load_coverage_map()
    for rule_id in sorted(_feature_rule_ids()):
        assert rule_id in coverage.mapped_rules | coverage.beyond_rules, (
            f"{rule_id} is in no statement of features/coverage_map.yaml and not in beyond_documentation: "
            "add it to the statements it checks, or to beyond_documentation with its source"
        )


def test_the_map_is_plain_yaml_with_known_keys():
    raw = yaml.safe_load((ROOT / "features" / "coverage_map.yaml").read_text())
    assert set(raw) == {"statements", "beyond_documentation"}
    for statement in raw["statements"]:
        assert set(statement) <= {"id", "page", "section", "quote", "rules", "reason"}, statement["id"]
    for entry in raw["beyond_documentation"]:
        assert set(entry) == {"rules", "source"} and entry["source"].strip(), entry


def _expanded(text: str, pattern: str) -> set[str]:
    """Ids written as in docs/reference-rules.md: "SI-06..18" is SI-06 to SI-18, "AUTH-07..08" AUTH-07 and AUTH-08."""
    ids = set()
    for prefix, first, last in re.findall(pattern, text):
        ids |= {f"{prefix}-{n:02d}" for n in range(int(first), int(last or first) + 1)}
    return ids


def _rule_table() -> list[list[str]]:
    page = (ROOT / "docs" / "reference-rules.md").read_text(encoding="utf-8")
    table = page.split("| feature file | rules | step module |", 1)[1].split("\n\n", 1)[0]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.splitlines()[2:]]


def test_the_reference_rule_table_names_the_statements_of_its_rules():
    coverage = load_coverage_map()
    rows = _rule_table()
    assert rows, "docs/reference-rules.md has no rule table"
    for row in rows:
        rules = _expanded(row[1], r"\b([A-Z]+)-(\d+)(?:\.\.(\d+))?")
        listed = _expanded(row[3].split("beyond")[0], r"\b(SI|II)-(\d+)(?:\.\.(\d+))?")
        mapped = {s["id"] for rule_id in rules for s in coverage.statements_of(rule_id)}
        assert listed == mapped, (
            f"docs/reference-rules.md's row for {row[1]} lists {sorted(listed)}, "
            f"but the map gives those rules {sorted(mapped)}"
        )


def test_the_reference_counts_are_the_maps():
    page = " ".join((ROOT / "docs" / "reference-rules.md").read_text(encoding="utf-8").split())
    statements = load_coverage_map().statements
    service = [s for s in statements if s["id"].startswith("SI-")]
    interactive = [s for s in statements if s["id"].startswith("II-")]
    checked = [s for s in statements if s.get("rules")]
    total = len(statements)
    assert (
        f"({total}: SI-01..{len(service):02d} from *Service Integrations*, II-01..{len(interactive):02d} from "
        "*Interactive Integrations*)"
    ) in page
    assert f"({total - len(checked)} statements describe the application" in page
    assert f"{len(checked)} of {total} are checked by at least one rule" in page
