"""What the secret tests read: everything a run left for people (its terminal and every file in its
reports folder), and the secrets found there."""

import base64
import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

import ahocorasick


def every_output(terminal: str, reports: Path, base: Path) -> dict[str, str]:
    """The terminal, and each file under `reports` as text, named by its path relative to `base`;
    PDFs are left out (their text is compressed: what they show is in the HTML they are printed from)."""
    outputs = {"terminal": terminal}
    outputs.update(
        {
            str(p.relative_to(base)): p.read_text(encoding="utf-8", errors="replace")
            for p in reports.rglob("*")
            if p.is_file() and p.suffix != ".pdf"
        }
    )
    return outputs


def leaked(outputs: dict[str, str], secrets: set[str], shown: int = 6) -> list[tuple[str, str]]:
    """(output, the secret's first `shown` characters) for each secret found in an output: whole, or
    the head or tail of a long one (pytest cuts long values in the middle)."""
    fragments = {secret: {secret, secret[:16], secret[-16:]} if len(secret) >= 32 else {secret} for secret in secrets}
    found = found_in(outputs, (part for parts in fragments.values() for part in parts))
    return [
        (name, secret[:shown] + "...")
        for name in outputs
        for secret, parts in fragments.items()
        if any(name in found.get(part, ()) for part in parts)
    ]


def found_in(outputs: dict[str, str], forms: Iterable[str]) -> dict[str, set[str]]:
    """{form: the names of the outputs holding it} for each of `forms` found in any: what `form in text`
    tells for each form and each output, in one Aho-Corasick pass over each output (a run's thousands of
    secrets' encodings searched one by one in each of its hundreds of outputs took a minute of a test)."""
    wanted = set(forms)
    found: dict[str, set[str]] = defaultdict(set)
    automaton = ahocorasick.Automaton()
    for form in wanted - {""}:
        automaton.add_word(form, form)
    if len(automaton):
        automaton.make_automaton()
        for name, text in outputs.items():
            for _, form in automaton.iter(text):
                found[form].add(name)
    if "" in wanted:  # in every text
        found[""] = set(outputs)
    return found


def encoded_forms(secret: str, client_id: str) -> set[str]:
    """`secret` as it is and as it is written where one is sent or recorded: URL- and form-encoded,
    JSON-escaped (with and without \\u escapes), as Python quotes it, and in the HTTP Basic credentials of
    `client_id` (form-encoded first, RFC 6749 section 2.3.1, and as they are)."""
    basic = (f"{quote_plus(client_id)}:{quote_plus(secret)}", f"{client_id}:{secret}")
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        *(base64.b64encode(credentials.encode()).decode() for credentials in basic),
    }
