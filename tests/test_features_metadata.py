"""Every scenario names its rule, severity and documentation, and the rule ids hold together."""


from run import ROOT

from sandbox.defects import DEFECTS
from suite.rules import SEVERITIES

FEATURES = sorted((ROOT / "features").glob("*.feature"))


def _scenarios():
    for path in FEATURES:
        feature_tags: list[str] = []
        pending: list[str] = []
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("@"):
                pending += stripped.split()
            elif stripped.startswith("Feature:"):
                feature_tags, pending = pending, []
            elif stripped.startswith(("Scenario:", "Scenario Outline:")):
                yield path.name, stripped.split(":", 1)[1].strip(), feature_tags + pending
                pending = []


def test_every_scenario_has_one_rule_a_severity_and_a_documentation_link():
    for feature, name, tags in _scenarios():
        rules = [t for t in tags if t.startswith("@rule:")]
        assert len(rules) == 1, f"{feature}: {name} needs exactly one @rule: tag"
        rule_id = rules[0].removeprefix("@rule:")
        assert name.startswith(rule_id + " "), f"{feature}: {name} must start with its rule id {rule_id}"
        severities = [t.removeprefix("@severity:") for t in tags if t.startswith("@severity:")]
        assert len(severities) == 1 and severities[0] in SEVERITIES, f"{feature}: {name}"
        assert any(t.startswith(("@doc:", "@rfc:")) for t in tags), f"{feature}: {name} links no source"


def test_rule_ids_are_unique_to_one_feature_file():
    owner = {}
    for feature, name, tags in _scenarios():
        rule_id = next(t for t in tags if t.startswith("@rule:"))
        assert owner.setdefault(rule_id, feature) == feature, f"{rule_id} is used in two feature files"


def test_every_defect_names_existing_rules():
    known = {t.removeprefix("@rule:") for _, _, tags in _scenarios() for t in tags if t.startswith("@rule:")}
    for defect in DEFECTS.values():
        assert defect.breaks and set(defect.breaks) | set(defect.blocks) <= known, f"{defect.name} names unknown rules"
        assert not set(defect.breaks) & set(defect.blocks), f"{defect.name}: a rule either fails or is blocked"


def test_every_rule_quotes_its_sentence_in_the_catalogue():
    """features/rules.yaml: each rule's sentence, word for word, with a link to its section; the
    rules it needs exist and never need themselves (a cycle would block a rule by itself)."""
    from suite.rule_catalogue import catalogue
    entries = catalogue()
    known = {t.removeprefix("@rule:") for _, _, tags in _scenarios() for t in tags if t.startswith("@rule:")}
    assert not known - set(entries), f"rules without a sentence in features/rules.yaml: {sorted(known - set(entries))}"
    assert not set(entries) - known, f"features/rules.yaml names unknown rules: {sorted(set(entries) - known)}"
    for rule_id, entry in entries.items():
        assert entry.sources, f"{rule_id}: no source"
        for source in entry.sources:
            assert source.quote and source.url.startswith("https://") and source.source, f"{rule_id}: {source}"
        assert set(entry.needs) <= known, f"{rule_id} needs unknown rules {entry.needs}"

        def reaches(start, seen=()):
            return any(n == rule_id or (n not in seen and reaches(n, (*seen, n))) for n in entries[start].needs
                       if n in entries)
        assert not reaches(rule_id), f"{rule_id} needs itself through its needs"
