"""Every scenario names its rule, severity and documentation, and the rule ids hold together."""

import re

from run import ROOT

from sandbox.defects import DEFECTS
from suite.configuration.rules import LEVELS, MUST_RUN, SEVERITIES, WARNING

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


def test_a_level_is_known_and_never_warning_for_a_blocker_or_critical_rule():
    """@level:warning makes a failure a warning (the verdict stays conformant): only for a rule whose
    sentence a server may leave aside, never a blocker or critical one (tests/test_warning_level.py
    shows the suite refusing such a declaration)."""
    for feature, name, tags in _scenarios():
        levels = [t.removeprefix("@level:") for t in tags if t.startswith("@level:")]
        assert len(levels) <= 1 and set(levels) <= set(LEVELS), f"{feature}: {name}: {levels}"
        severity = next(t.removeprefix("@severity:") for t in tags if t.startswith("@severity:"))
        assert not (levels == [WARNING] and severity in MUST_RUN), f"{feature}: {name} is {severity} and warning-level"


def test_rule_ids_are_unique_to_one_feature_file():
    owner = {}
    for feature, _name, tags in _scenarios():
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
    from suite.configuration.rule_catalogue import catalogue

    entries = catalogue()
    known = {t.removeprefix("@rule:") for _, _, tags in _scenarios() for t in tags if t.startswith("@rule:")}
    assert not known - set(entries), f"rules without a sentence in features/rules.yaml: {sorted(known - set(entries))}"
    assert not set(entries) - known, f"features/rules.yaml names unknown rules: {sorted(set(entries) - known)}"
    for rule_id, entry in entries.items():
        assert entry.sources, f"{rule_id}: no source"
        for source in entry.sources:
            assert source.quote and source.url.startswith("https://") and source.source, f"{rule_id}: {source}"
        assert set(entry.needs) <= known, f"{rule_id} needs unknown rules {entry.needs}"

        def reaches(start, goal, seen=()):
            return any(
                n == goal or (n not in seen and reaches(n, goal, (*seen, n)))
                for n in entries[start].needs
                if n in entries
            )

        assert not reaches(rule_id, rule_id), f"{rule_id} needs itself through its needs"


def test_every_section_a_rule_quotes_is_among_its_scenarios_rfc_tags():
    """The report links a rule to its RFC and OpenID sections by the @rfc: tags; the sentence the
    rule enforces (features/rules.yaml) must be one of them, so the link reaches what is quoted."""
    from suite.configuration.rule_catalogue import catalogue

    tagged: dict[str, set] = {}
    for _, _, tags in _scenarios():
        rule_id = next(t for t in tags if t.startswith("@rule:")).removeprefix("@rule:")
        tagged.setdefault(rule_id, set()).update(t.removeprefix("@rfc:") for t in tags if t.startswith("@rfc:"))
    untagged = []
    for rule_id, entry in catalogue().items():
        for source in entry.sources:
            rfc = re.fullmatch(r"RFC (\d+) section ([\d.]+)", source.source)
            oidc = re.fullmatch(r"OpenID Connect Core 1\.0 section ([\d.]+)", source.source)
            tag = f"RFC{rfc[1]}-{rfc[2]}" if rfc else f"OIDC-{oidc[1]}" if oidc else None
            if tag and tag not in tagged.get(rule_id, set()):
                untagged.append(f"{rule_id}: @rfc:{tag}")
    assert untagged == []


def test_a_rule_a_switch_blocks_needs_a_rule_the_switch_breaks():
    """ "Blocked by" follows `needs` and `controls` (features/rules.yaml): a switch can only block a rule
    that relies, directly or through other rules, on one of the rules it breaks."""
    from suite.configuration.rule_catalogue import entry

    def relies_on(rule_id: str, seen=()) -> set:
        direct = (set(entry(rule_id).needs) | set(entry(rule_id).controls)) - set(seen)
        return direct.union(*(relies_on(need, (*seen, rule_id)) for need in direct))

    for defect in DEFECTS.values():
        for rule_id in defect.blocks:
            assert relies_on(rule_id) & set(defect.breaks), (
                f"{defect.name} blocks {rule_id}, which needs none of its breaks"
            )


def test_the_switches_under_which_no_code_is_redeemed_block_every_rule_that_needs_one():
    """One list of the rules that need a redeemed code (sandbox.defects.NEEDS_A_REDEEMED_CODE), not
    a copy of it per switch whose copies drift apart as rules are added."""
    from sandbox.defects import NEEDS_A_REDEEMED_CODE, NEEDS_A_WEB_APPS_CODE

    for name in ("pkce-s256-hex", "token-requires-session-cookie"):
        assert set(NEEDS_A_REDEEMED_CODE) <= set(DEFECTS[name].blocks), name
    # only a web app's redemption refused: the public clients' rules run
    assert set(NEEDS_A_WEB_APPS_CODE) <= set(DEFECTS["web-pkce-with-secret-refused"].blocks)
