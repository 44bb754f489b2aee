"""Keeps secrets out of everything the suite writes: reports, logs, the terminal, JUnit XML.

Two layers: exchanges are redacted field by field (headers, form and JSON fields, query
parameters that are secret by name), and every text leaving the suite is scrubbed of every
secret value it has seen (the environment's secrets and each token, code and verifier the
scenarios handled), in every encoding a server or the suite may have written it in, so that a
secret echoed in an odd place is still caught.

Scrubbing is one Aho-Corasick pass per group of secrets (pyahocorasick, in C), plus a plain
substring search (str.find) for each encoding learned since the last group was built. A
detection-matrix process learns thousands of secrets (2058 in 11 defect sets, 8800 encodings of
3.3 million characters: a JWT's base64 forms are most of them) and scrubs few texts, so learning
only computes a secret's encodings and adds them to the pending list. Building costs about 200
times what searching costs per character (BUILD_COST), so a scrub searches the pending encodings
one by one until the searching has cost as much as building them would, and then builds them into
a group (a ski rental: never more than twice the cheaper choice); a text much longer than the
encodings, such as a hostile multi-megabyte body, builds them at once. MAX_PENDING bounds what one
short text is searched for. A scrub never misses a learned secret: each is pending or in a group.

The groups are kept as a binary counter (Bentley-Saxe): a new group is merged with the last ones
until each is at least twice the size of the next, so an encoding is built O(log N) times and a
scrub makes at most log2(N) + 1 automaton passes over a long text. Replaying the secrets and
scrubs of an 11-set matrix process, building each secret into a group as it was learned took
1.4-1.7 s of CPU (2058 builds, 17.9 million characters), and this 0.7-0.75 s (5 builds, 4.4
million characters: the rest is computing encodings and searching); merging four or eight groups
at a time instead saved less and made more passes.
"""

import base64
import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import ahocorasick

# Names of fields, parameters and headers whose values are secret wherever they appear.
SECRET_FIELDS = frozenset(
    {
        "client_secret",
        "password",
        "access_token",
        "refresh_token",
        "id_token",
        "code",
        "code_verifier",
        "token",
        "client_assertion",
        "authorization",
        "cookie",
        "set-cookie",
    }
)
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words
MIN_BASE64_CORE = 8  # the part of a base64 encoding that depends on the secret alone
_PERCENT_ESCAPE = re.compile("%[0-9A-F]{2}")
# Characters that URL encoders in use leave as they are: none, Python's quote default, browsers'
# forms, JavaScript's encodeURIComponent, RFC 3986 sub-delimiters (requests' re-quoting).
_URL_SAFE_SETS = ("", "/", "*-._", "-_.!~*'()", "/:@!$&'()*+,;=")


def encodings(value: str) -> set[str]:
    """Every form in which `value` can appear in a text the suite writes: raw, URL-encoded
    (%20 and + for a space, upper and lower case hex), JSON-escaped (with and without \\/ and
    \\uXXXX escapes; once, and twice for JSON quoted inside a JSON string), and base64 wherever
    it sits inside an encoded blob (HTTP Basic encodes `client_id:secret`, URL-encoded first,
    RFC 6749 section 2.3.1). Also each of these for the value form-decoded, as a server reads a
    secret sent raw where RFC 6749 section 2.3.1 has it encoded ("a+b" is "a b", "%41" is "A"),
    and may echo it back."""
    forms = set().union(*(_encodings_of(v) for v in {value, unquote_plus(value), unquote(value)}))
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def _encodings_of(value: str) -> set[str]:
    forms = {value} | {encode(value, safe=safe) for encode in (quote, quote_plus) for safe in _URL_SAFE_SETS}
    forms |= {_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), f) for f in forms}
    once = (json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1])
    for escaped in (*once, *(json.dumps(e)[1:-1] for e in once)):  # twice: JSON quoted inside JSON
        forms |= {escaped, escaped.replace("/", "\\/")}
    for text in {value, quote_plus(value, safe=""), quote(value, safe="")}:
        forms |= _base64_cores(text.encode())
    return forms


def _base64_cores(data: bytes) -> set[str]:
    """The characters of base64(prefix + data + suffix) that depend only on `data`, for each of
    the three alignments `data` can have, in standard and URL-safe alphabets."""
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode()
        start = -(-shift * 4 // 3)  # characters touched by the prefix
        end = (shift + len(data)) // 3 * 4  # characters not touched by the suffix
        core = encoded[start + (1 if shift else 0) : end]
        if len(core) >= MIN_BASE64_CORE:
            cores |= {core, core.replace("+", "-").replace("/", "_")}
    return cores


MAX_PENDING = 4096  # encodings searched one by one, at most, before they are built into a group
# Building a character into an automaton costs about as much as searching 200 characters of a text
# for one encoding with str.find (measured: 100-200 against 0.5-0.9 nanoseconds).
BUILD_COST = 200


class _Group:
    """An Aho-Corasick automaton over the encodings of some secrets."""

    def __init__(self, words: tuple) -> None:
        self.words = words  # (encoding, (length, label)); a later duplicate's label wins, as in a dict
        self.automaton = ahocorasick.Automaton()
        add_word = self.automaton.add_word
        for form, value in words:
            add_word(form, value)
        self.automaton.make_automaton()

    def matches(self, text: str):
        """Every occurrence, overlapping ones too: the caller joins them."""
        for end, (length, label) in self.automaton.iter(text):
            yield end + 1 - length, end + 1, label


def _occurrences(text: str, pending: tuple):
    """Every occurrence of each pending encoding, overlapping ones too, as _Group.matches gives them."""
    for form, (length, label) in pending:
        start = text.find(form)
        while start >= 0:
            yield start, start + length, label
            start = text.find(form, start + 1)


class Redactor:
    def __init__(self) -> None:
        self._known: set[str] = set()
        # (groups, pending): each group at least twice the size of the next, as a binary counter's bits;
        # pending encodings not built into a group yet. Never mutated, only replaced in one assignment, so a
        # scrub takes both from the same moment without the lock: a secret is in one or the other.
        self._state: tuple[tuple[_Group, ...], tuple] = ((), ())
        self._pending_characters = 0
        self._searched = 0  # characters x encodings searched one by one since the last build
        self._fields = set(SECRET_FIELDS)
        self._lock = threading.Lock()

    def register(self, value: object, label: str) -> None:
        """From now on, `value` is shown as [label] wherever and however encoded it appears."""
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value in self._known:
                return
            self._known.add(value)
            groups, pending = self._state
            forms = encodings(value)
            pending += tuple((form, (len(form), label)) for form in forms)
            self._state = (groups, pending)
            self._pending_characters += sum(map(len, forms))
            if len(pending) >= MAX_PENDING:
                self._build()

    def _build(self) -> tuple:
        """Turns the pending encodings into a group, merged with the last groups until each group
        is at least twice the next (batches come in any size: a long text builds what is pending).
        Lock held."""
        built, words = self._state
        groups = list(built)
        while groups and len(groups[-1].words) < 2 * len(words):
            words = groups.pop().words + words
        self._state = (*groups, _Group(words)), ()
        self._pending_characters = self._searched = 0
        return self._state

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
        groups, pending = self._state
        if pending:
            # Search one by one until that has cost as much as building would (a ski rental): never
            # more than twice the cheaper of the two, and a long text forces a build at once.
            search = len(text) * len(pending)
            if self._searched + search > self._pending_characters * BUILD_COST:
                with self._lock:
                    groups, pending = self._build() if self._state[1] else self._state
            else:
                self._searched += search  # unlocked: a lost update only delays a build
        found = [m for group in groups for m in group.matches(text)]
        found += _occurrences(text, pending)
        if not found:
            return text
        found.sort(key=lambda m: (m[0], -m[1]))
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
    return "\n".join(
        line if len(line) <= MAX_LINE else f"{line[:MAX_LINE]}... ({len(line)} characters)"
        for line in REDACTOR.scrub(text).split("\n")
    )


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

    factory.scrubs_secrets = True  # type: ignore[attr-defined]  # the mark read above: installed once
    logging.setLogRecordFactory(factory)
