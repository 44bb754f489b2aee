"""Configuration: what the suite is told before a run, read and checked: environment files and their
schema, waivers, the rule catalogue (rules.yaml), the rule tags of the feature files and the
coverage map. Uses only secrets."""
