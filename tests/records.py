"""Records of an application's certification, as the tests that render or judge one by hand write them:
what every such record holds besides the fields a test is about."""


def application_record(fields: dict) -> dict:
    """A record of a web application's run with `fields` (verdict, rules, counts, ...) over the rest."""
    return {
        "not_run_rules": [],
        "failed_rules": [],
        "blocked_rules": [],
        "error_rules": [],
        "environment": "application x (web)",
        "issuer": "http://localhost:1",
        "client_ids": {"web": "x"},
        "suite_version": "1",
        "started": "t0",
        "finished": "t1",
        "sandbox_defects": [],
        "tls_verification": "on",
        **fields,
    }
