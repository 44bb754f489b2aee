"""Rule metadata carried by Gherkin tags: @rule:SVC-01 @severity:critical @doc:<page>#<section> @rfc:<ref>,
and @level:warning for a rule whose failure is a warning: reported wherever a failure is, but the
verdict stays conformant ("conformant with 1 warning"). Only a rule the documentation leaves to
the server's choice (a preference it may ignore) is warning-level; a blocker or critical rule
never is, since a server that breaks it cannot be called conformant."""

import difflib
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from suite.configuration.command_line import option_values

# The Visma.net API documentation site; the paths are those of the seed copies' pages.
DOCS_BASE = "https://docs.developers.visma.com/vismanetapi/setting-up-your-integration/developer-portal"
DOC_PAGES = {
    "service-integrations": "Service Integrations",
    "interactive-integrations": "Interactive Integrations",
    "discovery": "OpenID Connect Discovery",
}
RFC_LINKS = {
    "RFC6749": "https://www.rfc-editor.org/rfc/rfc6749",
    "RFC7636": "https://www.rfc-editor.org/rfc/rfc7636",
    "RFC9207": "https://www.rfc-editor.org/rfc/rfc9207",
    "RFC8414": "https://www.rfc-editor.org/rfc/rfc8414",
    "RFC9068": "https://www.rfc-editor.org/rfc/rfc9068",
    "RFC9700": "https://www.rfc-editor.org/rfc/rfc9700",
    "RFC6750": "https://www.rfc-editor.org/rfc/rfc6750",
    "RFC9110": "https://www.rfc-editor.org/rfc/rfc9110",
    "RFC7009": "https://www.rfc-editor.org/rfc/rfc7009",
    "RFC7517": "https://www.rfc-editor.org/rfc/rfc7517",
    "RFC7519": "https://www.rfc-editor.org/rfc/rfc7519",
    "OIDCDISCOVERY": "https://openid.net/specs/openid-connect-discovery-1_0.html",  # OpenID Connect Discovery 1.0
    "OIDC": "https://openid.net/specs/openid-connect-core-1_0.html",  # OpenID Connect Core 1.0
}
FEATURES = Path(__file__).resolve().parents[2] / "features"
METADATA_PREFIXES = ("rule:", "severity:", "doc:", "rfc:", "level:")
SEVERITIES = ("blocker", "critical", "normal", "minor", "trivial")
# A run that leaves out one of these (by --rule, -k, -m, a feature path or an interruption) is
# incomplete: it cannot call a server conformant. Nor can one of them be warning-level.
MUST_RUN = ("blocker", "critical")
FAILURE, WARNING = "failure", "warning"  # what a failed check of the rule is (@level:, default failure)
LEVELS = (FAILURE, WARNING)


class RuleMetadataProblem(ValueError):
    """A scenario's tags declare what no rule may be (e.g. a critical rule at warning level)."""


@dataclass
class Rule:
    rule_id: str
    severity: str = "normal"
    doc: str = ""
    rfc: list = field(default_factory=list)
    level: str = FAILURE

    @property
    def page(self) -> str:
        return self.doc.split("#")[0]

    @property
    def doc_url(self) -> str:
        if self.page == "discovery":  # OpenID Connect Discovery 1.0, at the section's own anchor
            section = self.doc.partition("#")[2]
            return "https://openid.net/specs/openid-connect-discovery-1_0.html" + (f"#{section}" if section else "")
        return f"{DOCS_BASE}/{self.doc}" if self.doc else ""

    @property
    def rfc_urls(self) -> list[str]:
        urls = []
        for ref in self.rfc:
            spec, _, section = ref.partition("-")
            anchor = "#rfc.section." if spec.startswith("OIDC") else "#section-"
            urls.append(RFC_LINKS.get(spec, "") + (f"{anchor}{section}" if section else ""))
        return urls


def rule_of(tags: Iterable[str]) -> Rule | None:
    values: dict[str, list[str]] = {}
    for tag in tags:
        key, _, value = tag.partition(":")
        values.setdefault(key, []).append(value)
    if "rule" not in values:
        return None
    rule = Rule(
        rule_id=values["rule"][0],
        severity=values.get("severity", ["normal"])[0],
        doc=max(values.get("doc", [""]), key=len),  # the scenario's section beats the feature's page
        rfc=sorted(values.get("rfc", [])),
        level=values.get("level", [FAILURE])[0],
    )
    if rule.level not in LEVELS:
        raise RuleMetadataProblem(
            f"{rule.rule_id}: @level:{rule.level} is no level; a rule is @level:warning or, by default, {FAILURE}"
        )
    if rule.level == WARNING and rule.severity in MUST_RUN:
        raise RuleMetadataProblem(
            f"{rule.rule_id}: a {rule.severity} rule cannot be @level:warning: a server "
            "that breaks it is not conformant, whatever else it does"
        )
    return rule


def declared_rules(features: Path = FEATURES) -> dict[str, str]:
    """Every rule id the feature files declare, with its severity (the scenario's tag, or the feature's)."""
    return {rule_id: rule.severity for rule_id, rule in _declared(features).items()}


def warning_level_rules(features: Path = FEATURES) -> set[str]:
    """The rule ids declared @level:warning: their failure leaves the verdict conformant."""
    return {rule_id for rule_id, rule in _declared(features).items() if rule.level == WARNING}


def rule_option_values(arguments: list[str]) -> list[str]:
    """The values of --rule in a command line (--rule=ID or --rule ID)."""
    return option_values(arguments, "--rule")


def unknown_rules(wanted: list[str], features: Path = FEATURES) -> list[str]:
    """One line for each --rule value that names no rule the feature files declare, neither an id
    (case aside) nor a prefix of ids (SVC, SVC-), with the id it is closest to: such a --rule ran
    nothing, and its "incomplete" record replaced the previous run's."""
    declared = sorted(declared_rules(features))
    prefixes = {rule_id.rsplit("-", 1)[0] for rule_id in declared}
    lines = []
    for value in wanted:
        chosen = value.upper().rstrip("-")
        if chosen in declared or chosen in prefixes:
            continue
        close = difflib.get_close_matches(chosen, declared + sorted(prefixes), n=1, cutoff=0.5)
        mean = f" Did you mean {close[0]}?" if close else ""
        lines.append(
            f"--rule {value[:40]}: no such rule.{mean} Give a rule id (e.g. {declared[0]}) or a prefix, "
            f"which runs all of its rules: {', '.join(sorted(prefixes))}"
        )
    return lines


@functools.cache
def _declared(features: Path) -> dict[str, Rule]:
    rules = {}
    for path in sorted(features.glob("*.feature")):
        feature_tags, pending = [], []
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith("@"):
                pending += stripped.split()
            elif stripped.startswith("Feature:"):
                feature_tags, pending = pending, []
            elif stripped.startswith(("Scenario:", "Scenario Outline:", "Examples:")):
                rule = rule_of(tag.lstrip("@") for tag in feature_tags + pending)
                if rule is not None and not stripped.startswith("Examples:"):
                    rules[rule.rule_id] = rule
                pending = []
    return rules


def rule_title(scenario_name: str) -> str:
    """A rule's title for people, from its scenario's name as written: an outline's placeholders
    stand for its rows (one per app type, per variation), and the rule is all of them, so "The
    <role> app redeems ..." reads "Each app redeems ...", a "(<kind>)" of variations goes (a
    "(<kind>, <where>)" too), and any other <name> reads "each documented name"."""
    title = re.sub(r"\s*\(<\w+>(?:, <\w+>)*\)", "", scenario_name)
    title = re.sub(r"\b([Tt])he <role> app\b", lambda m: ("E" if m[1] == "T" else "e") + "ach app", title)
    title = re.sub(r"\bgrant type <\w+>", "grant types", title)
    return re.sub(r"<(\w+)>", lambda m: "each documented " + m[1].replace("_", " "), title)
