"""Keeps secrets out of everything the suite writes: reports, logs, the terminal, JUnit XML.

Two layers: exchanges are redacted field by field (headers, form and JSON fields, query
parameters that are secret by name), and every text leaving the suite is scrubbed of every
secret value it has seen (the environment's secrets and each token, code and verifier the
scenarios handled), in every encoding a server or the suite may have written it in, so that a
secret echoed in an odd place is still caught.

Scrubbing is one Aho-Corasick pass per group of secrets (pyahocorasick, in C). Secrets are
learned one exchange at a time, so the groups are kept as a binary counter (Bentley-Saxe): a
new secret starts a group of one, and two groups of the same size are merged. Learning N
secrets builds O(N log N) in all, and a scrub costs O(text x log N), instead of rebuilding one
growing pattern per secret.
"""

import base64
import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus

import ahocorasick

# Names of fields, parameters and headers whose values are secret wherever they appear.
SECRET_FIELDS = frozenset({
    "client_secret", "password", "access_token", "refresh_token", "id_token", "code",
    "code_verifier", "token", "client_assertion", "authorization", "cookie", "set-cookie",
})
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words
MIN_BASE64_CORE = 8    # the part of a base64 encoding that depends on the secret alone
_PERCENT_ESCAPE = re.compile("%[0-9A-F]{2}")
# Characters that URL encoders in use leave as they are: none, Python's quote default, browsers'
# forms, JavaScript's encodeURIComponent, RFC 3986 sub-delimiters (requests' re-quoting).
_URL_SAFE_SETS = ("", "/", "*-._", "-_.!~*'()", "/:@!$&'()*+,;=")


def encodings(value: str) -> set[str]:
    """Every form in which `value` can appear in a text the suite writes: raw, URL-encoded
    (%20 and + for a space, upper and lower case hex), JSON-escaped (with and without \\/ and
    \\uXXXX escapes; once, and twice for JSON quoted inside a JSON string), and base64 wherever
    it sits inside an encoded blob (HTTP Basic encodes `client_id:secret`, URL-encoded first,
    RFC 6749 section 2.3.1)."""
    forms = {value} | {encode(value, safe=safe) for encode in (quote, quote_plus) for safe in _URL_SAFE_SETS}
    forms |= {_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), f) for f in forms}
    once = (json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1])
    for escaped in (*once, *(json.dumps(e)[1:-1] for e in once)):  # twice: JSON quoted inside JSON
        forms |= {escaped, escaped.replace("/", "\\/")}
    for text in {value, quote_plus(value, safe=""), quote(value, safe="")}:
        forms |= _base64_cores(text.encode())
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def _base64_cores(data: bytes) -> set[str]:
    """The characters of base64(prefix + data + suffix) that depend only on `data`, for each of
    the three alignments `data` can have, in standard and URL-safe alphabets."""
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode()
        start = -(-shift * 4 // 3)           # characters touched by the prefix
        end = (shift + len(data)) // 3 * 4   # characters not touched by the suffix
        core = encoded[start + (1 if shift else 0):end]
        if len(core) >= MIN_BASE64_CORE:
            cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


class _Group:
    """An Aho-Corasick automaton over the encodings of some secrets."""

    def __init__(self, labels: dict[str, str]):
        self.labels = labels  # encoding -> label
        self.automaton = ahocorasick.Automaton()
        for form, label in labels.items():
            self.automaton.add_word(form, (len(form), label))
        self.automaton.make_automaton()

    def matches(self, text: str):
        """Every occurrence, overlapping ones too: the caller joins them."""
        for end, (length, label) in self.automaton.iter(text):
            yield end + 1 - length, end + 1, label


class Redactor:
    def __init__(self):
        self._known: set[str] = set()
        self._groups: list[_Group] = []   # sizes strictly decreasing, as a binary counter's bits
        self._fields = set(SECRET_FIELDS)
        self._lock = threading.Lock()

    def register(self, value, label: str) -> None:
        """From now on, `value` is shown as [label] wherever and however encoded it appears."""
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value in self._known:
                return
            self._known.add(value)
            labels, groups = {form: label for form in encodings(value)}, list(self._groups)
            while groups and len(groups[-1].labels) <= len(labels):
                labels = {**groups.pop().labels, **labels}
            self._groups = groups + [_Group(labels)]  # one assignment: a scrub sees the old or the new list

    def secret_field(self, name: str) -> None:
        """A field, parameter or header name whose value is secret (e.g. a login form's own
        password field, login.form.password_field)."""
        with self._lock:
            self._fields.add(name.lower())

    def is_secret_field(self, name: str) -> bool:
        return name.lower() in self._fields

    def mask(self, name: str) -> str:
        return f"[{name.lower()} redacted]"

    def scrub(self, text: str) -> str:
        if not text:
            return text
        groups = self._groups  # never mutated, only replaced: a consistent snapshot
        found = sorted((m for group in groups for m in group.matches(text)), key=lambda m: (m[0], -m[1]))
        if not found:
            return text
        pieces, position = [], 0
        for start, end, label in found:
            if start < position:  # overlaps what is masked already: mask the union
                position = max(position, end)
                continue
            pieces += [text[position:start], f"[{label}]"]
            position = end
        pieces.append(text[position:])
        return "".join(pieces)

    def fields(self, pairs: dict) -> dict:
        """A copy of a mapping (form, JSON, headers, query) with secret fields masked, nested
        objects and lists included."""
        return {k: self.mask(k) if self.is_secret_field(str(k)) and v else self.masked(v) for k, v in pairs.items()}

    def masked(self, value):
        """A JSON value with every secret field inside it masked."""
        if isinstance(value, dict):
            return self.fields(value)
        if isinstance(value, list):
            return [self.masked(v) for v in value]
        return value


REDACTOR = Redactor()


MAX_LINE = 2000  # characters of one line of a message: a server's value is shown, not copied whole


def readable(text: str | None) -> str | None:
    """A message or trace as people read it: scrubbed of every secret, then every line longer
    than MAX_LINE cut (an error_description of megabytes would fill the terminal, JUnit and the
    record; the exchange attached to the report keeps the whole body)."""
    if not text:
        return text
    return "\n".join(line if len(line) <= MAX_LINE else f"{line[:MAX_LINE]}... ({len(line)} characters)"
                     for line in REDACTOR.scrub(text).split("\n"))


def excerpt(text: str, limit: int = 200) -> str:
    """The head of a body for a message, quoted: scrubbed first, then cut, so that no head of a
    secret the cut would split can survive."""
    return repr(REDACTOR.scrub(text)[:limit])


def scrub_all_logging() -> None:
    """Every log record made in this process, by any library, is scrubbed as it is created."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "scrubs_secrets", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record
        record.msg, record.args = REDACTOR.scrub(message), None
        return record

    factory.scrubs_secrets = True
    logging.setLogRecordFactory(factory)
