"""Allure labels for a scenario: the documentation page as epic, the rule as story, its severity
and links, so a go-live board can read the report rule by rule."""

from collections.abc import Iterable

import allure

from suite.configuration.rules import DOC_PAGES, METADATA_PREFIXES, WARNING, Rule


def label_scenario(rule: Rule, title: str, tags: Iterable[str]) -> None:
    allure.dynamic.epic(DOC_PAGES.get(rule.page, rule.page or "Visma Connect"))
    allure.dynamic.story(f"{rule.rule_id} {title}")
    allure.dynamic.severity(allure.severity_level(rule.severity))
    allure.dynamic.label("rule_id", rule.rule_id)
    allure.dynamic.tag(rule.rule_id)
    if rule.level == WARNING:
        allure.dynamic.tag("warning-level")  # its failure is a warning: the verdict stays conformant
    for tag in sorted(tags):
        if not tag.startswith(METADATA_PREFIXES):
            allure.dynamic.tag(tag)
    if rule.doc_url:
        allure.dynamic.link(rule.doc_url, link_type="documentation", name=f"Documentation: {rule.doc}")
    for ref, url in zip(rule.rfc, rule.rfc_urls, strict=True):
        allure.dynamic.link(url, link_type="rfc", name=ref.replace("-", " section ", 1))
