"""The coverage map: which documented statements each rule checks (features/coverage_map.yaml).

Read by the compliance record and the rule table of docs/reference-rules.md, which link each rule back to its
statements, and by tests/test_coverage_map.py, which keeps the map true.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from suite.configuration.fast_yaml import safe_load

FEATURES = Path(__file__).resolve().parents[2] / "features"
COVERAGE_MAP = FEATURES / "coverage_map.yaml"
DOCUMENTATION = FEATURES / "documentation" / "developer-portal.txt"  # the pages, word for word


@dataclass(frozen=True)
class CoverageMap:
    statements: tuple[dict, ...]
    beyond_documentation: tuple[dict, ...]

    @property
    def mapped_rules(self) -> set[str]:
        return {r for s in self.statements for r in s.get("rules") or ()}

    @property
    def beyond_rules(self) -> set[str]:
        return {r for entry in self.beyond_documentation for r in entry["rules"]}

    def statements_of(self, rule_id: str) -> list[dict]:
        """The statements a rule checks: id, page, section and quote."""
        return [
            {k: s[k] for k in ("id", "page", "section", "quote")}
            for s in self.statements
            if rule_id in (s.get("rules") or ())
        ]

    def source_beyond(self, rule_id: str) -> str:
        return next((e["source"] for e in self.beyond_documentation if rule_id in e["rules"]), "")


@cache
def load_coverage_map() -> CoverageMap:
    raw = safe_load(COVERAGE_MAP.read_text(encoding="utf-8"))
    return CoverageMap(tuple(raw["statements"]), tuple(raw["beyond_documentation"]))
