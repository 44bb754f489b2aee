"""The rule catalogue (features/rules.yaml): the sentence each rule enforces, with its source,
and the rules its scenario relies on before it reaches its own check.

A documentation sentence that features/coverage_map.yaml already quotes is named there by its
statement id (`- statement: II-21`) rather than quoted twice; the RFC sentences live here."""

import functools
from dataclasses import dataclass, field
from pathlib import Path

from suite.configuration.coverage import load_coverage_map
from suite.configuration.fast_yaml import safe_load
from suite.configuration.rules import DOC_PAGES, DOCS_BASE

CATALOGUE = Path(__file__).resolve().parents[2] / "features" / "rules.yaml"


@dataclass(frozen=True)
class Source:
    source: str  # as a person cites it: "RFC 6749 section 5.2", "Service Integrations, Token Request"
    url: str
    quote: str


@dataclass(frozen=True)
class RuleEntry:
    sources: tuple[Source, ...]
    needs: tuple[str, ...] = field(default=())
    # A refusal rule's positive controls: the rules that show the same client's request granted. A
    # refusal counts only where they passed in the same run (suite/verdict/blocking.py).
    controls: tuple[str, ...] = field(default=())

    def as_record(self) -> list[dict]:
        return [{"source": s.source, "url": s.url, "quote": s.quote} for s in self.sources]


@functools.cache
def catalogue(path: Path = CATALOGUE) -> dict[str, RuleEntry]:
    data = safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        rule_id: RuleEntry(
            tuple(_source(s) for s in entry.get("sources") or ()),
            tuple(entry.get("needs") or ()),
            tuple(entry.get("controls") or ()),
        )
        for rule_id, entry in data.items()
    }


def entry(rule_id: str) -> RuleEntry:
    """The rule's entry; a rule missing from the catalogue has no sentence and needs nothing."""
    return catalogue().get(rule_id, RuleEntry(()))


def _source(data: dict) -> Source:
    if "statement" in data:
        return _statement(data["statement"])
    url = data.get("url") or (f"{DOCS_BASE}/{data['doc']}" if data.get("doc") else "")
    return Source(data["source"], url, " ".join(str(data["quote"]).split()))


def _statement(statement_id: str) -> Source:
    """A documentation sentence quoted by the coverage map, cited as the catalogue cites the pages."""
    found = next((s for s in load_coverage_map().statements if s["id"] == statement_id), None)
    if found is None:
        raise KeyError(f"features/rules.yaml names statement {statement_id}, which features/coverage_map.yaml lacks")
    section = found["section"]
    words = section.replace("-", " ").title().replace(" For ", " for ")
    title = DOC_PAGES.get(found["page"], found["page"])
    cited = title if section == found["page"] else f"{title}, {words}"
    return Source(cited, f"{DOCS_BASE}/{found['page']}#{section}", " ".join(str(found["quote"]).split()))
