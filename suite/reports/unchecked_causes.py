"""Scenarios that could not be checked for an environment problem (an endpoint that timed out earlier
in the run, a server that stopped answering), as the terminal shows them. pytest counted each as
failed: a FAILED line and its cause in the FAILURES section, sixty lines of one slow login page's
timeout before the verdict. The terminal counts them as `could not be checked` instead and prints
each cause once, with how many scenarios it stopped; the record keeps every scenario's own reason.
A configuration problem keeps its own lines (the first in full, the others "the same cause as ...":
suite.reports.results.ResultRecorder._once_per_cause), a failure and a blocked scenario theirs."""

import re

UNCHECKED = "could not be checked"

# A URL's query, which names the client and the state of each request to the same page.
URL_QUERY = re.compile(r"(https?://[^\s?#]+)[?#][^\s]*")


def _unchecked(record: dict) -> list[dict]:
    """The record's scenarios that could not be checked for a cause other than the configuration."""
    return [
        scenario
        for rule in record["rules"]
        for scenario in rule["scenarios"]
        if scenario["status"] == "error" and not str(scenario["reason"]).startswith("configuration problem")
    ]


def unchecked_ids(record: dict) -> set[str]:
    return {scenario["id"] for scenario in _unchecked(record)}


def cause_lines(record: dict) -> list[str]:
    """One line per cause (requests to the same page with another query are one cause): the first
    scenario's reason, and how many scenarios it stopped."""
    causes: dict[str, list[dict]] = {}
    for scenario in _unchecked(record):
        causes.setdefault(URL_QUERY.sub(r"\1", str(scenario["reason"])), []).append(scenario)
    lines = []
    for scenarios in causes.values():
        first, more = scenarios[0], len(scenarios) - 1
        others = f" and {more} more scenario(s), each in the record" if more else ""
        lines.append(f"{UNCHECKED}: {first['name']}{others}: {first['reason']}")
    return lines
