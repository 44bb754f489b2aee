"""The Allure results, made readable for the person who fixes a failure, once the run is over and
every rule's outcome is known (with pytest-xdist, in the controller, after the workers wrote them):

- each test case opens on the sentence its rule enforces, quoted with its source and link
  (features/rules.yaml), not the feature's general description;
- a failure says what the rule expects and what the server did, side by side (Allure's
  expected/actual), and its trace starts at the step, not in pytest's internals;
- a scenario blocked by an earlier failure is shown as skipped "blocked by <rule>", and an
  environment problem as broken, not as one more non-conformance; one that failed with nothing to
  judge (not applicable after a warning-level rule's failure, or not checked) as skipped, with why;
- a warning-level rule whose check failed stays failed, its message opening on "Warning:" (its own
  category in allurerc.mjs): the check did fail, and Allure's status is the test case's, not the
  verdict's. Skipped would put it among the rules that do not apply, broken among environment
  problems and suite faults, unknown would say there is no result; the verdict banner says the
  run is conformant with a warning;
- step parameters are the values written in the scenario (client role, outline values), not the
  fixtures' object dumps with memory addresses and local paths;
- every result names its environment: a label (`conformance_environment`, for allurerc.mjs
  `environments`) and a hidden parameter, because Allure 3 keys history by the test case and its
  non-excluded parameters only: so a run with defects on, or against staging, has a history of
  its own and never makes a production rule look flaky."""

import json
import re
from collections.abc import Iterable
from pathlib import Path

from suite.secrets.redaction import said

ENVIRONMENT_LABEL = "conformance_environment"
FIXTURE_PARAMETERS = {"state", "environment", "discovery", "request", "pytestconfig"}
_OBJECT_DUMP = re.compile(r"^\w+\(|<[\w.]+ object at 0x|PosixPath\(")
# A frame as pytest prints it (`path:12: in f`, the test's trace) or as Python does
# (`  File "path", line 12, in f`, a step's trace).
_FRAME = re.compile(r'^(?P<path>[^\s:][^:]*):\d+: in |^\s*File "(?P<file>[^"]+)", line \d+, in ')
ROOT = str(Path(__file__).resolve().parents[2]) + "/"


def environment_id(record: dict) -> str:
    """One history per environment; a run with sandbox defects switched on is another one."""
    name = record.get("environment") or "unknown"
    return f"{name}-with-defects" if record.get("sandbox_defects") else name


def present_results(results_dir: Path, record: dict) -> None:
    scenarios = {s["name"]: (rule, s) for rule in record.get("rules", []) for s in rule["scenarios"]}
    env_id = environment_id(record)
    for path in results_dir.glob("*-result.json"):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        result.setdefault("labels", []).append({"name": ENVIRONMENT_LABEL, "value": env_id})
        _readable_parameters(result)
        result.setdefault("parameters", []).append({"name": ENVIRONMENT_LABEL, "value": env_id, "mode": "hidden"})
        _local_paths_out(result)
        _traces_from_the_step(result)
        found = scenarios.get(result.get("name"))
        if found:
            rule, scenario = found
            _present_rule(result, rule)
            _present_outcome(result, rule, scenario, record.get("waivers", ()))
        path.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def _present_rule(result: dict, rule: dict) -> None:
    sources = rule.get("sources") or []
    if sources:
        result["description"] = "\n\n".join(f"> {s['quote']}\n\n[{s['source']}]({s['url']})" for s in sources)
        result.pop("descriptionHtml", None)
    known = {link.get("url") for link in result.get("links", [])}
    for source in sources:
        if source["url"] not in known:
            result.setdefault("links", []).append({"type": "link", "name": source["source"], "url": source["url"]})
            known.add(source["url"])


def _present_outcome(result: dict, rule: dict, scenario: dict, record_waivers: Iterable[dict] = ()) -> None:
    details = result.setdefault("statusDetails", {})
    status = scenario["status"]
    if status == "skipped" and result.get("status") in ("failed", "broken"):
        # pytest saw it fail; the record found nothing to judge (suite/verdict/blocking.py): no failure
        result["status"] = "skipped"
        details["message"] = scenario["reason"]
        details.pop("trace", None)
        return
    if status == "blocked":
        result["status"] = "skipped"
        reason = scenario["reason"]
        details["message"] = f"{reason[:1].upper()}{reason[1:]}. {rule['rule_id']} itself was not checked."
        details.pop("trace", None)
        return
    if status == "waived":
        result["status"] = "skipped"  # a failure accepted for a while: counted apart, never as a pass
        waiver = next((w for w in record_waivers if w["rule"] == rule["rule_id"]), None)
        details["message"] = f"Waived: {rule['rule_id']} is not kept: {scenario['reason']}" + (
            f"\n\nAccepted by {waiver['accepted_by']} until {waiver['expires']} (ref. {waiver['reference']}): "
            f"{waiver['reason']}"
            if waiver
            else ""
        )
        return
    if status == "error":
        result["status"] = "broken"
        details["message"] = f"Environment problem (no verdict on {rule['rule_id']}): {scenario['reason']}"
        return
    if status not in ("failed", "warned"):
        return
    result["status"] = "failed"
    message = said(scenario["reason"])
    difference = scenario.get("difference")
    if difference:  # the two values the check compared: what Allure's "Show difference" sets side by side
        expected, actual = difference["expected"], difference["received"]
    else:
        expected, actual = expected_and_actual(message, rule)
    quote = rule["sources"][0] if rule.get("sources") else None
    warning = "Warning: a warning-level rule, the verdict stands. " if status == "warned" else ""
    details["message"] = f"{warning}{rule['rule_id']} is not kept: {message}" + (
        f'\n\nThe rule: "{quote["quote"]}" ({quote["source"]}, {quote["url"]})' if quote else ""
    )
    details["expected"], details["actual"] = expected, actual


def _traces_from_the_step(node: dict) -> None:
    """The test's trace and each failed step's: a step's is Python's own, from pytest-bdd's caller."""
    details = node.get("statusDetails") or {}
    if details.get("trace"):
        details["trace"] = trace_from_the_step(details["trace"])
    for step in node.get("steps") or []:
        _traces_from_the_step(step)


def expected_and_actual(message: str, rule: dict) -> tuple[str, str]:
    """What the rule expects and what the server did, in words. Failure messages say it as "<what
    happened>; expected <what should>" or "<what happened>, not <what should>"; otherwise the
    rule's sentence is what was expected."""
    text = re.sub(r"\s*\((RFC|Visma|OpenID)[^()]*\)\s*$", "", message)  # a trailing citation
    for separator in ("; expected ", "; the environment expects ", ", not "):
        head, found, tail = text.partition(separator)
        if found and head and tail:
            return f"expected: {tail.strip().rstrip('.')}", f"the server: {head.strip()}"
    sources = rule.get("sources") or []
    return f"expected: {sources[0]['quote'] if sources else rule.get('title', '')}", f"the server: {text}"


def trace_from_the_step(trace: str) -> str:
    """Drop the frames of pytest and its plugins before the first frame of the suite's own code."""
    lines = trace.splitlines()
    for index, line in enumerate(lines):
        match = _FRAME.match(line)
        path = match and (match["path"] or match["file"])
        if path and "site-packages" not in path and not path.startswith("/"):
            return "\n".join(lines[index:])
    return trace


def _local_paths_out(node: dict) -> None:
    """A skip's "trace" is pytest's (path, line, reason) tuple: the reason is already the message.
    Other traces name files relative to the repository, not this machine's folders."""
    details = node.get("statusDetails") or {}
    if node.get("status") == "skipped" and details.get("trace", "").startswith("('"):
        details.pop("trace")
    elif details.get("trace"):
        details["trace"] = details["trace"].replace(ROOT, "")
    for step in node.get("steps") or []:
        _local_paths_out(step)


def _readable_parameters(node: dict) -> None:
    parameters = []
    for parameter in node.get("parameters") or []:
        name, value = parameter.get("name", ""), str(parameter.get("value", ""))
        if name in FIXTURE_PARAMETERS or _OBJECT_DUMP.search(value):
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        parameters.append({**parameter, "value": value})
    if "parameters" in node:
        node["parameters"] = parameters
    for step in node.get("steps") or []:
        _readable_parameters(step)
