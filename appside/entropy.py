"""How many bits an attacker must guess in a value an application generates (a state, a nonce, a
code_verifier), estimated from what the sign-ins showed of it: an upper bound, as no sample can show
that a value is predictable, only that it is short, narrow or fixed.

A value is measured after the layers that wrap it are taken off: percent-encoding, base64 or base64url
around text, JSON (its values; its keys are names the format fixes). MSAL.js's state is base64 of
{"id": "<UUID>", "meta": {...}}: measured as written, its 120 characters looked like 700 bits. A UUID
(RFC 9562, in its hyphenated form) counts by its random bits: 122 in version 4, 74 in version 7 (48
bits are the time in milliseconds), 14 in versions 1 and 6 (the clock sequence; time and node are
known); the version and variant bits are fixed. Of two sign-ins' values, only what differs counts: a
prefix or suffix they share is no secret (varying_part)."""

import base64
import binascii
import json
import math
import re
import string
from dataclasses import dataclass
from urllib.parse import unquote

BASE64URL = set(string.ascii_letters + string.digits + "-_")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.IGNORECASE)
UUID_RANDOM_BITS = {"1": 14, "4": 122, "6": 14, "7": 74}  # by version (RFC 9562 section 5)
UUID_OTHER_BITS = 122  # another version's: at most the bits that are neither its version nor its variant
BASE64_TEXT = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
LAYERS_AT_MOST = 6  # layers taken off one value: deeper is no encoding an application uses
SHARED_RUN = 4  # characters: a shorter run two random values share is chance, not a fixed part


@dataclass(frozen=True)
class Entropy:
    bits: float
    layers: tuple[str, ...] = ()  # the encodings taken off ("base64", "JSON", "percent-encoding")
    uuids: tuple[str, ...] = ()  # how each UUID that varies was counted, for the message

    def explained(self) -> str:
        """What was measured, for a failure's message; empty where the value was measured as written."""
        parts = [f"decoded from {', '.join(self.layers)}"] if self.layers else []
        parts += self.uuids
        return "; ".join(parts)


def entropy(value: str, other: str | None = None) -> Entropy:
    """The bits of `value` an attacker must guess, without what it shares with `other` (another
    sign-in's value); a UUID counts by the random bits its version has."""
    layers: list[str] = []
    mine = _unwrapped(value, layers)
    theirs = _unwrapped(other, []) if other is not None else None
    their_uuids = {u.lower() for leaf in theirs or () for u in _uuids(leaf)}
    bits, counted = 0.0, []
    for leaf in mine:
        for uuid in _uuids(leaf):
            if uuid.lower() in their_uuids:
                continue  # the same in both sign-ins: fixed
            version = uuid[14]
            random_bits = UUID_RANDOM_BITS.get(version, UUID_OTHER_BITS)
            bits += random_bits
            counted.append(f"a UUID version {version} counted by its {random_bits} random bits")
    rest = [UUID.sub("", leaf) for leaf in mine]
    if theirs is None:
        parts = rest
    else:
        their_rest = [UUID.sub("", leaf) for leaf in theirs]
        if len(their_rest) == len(rest):  # the same structure: leaf by leaf
            parts = [
                "" if leaf == their_leaf else varying_part(leaf, their_leaf)  # a value both share is fixed
                for leaf, their_leaf in zip(rest, their_rest, strict=True)
            ]
        else:
            parts = [varying_part("".join(rest), "".join(their_rest))]
    bits += sum(estimated_entropy_bits(part) for part in parts)
    return Entropy(bits, tuple(dict.fromkeys(layers)), tuple(dict.fromkeys(counted)))


def _uuids(text: str) -> list[str]:
    return [match.group(0) for match in UUID.finditer(text)]


def _unwrapped(value: str, layers: list[str], depth: int = 0) -> list[str]:
    """The texts `value` wraps (one, or a JSON value's strings and numbers), each layer named in `layers`."""
    if depth >= LAYERS_AT_MOST:
        return [value]
    if re.search(r"%[0-9A-Fa-f]{2}", value) and unquote(value) != value:
        layers.append("percent-encoding")
        return _unwrapped(unquote(value), layers, depth + 1)
    text = _base64_text(value)
    if text is not None:
        layers.append("base64url" if set(value) & set("-_") else "base64")
        return _unwrapped(text, layers, depth + 1)
    if value.lstrip()[:1] in ("{", "["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        layers.append("JSON")
        return [text for leaf in _json_values(parsed) for text in _unwrapped(leaf, layers, depth + 1)]
    return [value]


def _base64_text(value: str) -> str | None:
    """The text `value` is the base64 or base64url encoding of; None where it is not one, or encodes
    bytes that are no text (random bytes: their characters are what an attacker must guess, measured as
    written). A value of hex digits alone is read as hex, never as base64."""
    if not BASE64_TEXT.fullmatch(value) or set(value) <= set(string.hexdigits):
        return None
    body = value.rstrip("=").replace("+", "-").replace("/", "_")
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text if text and all(c.isprintable() or c in "\t\r\n" for c in text) else None


def _json_values(parsed) -> list[str]:
    """A JSON value's strings and numbers, nested ones too; its keys and literals (true, null) are no secret."""
    if isinstance(parsed, dict):
        return [text for item in parsed.values() for text in _json_values(item)]
    if isinstance(parsed, list):
        return [text for item in parsed for text in _json_values(item)]
    if isinstance(parsed, str):
        return [parsed]
    if isinstance(parsed, int | float) and not isinstance(parsed, bool):
        return [str(parsed)]
    return []


def estimated_entropy_bits(value: str) -> float:
    """An upper bound from one value as written: its length times the bits of the smallest usual
    alphabet its characters come from (hex, base64url, printable ASCII). A short or narrow value is
    certainly weak; a long one may still be predictable, which no single sample can show."""
    characters = set(value)
    if characters <= set(string.hexdigits.lower()) or characters <= set(string.hexdigits.upper()):
        alphabet = 16
    elif characters <= BASE64URL:
        alphabet = 64
    else:
        alphabet = 94
    return len(value) * math.log2(alphabet)


def varying_part(value: str, other: str) -> str:
    """`value` without the prefix and suffix it shares with `other` (another sign-in's value), when
    those are runs of SHARED_RUN characters or more: the fixed part of a structured value (an
    encoded {"returnTo": ...}) adds nothing an attacker must guess; one to three characters two
    random values share by chance are left in."""
    prefix = _shared_length(value, other)
    prefix = prefix if prefix >= SHARED_RUN else 0
    rest = value[prefix:]
    suffix = _shared_length(rest[::-1], other[prefix:][::-1])
    suffix = suffix if suffix >= SHARED_RUN else 0
    return rest[: len(rest) - suffix]


def _shared_length(value: str, other: str) -> int:
    """How many leading characters the two have in common."""
    return next((i for i, (a, b) in enumerate(zip(value, other, strict=False)) if a != b), min(len(value), len(other)))
