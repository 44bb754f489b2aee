"""Every key the suite reads from an environment file is documented with an example in
docs/reference-environment-keys.md and appears in environments/partner-template.yaml."""

from run import ROOT

from suite.configuration.environment_schema import SCHEMA

PAGE = ROOT / "docs" / "reference-environment-keys.md"
TEMPLATE = ROOT / "environments" / "partner-template.yaml"
# What a partner's file for a real server has no use for: the embedded sandbox, and the browser
# login, which the template leaves to the files of servers that need one (oidc-provider.yaml).
NOT_IN_TEMPLATE = {"sandbox", "defects", "timeout", "pages", "url", "when", "actions", "fill", "value", "click", "wait"}


def _keys(schema: dict) -> set[str]:
    found = set()
    for name, sub in (schema.get("properties") or {}).items():
        found.add(name)
        found |= _keys(sub)
        found |= _keys(sub.get("items") or {})
    return found


def test_every_schema_key_is_on_the_reference_page():
    page = PAGE.read_text(encoding="utf-8")
    missing = sorted(key for key in _keys(SCHEMA) if f"`{key}" not in page and f".{key}`" not in page)
    assert missing == [], f"not in {PAGE.name}: {missing}"


def test_every_key_a_partner_may_need_is_in_the_template():
    template = TEMPLATE.read_text(encoding="utf-8")
    missing = sorted(key for key in _keys(SCHEMA) - NOT_IN_TEMPLATE if f"{key}:" not in template)
    assert missing == [], f"not in {TEMPLATE.name}: {missing}"
