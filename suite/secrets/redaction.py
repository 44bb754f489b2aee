"""Keeps secrets out of everything the suite writes: reports, logs, the terminal, JUnit XML.

Two layers: exchanges are redacted field by field (headers, form and JSON fields, query
parameters that are secret by name), and every text leaving the suite is scrubbed of every
secret value it has seen (the environment's secrets and each token, code and verifier the
scenarios handled), in every encoding a server or the suite may have written it in, so that a
secret echoed in an odd place is still caught.

A scrub reads the text as it is and with its escapes decoded (URL, JSON and HTML escapes, once and
twice: _views), so that an encoding made of other escapes than those listed, or of two in layers, is
caught too. A base64 or hex part of a secret is looked for by its last 64 characters (BLOB_PATTERN)
and masks the whole blob around it, padding included: the characters next to it carry bits of the
secret too. Decoding costs a few regular-expression passes and one more automaton pass where a text
holds escapes: one scrub of 10 MB dense with them (scripts/benchmark_scrubber.py --large) took
1.3-3.5 s where reading it as it is alone took 0.5-0.6 s (the shared 2-core machine, load 8-14); it
grows linearly with the text. Looking for blobs by their ends made the automata smaller: the
per-report benchmark below took 0.34-1.4 s for 400 secrets where it took 1.8-2.9 s.

A hostile server's disguises (_DISGUISES: C and CSS escapes, decimal lists, quoted-printable, fullwidth,
interleaved letters) are decoded in the second reading only, each by a regular expression that begins with
its mark or a character class (the interleaved letters' with the separator, a backreference: linear), and
the forms only a hostile party writes (reversed, rot13, base85...) are computed for secrets of up to
MAX_DISGUISED characters, not for JWTs: a scrub of 3 MB of benchmark_scrubber.py's large text took 0.36-0.38
s of CPU where it took 0.24-0.27 s, and the long-text test's 127 MB of every encoding of 1228 secrets 43 s
where 112 MB took 25 s.

Scrubbing is one Aho-Corasick pass per group of secrets (pyahocorasick, in C), plus a search for each
encoding learned since the last group was built (pending: _Pending). A detection-matrix process learns
thousands of secrets (4335 in a chunk of 14 defect sets, 145,000 encodings of 10 million characters) and
scrubs few texts (98, of 100,000 characters), so learning only computes a secret's encodings and files
each under its last characters. A short text is searched for those filed under one of its slices (a set of
them, one dictionary look-up each): its cost grows with the text, not with the secrets learned; a few
pending encodings, or a long text, are searched for one by one. Building costs about 200 times what
searching costs per character (BUILD_COST), so a scrub searches the pending encodings until the searching
has cost as much as building them would, and then builds them into a group (a ski rental: never more than
twice the cheaper choice); a text much longer than the encodings, such as a hostile multi-megabyte body,
builds them at once. A scrub never misses a learned secret: each is pending or in a group. Replaying the
secrets and scrubs of that 14-set process took 0.9 s of CPU where building a group whenever 4096 encodings
were pending took 9.3 s (36 builds, most of them merges: see below), with the same output.

The groups are kept as a binary counter (Bentley-Saxe): a new group is merged with the last ones
until each is at least twice the size of the next, so an encoding is built O(log N) times and a
scrub makes at most log2(N) + 1 automaton passes over a long text. Replaying the secrets and
scrubs of an 11-set matrix process, building each secret into a group as it was learned took
1.4-1.7 s of CPU (2058 builds, 17.9 million characters), and this 0.7-0.75 s (5 builds, 4.4
million characters: the rest is computing encodings and searching); merging four or eight groups
at a time instead saved less and made more passes.

Runs (_RUNS) cost most once they were decoded: UTF-7's pattern, tried at every position of a text that has a +,
read up to 64 characters at each (_utf7_runs finds the same runs from each + instead), and a report's details
scrubbed the exchanges' texts again (Redactor._scrubbed keeps what each became until a secret is learned or a
group built). Replaying the 607 secrets and 4370 scrubs of a `make conformance` run took 1.7-1.9 s of CPU where
it took 5.1-5.5 s, with the same output (load 17 on 2 cores).
"""

import base64
import binascii
import bisect
import codecs
import contextlib
import functools
import hashlib
import html
import itertools
import json
import logging
import re
import threading
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import ahocorasick

from suite.secrets.literals import escaped_forms
from suite.secrets.shell_printed import shell_printed

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
# the user:password part of a URL (RFC 3986 section 3.2.1: "Use of the format user:password in the userinfo
# field is deprecated"), masked in every text whether or not its password was registered as a secret
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[a-z0-9\-._~%!$&'()*+,;=:]+@")
MIN_BASE64_CORE = 8  # the part of a base64 encoding that depends on the secret alone
_PERCENT_ESCAPE = re.compile("%[0-9A-F]{2}")
# Characters that URL encoders in use leave as they are: none, Python's quote default, browsers'
# forms, JavaScript's encodeURIComponent, RFC 3986 sub-delimiters (requests' re-quoting).
_URL_SAFE_SETS = ("", "/", "*-._", "-_.!~*'()", "/:@!$&'()*+,;=")
# The single-byte charsets a server or an older encoder may write a non-ASCII secret's bytes in.
_CHARSETS = ("latin-1", "cp1252")


# A certification computes the same secrets' encodings again and again: the scrubber learns each token, and each
# leak rule builds its automaton over every encoding of the tokens and the client secret it looks for, once per set
# of them (a web application's: encodings() 55 times for 27 values, their plain part 95 times for 68; a client
# secret of every character class has 2,000 forms and takes 13 ms each time). Kept in this process's memory only,
# as the scrubber keeps the values themselves, keyed by the value they are computed from, and immutable (a
# frozenset): no caller can change what the next one gets.
ENCODINGS_KEPT = 128


@functools.lru_cache(maxsize=ENCODINGS_KEPT)
def encodings(value: str) -> frozenset[str]:
    """Every form in which `value` can appear in a text the suite writes: raw, URL-encoded
    (%20 and + for a space, upper and lower case hex), JSON-escaped (with and without \\/ and
    \\uXXXX escapes; once, and twice for JSON quoted inside a JSON string), inside a string literal
    as Python's repr(), C, JavaScript or the shell write one (_literal_escaped), hex (upper and lower
    case), and base64 wherever it sits inside an encoded blob (base64_encodings). Also each of these
    for the value form-decoded, as a server reads a secret sent raw where RFC 6749 section 2.3.1 has
    it encoded ("a+b" is "a b", "%41" is "A"), and may echo it back. A scrub also reads a text with
    its escapes decoded (_views), so an encoding made of other escapes, or of two in layers, is
    caught as well."""
    return (
        _plain_encodings(value)
        | base64_encodings(value)
        | hex_encodings(value)
        | base32_encodings(value)
        | uu_encodings(value)
        | base85_encodings(value)
    )


def _decoded_forms(value: str) -> set[str]:
    # a shell's echo or printf prints the secret's own backslash escapes as their characters: a \\c form is the
    # head before it, masked where a cut secret's head would be (ELIDED_PIECE)
    forms = {value, unquote_plus(value), unquote(value), *shell_printed(value, head=ELIDED_PIECE)}
    if "%" in value:  # a server reading %XX as Latin-1 or windows-1252 bytes, not UTF-8 ("%F1" is "ñ")
        forms |= {decode(value, encoding=charset) for decode in (unquote, unquote_plus) for charset in _CHARSETS}
    forms |= {mis for form in forms for mis in _misdecoded(form)}
    return forms | {normal for form in forms for normal in _normalised(form)}


def _normalised(value: str) -> set[str]:
    """`value` in each Unicode normalisation form: what a server, a browser or a file system that
    normalises text writes back for a non-ASCII secret ("ñ" as "n" and U+0303 in NFD, "ﬁ" as "fi" in
    NFKC), which the secret as typed does not match."""
    if value.isascii():
        return set()
    return {unicodedata.normalize(form, value) for form in ("NFC", "NFD", "NFKC", "NFKD")}


def _misdecoded(value: str) -> set[str]:
    """`value`'s UTF-8 bytes read in another charset: a text/* answer without a charset is Latin-1 to
    requests (RFC 2616's default) and windows-1252 to a browser, so a non-ASCII secret a server echoes
    is written as mojibake ("é" as "Ã©"), which its own encodings do not match."""
    if value.isascii():
        return set()
    data = value.encode()
    forms = {data.decode("latin-1")}
    with contextlib.suppress(UnicodeDecodeError):  # five bytes have no windows-1252 character
        forms.add(data.decode("cp1252"))
    return forms


@functools.lru_cache(maxsize=ENCODINGS_KEPT)
def _plain_encodings(value: str) -> frozenset[str]:
    decoded = _decoded_forms(value)
    forms = set().union(*(_escaped(v) for v in decoded)) | _written_in(value) | _disguised(value)
    return frozenset(f for f in forms if len(f) >= MIN_SECRET_LENGTH)


# A secret up to this long (a password, a client secret, a code; not a JWT) is also looked for in the forms
# only a hostile party writes it in (_disguised, base64 of its UTF-32 or of it reversed, uuencode, base85):
# each is a word or a few more for the automata, which a token's hundreds of characters would make costly.
MAX_DISGUISED = 64


def _disguised(value: str) -> set[str]:
    """How a hostile server hides a short secret it echoes: reversed, rot13, upper or lower case, each
    of these reversed too; each fixed cipher of it (_CIPHERS); each character twice. Their
    base64, hex and base32 are runs a scrub decodes (_RUNS), and so found as these forms."""
    if len(value) > MAX_DISGUISED:
        return set()
    forms = {value, value[::-1]}
    forms |= {form.upper() for form in forms} | {form.lower() for form in forms}
    forms |= {codecs.encode(form, "rot13") for form in forms}
    if len(value) <= MAX_CIPHERED:
        forms |= {value.translate(cipher) for cipher in _CIPHERS}
        forms.add("".join(character * 2 for character in value))  # each character twice
    # as a URL or JSON carries them: a view decodes those escapes with others their characters look like ("\\f"
    # after rot47 is JSON's form feed, "%31" after a Caesar shift a "1")
    return forms | {escape(form) for form in forms for escape in _CARRIED}


_CARRIED = (
    functools.partial(quote, safe=""),
    functools.partial(quote_plus, safe=""),
    lambda value: json.dumps(value)[1:-1],
    lambda value: json.dumps(value, ensure_ascii=False)[1:-1],
)


def _shifted(characters: str, shift: int) -> dict[int, int]:
    return {ord(c): ord(characters[(i + shift) % len(characters)]) for i, c in enumerate(characters)}


def _caesar(shift: int, digits: bool) -> dict[int, int]:
    table = _shifted(_LOWER, shift) | _shifted(_UPPER, shift)
    return table | _shifted(_DIGITS, shift) if digits else table


_LOWER, _UPPER, _DIGITS = "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"
_PRINTABLE = "".join(map(chr, range(0x21, 0x7F)))
# The ciphers that need no key but a number a hostile party picks from a few: every Caesar shift of the letters,
# of the letters and the digits together (each wrapping around its own alphabet), the code points of letters and
# digits moved up to MAX_SHIFT either way without wrapping ("Z" + 1 is "["), rot47 (the printable ASCII characters
# moved half-way round) and Atbash (each letter's mirror, "a" for "z"). A cipher with a key of its own (Vigenère,
# a substitution table, XOR with a byte) is not: no scrub can try every key.
MAX_SHIFT = 3
# A secret up to this long (a password, a client secret) is looked for in those ciphers; a 43-character token or
# code is not: its 60 more forms doubled what a detection-matrix process spent building automata
MAX_CIPHERED = 40
_CIPHERS = (
    *(_caesar(shift, digits) for shift in range(1, 26) for digits in (False, True) if not digits or shift % 10),
    *(
        {ord(c): ord(c) + shift for c in _LOWER + _UPPER + _DIGITS}
        for shift in range(-MAX_SHIFT, MAX_SHIFT + 1)
        if shift
    ),
    _shifted(_PRINTABLE, 47),
    {ord(c): ord(mirror) for letters in (_LOWER, _UPPER) for c, mirror in zip(letters, letters[::-1], strict=True)},
)


# The single-byte charsets a program may write a secret in other than UTF-8: a Java or C program whose
# default charset is Latin-1 or windows-1252. UTF-16 (a Windows program's) is a view of the text instead
# (_ESCAPES): the NULs beside its characters are taken out where the text has any.
_WRITTEN_CHARSETS = ("latin-1", "cp1252")


def _written_in(value: str) -> set[str]:
    """A non-ASCII `value` written in a single-byte charset (_WRITTEN_CHARSETS) and read back as the suite
    reads a program's output, as UTF-8 with U+FFFD for what is not ("é" in Latin-1 is a byte no UTF-8 has)."""
    if value.isascii():
        return set()
    forms = set()
    for charset in _WRITTEN_CHARSETS:
        with contextlib.suppress(UnicodeEncodeError):
            forms.add(value.encode(charset).decode("utf-8", errors="replace"))
    return forms


def base64_encodings(value: str) -> set[str]:
    """The parts of base64 blobs that carry `value` (or its URL encodings) whatever surrounds it:
    HTTP Basic encodes `urlencode(client_id):urlencode(secret)` (RFC 6749 section 2.3.1). Where one
    is found, the scrub masks the whole blob around it, padding included (_blob_around): the
    characters next to the part also carry bits of the secret."""
    decoded = _decoded_forms(value)
    texts = {t for v in decoded for t in (v, quote_plus(v, safe=""), quote(v, safe=""))}
    data = {text.encode() for text in texts}
    # UTF-16 (PowerShell's -EncodedCommand, .NET's Encoding.Unicode); UTF-32 and reversed for a short one
    charsets = ("utf-16-le", "utf-16-be") + (("utf-32-le", "utf-32-be") if len(value) <= MAX_DISGUISED else ())
    data |= {value.encode(charset, "surrogatepass") for charset in charsets}
    if len(value) <= MAX_DISGUISED:
        data.add(value[::-1].encode())
    return set().union(*(_base64_cores(d) for d in data))


def _escaped(value: str) -> set[str]:
    forms = {value, value.replace(" ", "+")}
    forms |= {encode(value, safe=safe) for encode in (quote, quote_plus) for safe in _URL_SAFE_SETS}
    if not value.isascii():  # percent-encoding of its Latin-1 or windows-1252 bytes, as older encoders do
        for charset in _CHARSETS:
            try:
                forms |= _percent_encoded(value, charset, "strict")
            except UnicodeEncodeError:  # a character the charset has not: dropped or "?", as encoders do, where
                # most of the secret is left (what is left of a Cyrillic one would be a few common letters)
                if 4 * sum(len(c.encode(charset, "ignore")) == 0 for c in value) <= len(value):
                    forms |= _percent_encoded(value, charset, "ignore") | _percent_encoded(value, charset, "replace")
    forms |= {_PERCENT_ESCAPE.sub(lambda m: m.group(0).lower(), f) for f in forms}
    once = (json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1])
    for escaped in (*once, *(json.dumps(e)[1:-1] for e in once)):  # twice: JSON quoted inside JSON
        forms |= {escaped, escaped.replace("/", "\\/")}
    return forms | _literal_escaped(value) | escaped_forms(value)


def _literal_escaped(value: str) -> set[str]:
    """`value` inside a string literal as programs print one: Python's repr() and ascii() of a str and
    of its UTF-8 bytes (\\' or not, \\xXX, \\uXXXX: a dict or an exception printed), C and JavaScript
    string escapes (\\" and \\' both), and the shell's quoting: inside '...' (bash's set -x writes a
    quote as '\\'', Python's shlex.quote as '"'"'), backslash-quoted (bash's printf %q) and ANSI-C
    $'...' (printf %q and set -x for a value with control characters; octal bytes in the C locale).
    A printable ASCII value without a quote, a backslash or a character the shell quotes is each of
    them as it is (most secrets and every token: nothing to compute)."""
    if value.isascii() and value.isprintable() and not _QUOTED.search(value):
        return set()
    forms = set()
    for literal in (repr, ascii):
        # in a longer string with both quotes, the value is written in '...' with \\'; alone, Python quotes it
        # as it chooses (a value with ' and no " in "...", ' as it is)
        forms |= {literal("'\"" + value)[4:-1], literal(value)[1:-1]}
    data = value.encode()
    forms |= {repr(b"'\"" + data)[5:-1], repr(data)[2:-1]}
    forms.add(value.translate(_C_ESCAPES))  # C, JavaScript
    forms |= {value.replace("'", "'\\''"), value.replace("'", "'\"'\"'")}  # the shell's '...'
    backslashed = _AFTER_ASSIGNMENT.sub(r"\\~", value.translate(_SHELL_ESCAPES))
    forms |= {backslashed, "\\" + backslashed if value[0] in "~#" else backslashed}
    if not value.isprintable() or not value.isascii():
        forms |= {_ansi_c_quoted(value, utf8) for utf8 in (False, True)}
    return forms


_C_ESCAPES = str.maketrans({c: f"\\{c}" for c in "'\"\\"})
# What bash's printf %q puts a backslash before (lib/sh/shquote.c, sh_backslash_quote): blanks, quotes,
# metacharacters, glob and expansion characters, "," anywhere; "~" after "=" or ":" and, with "#", at the
# start of a word (the value as a word of its own, or inside one).
_SHELL_QUOTED = " \t\n'\"\\|&;()<>!{}*[?]^$`,"
_SHELL_ESCAPES = str.maketrans({c: f"\\{c}" for c in _SHELL_QUOTED})
_AFTER_ASSIGNMENT = re.compile("(?<=[=:])~")
_QUOTED = re.compile(f"[{re.escape(_SHELL_QUOTED)}~#]")  # a character one of the forms above writes otherwise


_ANSI_C = {"\a": "\\a", "\b": "\\b", "\x1b": "\\E", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _ansi_c_quoted(value: str, utf8: bool) -> str:
    """The inside of bash's $'...' for `value`: \\' and \\\\, named control characters, other bytes that
    are not printable in octal (a non-ASCII character too, in the C locale)."""
    out = []
    for c in value:
        if c in "'\\":
            out.append(f"\\{c}")
        elif c in _ANSI_C:
            out.append(_ANSI_C[c])
        elif c.isprintable() and (c.isascii() or utf8):
            out.append(c)
        else:
            out.extend(f"\\{byte:03o}" for byte in c.encode())
    return "".join(out)


def _percent_encoded(value: str, charset: str, errors: str) -> set[str]:
    return {
        encode(value, safe=safe, encoding=charset, errors=errors)
        for encode in (quote, quote_plus)
        for safe in _URL_SAFE_SETS
    }


def hex_encodings(value: str) -> set[str]:
    """The value's UTF-8 bytes in hex, lower and upper case (as a hex run, masked whole: _blob_around);
    a short one's reversed too."""
    forms = {value.encode().hex()} | ({value[::-1].encode().hex()} if len(value) <= MAX_DISGUISED else set())
    return forms | {form.upper() for form in forms}


def uu_encodings(value: str) -> set[str]:
    return set(_uu_cores(value))


def _uu_cores(value: str) -> dict[str, tuple[int, int]]:
    """The characters of a uuencoded line (binascii.b2a_uu, uuencode(1), Python's "uu" codec) that depend
    only on `value`'s UTF-8 bytes, at each of the three alignments in the line, zero written as a space or a
    backtick; each with how many characters before and after it carry bits of the value too (masked with
    it: _blob_around). A value of one line at most (43 bytes: a password, a client secret)."""
    data = value.encode()
    if len(data) > 43:
        return {}
    cores: dict[str, tuple[int, int]] = {}
    for shift in range(3):
        for backtick in (False, True):
            line = binascii.b2a_uu(b"\0" * shift + data, backtick=backtick).decode()[1:-1]
            start, end = -(-shift * 4 // 3), (shift + len(data)) // 3 * 4
            # a group's first character is 6 bits of its first byte; a short value's, to the end of the line
            core, after = (line[start:end], (0, 2, 3)[(shift + len(data)) % 3])
            if len(core) < MIN_BASE64_CORE:
                core, after = line[start : -(-(shift + len(data)) * 4 // 3)], 0
            if len(core) >= MIN_SECRET_LENGTH:  # a space (zero) as form encoding writes it too
                cores |= dict.fromkeys({core, core.replace(" ", "+")}, (1 if shift else 0, after))
    return cores


def base85_encodings(value: str) -> set[str]:
    return set(_base85_cores(value))


def _base85_cores(value: str) -> dict[str, tuple[int, int]]:
    """The groups of ascii85 (Adobe's, base64.a85encode) and base85 (RFC 1924, git's, base64.b85encode) that
    encode 4 bytes of a short `value` each, at each of the four alignments; each with how many characters
    before and after it carry bits of the value too: the group it shares with what is around it either side
    (masked with it: _blob_around)."""
    data = value.encode()
    if len(value) > MAX_DISGUISED:
        return {}
    cores = {}
    for encode in (base64.a85encode, base64.b85encode):
        cores[encode(data).decode()] = (0, 0)  # the value alone, its last group cut short
        for skip in range(4):
            core = encode(data[skip:][: (len(data) - skip) // 4 * 4]).decode()
            if len(core) >= MIN_BASE64_CORE:
                cores[core] = (5 if skip else 0, 5 if (len(data) - skip) % 4 else 0)
    return cores


def base32_encodings(value: str) -> set[str]:
    """The value's UTF-8 bytes in base32 (RFC 4648 section 6, upper and lower case), as a program that
    encodes it alone writes it (a TOTP seed, a logger's dump): the characters of its own bits, masked as a
    blob with the padding. Unlike base64 (HTTP Basic), no protocol puts a secret at any offset inside a base32
    blob: the other four alignments would cost the automata as much as all base64's forms."""
    encoded = base64.b32encode(value.encode()).decode()
    core = encoded[: len(value.encode()) * 8 // 5]
    return {core, core.lower()} if len(core) >= MIN_BASE64_CORE else set()


def _base64_cores(data: bytes) -> set[str]:
    """The characters of base64(prefix + data + suffix) that depend only on `data`, for each of
    the three alignments `data` can have, in standard and URL-safe alphabets. Where those are too
    few (a short secret), those of base64(prefix + data), with and without its padding, as where
    `data` ends the blob (a secret in HTTP Basic does)."""
    cores = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data).decode()
        start = -(-shift * 4 // 3)  # characters touched by the prefix: its 8 bits a byte in 6 a character
        end = (shift + len(data)) // 3 * 4  # characters not touched by the suffix
        core = encoded[start:end]
        for part in (core,) if len(core) >= MIN_BASE64_CORE else (encoded[start:], encoded[start:].rstrip("=")):
            if len(part) >= MIN_BASE64_CORE:
                cores |= {part, part.replace("+", "-").replace("/", "_")}
    return cores


# The blob around a base64 or hex part of a secret: its alphabet's characters (then base64's padding), at
# most this many characters either side (the characters next to the part carry bits of the secret; the
# rest of a blob is masked too, as a security tool would, but a multi-megabyte one is not walked through).
MAX_BLOB_AROUND = 4096
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_"
HEX = "0123456789abcdefABCDEF"
# uuencode's and base85's characters but the double quote and the backslash (the walk never takes the quote
# that ends a JSON string), only those of the groups the secret shares with what is around it (_uu_cores,
# _base85_cores)
_UNQUOTED = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')
UU = "".join(c for c in _UNQUOTED if c <= "`")
BASE85 = "".join(c for c in _UNQUOTED if c <= "u" or c in "z{|}~")
_BLOB_RUNS = {alphabet: re.compile(f"[{re.escape(alphabet)}]*") for alphabet in (BASE64, HEX, UU, BASE85)}
_WHOLE_BLOB = (MAX_BLOB_AROUND, MAX_BLOB_AROUND)
# A blob's part is looked for by its last characters only, and the rest of it masked with the blob: a
# JWT's base64 and hex forms were most of what the automata were built of (its last characters are its
# signature's, its first ones those of every token of the same issuer).
BLOB_PATTERN = 64


def _blob_around(
    text: str, start: int, end: int, alphabet: str, before_pattern: int, before_most: int, after_most: int
) -> tuple[int, int]:
    """The blob around a part found by its last characters, `before_pattern` characters of it before them,
    at most `before_most` and `after_most` characters of its alphabet before and after (then padding)."""
    before = text[max(0, start - before_pattern - before_most) : start]
    run = _BLOB_RUNS[alphabet].match(text, end, end + after_most)
    after = run.end() if run else end
    if alphabet == BASE64:  # and its padding (base32's: up to six)
        after += len(text[after : after + 6]) - len(text[after : after + 6].lstrip("="))
    return start - (len(before) - len(before.rstrip(alphabet))), after


class _View:
    """A text with escapes decoded, and how to find a span of it in the text it was decoded from: a
    span that starts or ends inside a decoded escape takes the whole escape."""

    def __init__(self, text: str, parent: "_View | None" = None, escapes: tuple = ((), (), (), ())) -> None:
        self.text, self.parent = text, parent
        # where each decoded escape starts and ends here, and where it stood in the parent
        self._starts: Sequence[int]
        self._ends: Sequence[int]
        self._original_starts: Sequence[int]
        self._original_ends: Sequence[int]
        self._starts, self._ends, self._original_starts, self._original_ends = escapes

    def original(self, start: int, end: int) -> tuple[int, int, bool]:
        """The span in the text read first, and whether any of the decodings on the way decoded a
        part of it: a span none did is in the text read first as it is, and found there."""
        if self.parent is None:
            return start, end, False
        i = bisect.bisect_right(self._ends, start)
        decoded = i < len(self._starts) and self._starts[i] < end
        start, end, before = self.parent.original(self._here(start, is_end=False), self._here(end, is_end=True))
        return start, end, decoded or before

    def _here(self, position: int, is_end: bool) -> int:
        i = bisect.bisect_right(self._starts, position) - 1
        if i < 0:
            return position
        if position < self._ends[i]:  # inside escape i's decoded characters
            return self._original_ends[i] if is_end and position > self._starts[i] else self._original_starts[i]
        return self._original_ends[i] + position - self._ends[i]

    def decoded(self, escape: re.Pattern, decode: Callable[[str], str]) -> "_View":
        """This text with each of `escape` decoded; itself when there is none."""
        spans: list[tuple[int, int, int]] = []  # (start, end, length decoded) of each escape decoded

        def replace(match: re.Match) -> str:
            written = match.group()
            characters = decode(written)
            if characters != written:
                spans.append((match.start(), match.end(), len(characters)))
            return characters

        text = escape.sub(replace, self.text)
        if not spans:
            return self
        original_starts, original_ends, lengths = zip(*spans, strict=True)
        shifts = itertools.accumulate((end - start - length for start, end, length in spans), initial=0)
        starts = [start - shift for start, shift in zip(original_starts, shifts, strict=False)]
        ends = [start + length for start, length in zip(starts, lengths, strict=True)]
        return _View(text, self, (starts, ends, original_starts, original_ends))


@functools.lru_cache(maxsize=4096)  # the same few escapes, over and over in a long text
def _percent_decoded(escapes: str) -> str:
    return bytes.fromhex(escapes.replace("%", "")).decode(errors="replace")


@functools.lru_cache(maxsize=4096)
def _json_decoded(escapes: str) -> str:
    try:
        decoded: str = json.loads(f'"{escapes}"')
    except ValueError:
        return escapes
    return decoded


def _without_nul(written: str) -> str:
    return written.replace("\0", "")


@functools.lru_cache(maxsize=4096)
def _backslash_decoded(escapes: str) -> str:
    """A run of C or CSS escapes: C's when each is \\xHH or three octal digits with nothing after it
    (the UTF-8 bytes of a value, as printf's \\%03o, a C or Python literal, bash's $'...' write them), CSS's
    (CSS Syntax Level 3 section 4.3.7: one to six hex digits of a code point, then an optional white space)
    otherwise."""
    parts = _BACKSLASH_PART.findall(escapes)
    if all(not blank and (d[0] == "x" or (len(d) == 3 and set(d) <= _OCTAL)) for d, blank in parts):
        data = bytes(int(d[1:], 16) if d[0] == "x" else int(d, 8) & 0xFF for d, _ in parts)
        return data.decode(errors="replace")
    return "".join(chr(int(d[1:], 16)) if d[0] == "x" else _code_point(int(d, 16)) for d, _ in parts)


_C_ESCAPE = r"\\(?:x[0-9A-Fa-f]{2}|[0-7]{3}(?![0-9A-Fa-f]))"
_CSS_ESCAPE = r"\\(?:x[0-9A-Fa-f]{2}|[0-9A-Fa-f]{1,6}(?:\r\n|[ \t\n\r\f])?)"
# A run of C escapes (a blank after it is C's own character: not taken), unless a blank and another escape
# follow it (CSS's), or of CSS escapes, each with the blank after it
_BACKSLASH_RUN = rf"{_C_ESCAPE}(?:{_C_ESCAPE})*(?!(?:\r\n|[ \t\n\r\f])\\[0-9A-Fa-f])|{_CSS_ESCAPE}(?:{_CSS_ESCAPE})*"
_BACKSLASH_PART = re.compile(r"\\(x[0-9A-Fa-f]{2}|[0-9A-Fa-f]{1,6})(\r\n|[ \t\n\r\f])?")
_OCTAL = set("01234567")


def _code_point(number: int) -> str:
    return chr(number) if 0 < number <= 0x10FFFF and not 0xD800 <= number <= 0xDFFF else "\ufffd"


@functools.lru_cache(maxsize=4096)
def _quoted_printable_decoded(escapes: str) -> str:
    return bytes.fromhex(escapes.replace("=", "")).decode(errors="replace")


def _numbers_decoded(written: str) -> str:
    """A list of decimal numbers: a value's UTF-8 bytes (Python's list(value.encode())), or its code
    points (JavaScript's charCodeAt) where they are no UTF-8."""
    numbers = [int(n) for n in re.findall("[0-9]+", written)]
    if max(numbers) <= 0xFF:
        with contextlib.suppress(UnicodeDecodeError):
            return bytes(numbers).decode()
    return "".join(map(_code_point, numbers))


@functools.lru_cache(maxsize=4096)
def _code_points_decoded(written: str) -> str:
    """A run of code points each written with a mark (%u, \\u{...}, U+), whatever is between them; a UTF-16
    surrogate pair as its character, as escape() writes one past U+FFFF."""
    text = "".join(chr(int(digits, 16)) for digits in _CODE_POINT.findall(written) if int(digits, 16) <= 0x10FFFF)
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


_CODE_POINT = re.compile(r"(?:%[uU]|\\u\{|[Uu]\+)([0-9A-Fa-f]{1,6})")


def _every_other(written: str) -> str:
    return written[1::2]


_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


# Each kind of escape a secret may be written in, and the character without which a text has none ("" for
# those that have none): URL encoding (RFC 3986, either case), JSON string escapes (RFC 8259 section 7:
# \uXXXX for any character), HTML character references (named, decimal, hex), UTF-16's NULs; then (_DISGUISES)
# C and CSS escapes, quoted-printable (RFC 2045 section 6.7), lists of decimal numbers, fullwidth forms, and
# letters interleaved with one repeated separator ("H.o.s.t", "H o s t", a zero-width space between). Decoded
# in this order: a C or CSS escape in JSON is \\ then the escape.
_ESCAPES: tuple[tuple[str, re.Pattern, Callable[[str], str]], ...] = (
    ("%", re.compile("%[0-9A-Fa-f]{2}(?:%[0-9A-Fa-f]{2})*"), _percent_decoded),
    # \b and \f before a hex digit are left to CSS (\fc is "ü")
    (
        "\\",
        re.compile(
            r'\\(?:u[0-9A-Fa-f]{4}|["\\/nrt]|[bf](?![0-9A-Fa-f]))(?:\\(?:u[0-9A-Fa-f]{4}|["\\/nrt]|[bf](?![0-9A-Fa-f])))*'
        ),
        _json_decoded,
    ),
    (
        "&",
        re.compile("&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?"),
        functools.lru_cache(4096)(html.unescape),
    ),
    # UTF-16 read as UTF-8 or Latin-1: a NUL after (little-endian) or before (big-endian) each ASCII character
    ("\0", re.compile("(?:[^\0]\0){4,}"), _without_nul),
    ("\0", re.compile("(?:\0[^\0]){4,}"), _without_nul),
)
# What a hostile party writes a secret in to get it past a scrub, decoded in a second pass only (_views): each
# may read a secret's own characters otherwise ("\\C" as a CSS escape), which the first pass keeps as they are.
_DISGUISES: tuple[tuple[str | None, re.Pattern, Callable[[str], str]], ...] = (
    # each pattern begins with its mark: re then searches a long text for it fast
    ("\\", re.compile(_BACKSLASH_RUN), _backslash_decoded),
    # code points as JavaScript's escape() (%uXXXX), ECMAScript 6 (\u{X}) and Unicode's own notation write them
    ("%", re.compile("%[uU][0-9A-Fa-f]{4}(?:%[uU][0-9A-Fa-f]{4})*"), _code_points_decoded),
    ("\\", re.compile(r"\\u\{[0-9A-Fa-f]{1,6}\}(?:\\u\{[0-9A-Fa-f]{1,6}\})*"), _code_points_decoded),
    ("+", re.compile(r"[Uu]\+[0-9A-Fa-f]{4,6}(?:[ ,;+]{0,2}[Uu]\+[0-9A-Fa-f]{4,6})*"), _code_points_decoded),
    ("=", re.compile("=[0-9A-F]{2}(?:=[0-9A-F]{2})+"), _quoted_printable_decoded),  # two: "?p=72" is no escape
    # at least six numbers (a secret's shortest), one separator throughout: a comma or a semicolon, then a
    # space or not, or a space alone; a + for each space (form-encoded)
    ("", re.compile(r"[0-9]{1,7}([,;][ +]?|[ +])[0-9]{1,7}(?:\1[0-9]{1,7}){4,}(?![0-9])"), _numbers_decoded),
    (None, re.compile("[\uff01-\uff5e\u3000]+"), lambda written: written.translate(_FULLWIDTH)),  # None: non-ASCII
    # at least five characters of any kind after a first one (a secret's shortest is six), each after the same
    # separator, a character no letter or digit; no two separators as characters in a row ("!!!!" is no
    # secret's letters: read as one, it would take a blob's last character with it). The first character is
    # left where it is (the pattern begins with the separator: re looks for its first character fast).
    ("", re.compile(r"([\W_])(?:(?!\1\1\1)[^\n]\1){4,}[^\n]"), _every_other),
)


def _views(text: str) -> list[_View]:
    """The text, and the text with every escape in it decoded, once and twice (URL-encoded twice, HTML
    in a URL, a URL in JSON; the second time the disguises too, _DISGUISES): a secret is looked for in each.
    Form encoding's + for a space stays (a + in base64 is no space): the secret with + for its spaces is
    one of its encodings."""
    views = [_View(text)]
    for escapes in (_ESCAPES, _ESCAPES + _DISGUISES):
        view = views[-1]
        for mark, escape, decode in escapes:
            if mark in view.text if mark is not None else not view.text.isascii():
                view = view.decoded(escape, decode)
        if view is not views[-1]:
            views.append(view)
    return views


# Runs a hostile party wraps a secret in, layer upon layer (base64 of its hex, hex of its base64, base64 of it
# rot13'd, hex of its UTF-16, a list of its bytes in octal, a host name in punycode): each run of one of _RUNS is
# decoded, its bytes read as UTF-8, Latin-1, UTF-16LE and UTF-16BE, and the texts searched as a scrub searches any
# text (its encodings, its escapes decoded, its own runs: RUN_LAYERS deep); a run whose texts hold a secret is
# masked whole. Bounded: MAX_DECODED characters decoded in one scrub, over all its layers (a text of megabytes
# of runs has its first ones decoded), and one run MAX_RUN characters long at most.
RUN_LAYERS = 3
MAX_DECODED = 1 << 21
MAX_RUN = 1 << 16
MIN_RUN = 8  # base64 of a secret's shortest (6 characters)
MAX_CLEAN, MAX_CLEAN_TEXT = 1 << 16, 1 << 12  # decoded texts known to hold no secret, kept (Redactor._clean)
MAX_SCRUBBED, MAX_SCRUBBED_TEXT = 1 << 11, 1 << 13  # texts scrubbed, kept with what they became (Redactor._scrubbed)
_RUN_SEPARATOR = "\n\n"
_LEGIBLE = re.compile(f"[^\\x00-\\x08\\x0e-\\x1f\\x7f-\\x9f\\ufffd]{{{MIN_SECRET_LENGTH}}}")
_HEX_RUN = re.compile("[0-9A-Fa-f]+")
# base64 of a text, or its hex, has a digit or a hump ("aB") but in a few short runs; base32 may be all capitals
_ENCODED_LOOKING = re.compile("[0-9]|[a-z][A-Z]|^[A-Z]+$")
_BASE32_RUN = re.compile("[A-Z2-7]+|[a-z2-7]+")
_BASE64_URL = str.maketrans("-_", "+/")


def _read(data: bytes) -> list[str]:
    """`data` read as text each way a program may have written a secret's bytes (its bytes reversed too), those
    with a secret's length of legible characters in a row (no controls, no U+FFFD) only."""
    even = data[: len(data) // 2 * 2]
    texts = dict.fromkeys(
        (
            data.decode("utf-8", "replace"),
            data[::-1].decode("utf-8", "replace"),  # written backwards byte by byte
            data.decode("latin-1"),
            even.decode("utf-16-le", "replace"),
            even.decode("utf-16-be", "replace"),
        )
    )
    return [text for text in texts if _LEGIBLE.search(text)]


@functools.lru_cache(maxsize=4096)  # the same runs (a token, a JWT's header) in many texts
def _blob_decoded(run: str) -> tuple[str, ...]:
    """A run of base64 (either alphabet, at each of the four places its groups may begin), hex or base32."""
    core = run.rstrip("=")[:MAX_RUN]
    bare = core.strip("+")  # a + either side is as likely a space, form-encoded
    if not _ENCODED_LOOKING.search(bare):
        return ()  # words ("Conformance", "refresh_token", "application/x-www-form-urlencoded")
    data = []
    if _HEX_RUN.fullmatch(bare):
        data += [bytes.fromhex(bare[skip:][: (len(bare) - skip) // 2 * 2]) for skip in (0, 1)]
    if _BASE32_RUN.fullmatch(bare):
        cut = bare[: len(bare) - {1: 1, 3: 1, 6: 1}.get(len(bare) % 8, 0)].upper()
        with contextlib.suppress(binascii.Error, ValueError):
            data.append(base64.b32decode(cut + "=" * (-len(cut) % 8)))
    for written in dict.fromkeys((core, bare)):
        # its groups begin where its padding says (a letter glued before it is left out), or at its start
        part = written.translate(_BASE64_URL)[(len(run) - len(core) + len(written)) % 4 if run[-1] == "=" else 0 :]
        part = part[: len(part) - 1] if len(part) % 4 == 1 else part
        with contextlib.suppress(binascii.Error, ValueError):
            data.append(base64.b64decode(part + "=" * (-len(part) % 4), validate=True))
    return tuple(text for written in data if len(written) >= MIN_SECRET_LENGTH for text in _read(written))


_NUMBER = re.compile("(0[xX])?([0-9A-Fa-f]+)")


def _number_list_decoded(run: str) -> list[str]:
    """A list of numbers (one separator throughout), in each base its numbers can all be read in: hex (0x50,
    50), decimal, octal (120), binary (01010000); bytes when each is one, else code points."""
    numbers = _NUMBER.findall(run[:MAX_RUN])
    texts = []
    for base, digits in ((16, _HEX_DIGITS), (10, _DECIMAL), (8, _OCTAL), (2, set("01"))):
        if not all(set(number) <= digits and (base == 16 or not prefix) for prefix, number in numbers):
            continue
        values = [int(number, base) for _, number in numbers]
        if max(values) <= 0xFF:
            texts += _read(bytes(values))
        elif max(values) <= 0x10FFFF:
            texts.append("".join(map(_code_point, values)))
    return texts


_HEX_DIGITS, _DECIMAL = set("0123456789abcdefABCDEF"), set("0123456789")


def _punycode_decoded(run: str) -> list[str]:
    """A host name's label in punycode (RFC 3492: IDNA's xn--), as Chromium and urllib3 write a non-ASCII one."""
    with contextlib.suppress(UnicodeError):
        return [run[4:].lower().encode().decode("punycode")]  # a host name's case is no part of it
    return []


def _utf7_decoded(run: str) -> list[str]:
    """A text with UTF-7's shifted parts (+ then base64 of UTF-16: RFC 2152) decoded; a + that begins none is
    itself (a space, form-encoded)."""
    if not any(map(_shifted_utf16, _UTF7_SHIFT.findall(run))):
        return []
    return [_UTF7_PLUS.sub("+-", run[:MAX_RUN]).encode("utf-8", "replace").decode("utf-7", "replace")]


def _shifted_utf16(part: str) -> bool:
    """Whether `part` is what a UTF-7 encoder writes after a +: base64 of whole UTF-16 units, the bits left over
    zero (RFC 2152), of characters it does not write as they are (one not in ASCII, mostly)."""
    try:
        decoded = f"+{part}-".encode().decode("utf-7")
    except UnicodeDecodeError:
        return False
    return bool(decoded) and not (decoded.isascii() and decoded.isalnum())


_UTF7_SHIFT = re.compile("\\+([A-Za-z0-9/]{2,})")
_UTF7_PLUS = re.compile("\\+(?![A-Za-z0-9/+-])")
# UTF-7's shifted parts (+ then base64 of UTF-16), a few in a row, with what is around them on their line
_UTF7_AROUND = 64  # characters of the line taken before, between and after them
_UTF7_RUN = re.compile(f"[^\\n+]{{0,{_UTF7_AROUND}}}(?:\\+[^\\n+]{{0,{_UTF7_AROUND}}}){{1,16}}")


def _utf7_runs(text: str) -> Iterator[re.Match]:
    """What _UTF7_RUN.finditer(text) yields, found in one pass: finditer tries the pattern at every position of the
    text, and each try reads up to 64 characters before it fails where no + is near (most of a text), which made it
    half of what scrubbing cost. The pattern matches at a position exactly where the next + after it is at most 64
    characters on with no newline between (its first {0,64} of neither, then the +; the rest may be empty), so the
    leftmost match after the last one ends begins at the first such position before the next +: there the pattern
    is tried once. (tests/test_redaction.py compares the two on texts of every arrangement of +, newlines and
    other characters.)"""
    end = 0
    while (plus := text.find("+", end)) >= 0:
        match = _UTF7_RUN.match(text, max(end, plus - _UTF7_AROUND, text.rfind("\n", end, plus) + 1))
        assert match is not None  # it matches at that position, whatever follows the +
        yield match
        end = match.end()


# Each kind of run: the character without which a text has none ("" for those that have none), the runs of a text,
# what each may be decoded to.
_RUNS: tuple[tuple[str, Callable[[str], Iterator[re.Match]], Callable[[str], Sequence[str]]], ...] = (
    ("", re.compile(f"[A-Za-z0-9+/_-]{{{MIN_RUN},}}={{0,6}}").finditer, _blob_decoded),
    # at least six numbers (a secret's shortest), one separator throughout, begun and ended by no letter or digit
    (
        "",
        re.compile(
            r"(?<![0-9A-Za-z])(?:0[xX])?[0-9A-Fa-f]{1,8}(,[ +]?|;[ +]?|[ +]|:|\|)"
            r"(?:(?:0[xX])?[0-9A-Fa-f]{1,8}\1){4,}(?:0[xX])?[0-9A-Fa-f]{1,8}(?![0-9A-Za-z])"
        ).finditer,
        _number_list_decoded,
    ),
    ("-", re.compile("(?i)(?<![a-z0-9-])xn--[a-z0-9-]{2,59}").finditer, _punycode_decoded),
    ("+", _utf7_runs, _utf7_decoded),
)


class _Spans:
    """Spans of a text, joined where they overlap: whether one covers a span whole."""

    def __init__(self, spans: Iterable) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for start, end, *_ in sorted(spans):
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def covers(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.starts, start) - 1
        return i >= 0 and end <= self.ends[i]


def decoded(text: str) -> list[str]:
    """The text, and the text with its escapes decoded (_views): where a secret is looked for."""
    return [view.text for view in _views(text)]


# Building a character into an automaton costs about as much as searching 200 characters of a text
# for one encoding with str.find (measured: 100-200 against 0.5-0.9 nanoseconds).
BUILD_COST = 200
# Searching a text for one encoding costs a Python loop's turn and a str.find call besides its characters: as
# much as searching 150 characters (measured: 220-290 nanoseconds for a text of 10 or 100 characters).
FIND_COST = 150
# Taking every slice of GRAM characters of a text into a set costs as much per character as searching 200
# characters for one encoding (measured: 90-105 nanoseconds a character); a text up to MAX_GRAM_TEXT long
# is searched that way (a longer one's set would take tens of bytes a character).
GRAM = MIN_SECRET_LENGTH  # every encoding is at least this long (a secret's shortest; a blob's pattern is longer)
GRAM_COST = 200
MAX_GRAM_TEXT = 1 << 16


class _Group:
    """An Aho-Corasick automaton over the encodings of some secrets."""

    def __init__(self, words: tuple) -> None:
        # (encoding, (length, label, alphabet of the blob it is part of or "", characters of that part before
        # the encoding)); a later duplicate's wins, as in a dict
        self.words = words
        self.automaton = ahocorasick.Automaton()
        add_word = self.automaton.add_word
        for form, value in words:
            add_word(form, value)
        self.automaton.make_automaton()

    def matches(self, text: str):
        """Every occurrence, overlapping ones too: the caller joins them."""
        for end, (length, label, *blob) in self.automaton.iter(text):
            yield end + 1 - length, end + 1, label, blob


class _Pending:
    """Encodings not built into a group yet, each filed under its last GRAM characters: a short text is
    searched only for those filed under a slice of it (the set of its slices of GRAM characters), so what
    searching it costs does not grow with the secrets learned; a long text is searched for each.

    Only ever added to, under the Redactor's lock, and replaced by a new one when built: a scrub that took
    one sees every encoding learned before it began (and maybe some learned since, masked as well)."""

    def __init__(self) -> None:
        self.words: list = []  # (encoding, value) in the order learned: a later duplicate's wins when built
        self.characters = 0
        self._by_end: dict[str, list] = {}

    def add(self, words: dict) -> None:
        by_end = self._by_end
        for word in words.items():
            by_end.setdefault(word[0][-GRAM:] if len(word[0]) >= GRAM else "", []).append(word)
        self.words += words.items()
        self.characters += sum(map(len, words))

    def _sliced(self, text: str) -> bool:
        """Whether `text` is searched through its slices: where that costs less than each encoding's search."""
        return len(text) <= MAX_GRAM_TEXT and len(text) * GRAM_COST < (len(text) + FIND_COST) * len(self.words)

    def cost(self, text: str) -> int:
        """What searching `text` costs, in characters searched for one encoding (BUILD_COST's unit)."""
        return len(text) * GRAM_COST if self._sliced(text) else (len(text) + FIND_COST) * len(self.words)

    def occurrences(self, text: str):
        """Every occurrence of each pending encoding, overlapping ones too, as _Group.matches gives them (one
        shorter than GRAM, were there any, is filed under "" and searched for in every text)."""
        if self._sliced(text):
            by_end = self._by_end
            ends = {text[i : i + GRAM] for i in range(len(text) - GRAM + 1)} | {""}
            words: Iterable = itertools.chain.from_iterable(by_end[end] for end in ends if end in by_end)
        else:
            words = iter(self.words)
        for form, (length, label, *blob) in words:
            start = text.find(form)
            while start >= 0:
                yield start, start + length, label, blob
                start = text.find(form, start + 1)


class Redactor:
    def __init__(self) -> None:
        self._known: dict[str, str] = {}  # each secret registered, and its label
        # (groups, pending): each group at least twice the size of the next, as a binary counter's bits;
        # pending encodings not built into a group yet. Replaced in one assignment, so a scrub takes both from
        # the same moment without the lock: a secret is in one or the other.
        self._state: tuple[tuple[_Group, ...], _Pending] = ((), _Pending())
        self._searched = 0  # characters x encodings searched for pending ones since the last build
        self._fields = set(SECRET_FIELDS)
        self._lock = threading.Lock()
        # texts decoded from runs that held none of the secrets learned so far (most runs are the same token, JWT
        # header or hash in text after text): not searched again until a secret is learned
        self._clean: dict[str, None] = {}
        self._elided = _ElidedPieces()
        # texts scrubbed since the secrets or their groups last changed, and what each became (a report's details
        # quote the exchanges' texts again: a conformance run made 4370 scrubs of 1688 texts): replaced whenever
        # either changes, and filled only by a scrub that ran from start to end with the one it took (Redactor.scrub)
        self._scrubbed: dict[str, str] = {}

    def register(self, value: object, label: str) -> None:
        """From now on, `value` is shown as [label] wherever and however encoded it appears."""
        if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            if value in self._known:
                return
            self._known[value] = label
            words = {form: (len(form), label, "", 0, 0, 0) for form in _plain_encodings(value)}
            # base32's alphabet is base64's but for a few letters: its blob is walked through as base64's
            blobs = (
                (BASE64, dict.fromkeys(base64_encodings(value) | base32_encodings(value), _WHOLE_BLOB)),
                (HEX, dict.fromkeys(hex_encodings(value), _WHOLE_BLOB)),
                (UU, _uu_cores(value)),
                (BASE85, _base85_cores(value)),
            )
            for alphabet, forms in blobs:
                for form, (before_most, after_most) in forms.items():
                    pattern = form[-BLOB_PATTERN:]
                    words[pattern] = (len(pattern), label, alphabet, len(form) - len(pattern), before_most, after_most)
            self._state[1].add(words)
            self._clean = {}
            self._elided.add(value, label)
            self._scrubbed = {}

    def known(self) -> dict[str, str]:
        """Each secret registered, as it is, and its label (for what looks for it otherwise than as a
        scrub does: a screenshot's text, spaced out or split)."""
        with self._lock:
            return dict(self._known)

    def _build(self) -> tuple:
        """Turns the pending encodings into a group, merged with the last groups until each group
        is at least twice the next (batches come in any size: a long text builds what is pending).
        Lock held."""
        built, pending = self._state
        groups, words = list(built), tuple(pending.words)
        while groups and len(groups[-1].words) < 2 * len(words):
            words = groups.pop().words + words
        self._state = (*groups, _Group(words)), _Pending()
        self._searched = 0
        self._scrubbed = {}
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
        # A text scrubbed again is what it became the first time, as long as no secret was learned and no group
        # built since: what a scrub finds depends on the text and those alone (the clean texts it skips hold none
        # of the same secrets; its budget is its own). Taken before the scrub and kept only if no register or
        # build replaced it meanwhile (each replaces it after it changed what a scrub reads): the result was made
        # with every secret learned before any scrub that finds it there began.
        scrubbed = self._scrubbed
        kept = len(text) <= MAX_SCRUBBED_TEXT
        if kept and (known := scrubbed.get(text)) is not None:
            return known
        result = mask_userinfo(self._elided.masked(self._scrub_secrets(text)))
        if kept and self._scrubbed is scrubbed:
            if len(scrubbed) >= MAX_SCRUBBED:
                scrubbed.clear()
            scrubbed[text] = result
        return result

    def _scrub_secrets(self, text: str) -> str:
        found = self._found(text, [MAX_DECODED], 0)
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

    def _found(self, text: str, budget: list[int], layer: int) -> list[tuple[int, int, str]]:
        """Where `text` holds a secret, and its label: an encoding of it in the text or in a view of it (_views), or
        a run (_RUNS) whose decoded texts hold one, RUN_LAYERS deep, `budget` characters decoded at most."""
        views = _views(text)
        groups, pending = self._state
        if pending.words:
            # Search for the pending ones until that has cost as much as building them would (a ski rental):
            # never more than twice the cheaper of the two, and a long text forces a build at once.
            search = sum(map(pending.cost, (view.text for view in views)))
            if self._searched + search > pending.characters * BUILD_COST:
                with self._lock:
                    groups, pending = self._build() if self._state[1].words else self._state
            else:
                self._searched += search  # unlocked: a lost update only delays a build
        found = []
        for view in views:
            for start, end, label, blob in itertools.chain(
                *(group.matches(view.text) for group in groups), pending.occurrences(view.text)
            ):
                if blob[0]:
                    start, end = _blob_around(view.text, start, end, *blob)
                start, end, decoded = view.original(start, end)
                if decoded or view.parent is None:
                    found.append((start, end, label))
        if layer < RUN_LAYERS and (groups or pending.words):
            found += self._runs_holding_secrets(views, found, budget, layer)
        return found

    def _runs_holding_secrets(self, views: list["_View"], found: list, budget: list[int], layer: int) -> list:
        """The runs (_RUNS) of the text that `views` are views of, not masked already, whose decoded texts hold a
        secret, each whole and with that secret's label. The decoded texts of all runs are searched as one
        text, a line between each two (no encoding or run goes over one)."""
        masked = _Spans(found)
        clean = self._clean  # taken first: a secret learned since replaces it
        runs: list[tuple[int, int]] = []
        texts: list[str] = []
        seen = set()
        for view in views:
            for mark, runs_of, decode in _RUNS:
                if mark not in view.text:
                    continue
                for match in runs_of(view.text):
                    run = match.group()
                    # most runs are words, or the same token or JWT header text after text: nothing to search
                    unknown = [text for text in decode(run) if text not in clean]
                    if not unknown:
                        continue
                    start, end, _ = view.original(match.start(), match.end())
                    if (decode, run, start, end) in seen or masked.covers(start, end):
                        continue  # the same run in a view read before, or masked whole already
                    seen.add((decode, run, start, end))
                    for text in unknown:
                        if budget[0] < len(text):
                            break
                        budget[0] -= len(text)
                        runs.append((start, end))
                        texts.append(text)
        if not texts:
            return []
        starts = list(itertools.accumulate((len(text) + len(_RUN_SEPARATOR) for text in texts[:-1]), initial=0))
        holding = {
            bisect.bisect_right(starts, start) - 1: label
            for start, _, label in self._found(_RUN_SEPARATOR.join(texts), budget, layer + 1)
        }
        if len(clean) > MAX_CLEAN:
            clean.clear()
        clean.update((text, None) for i, text in enumerate(texts) if i not in holding and len(text) <= MAX_CLEAN_TEXT)
        return [(*runs[i], label) for i, label in holding.items()]

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


# A text that cuts a long value shows its head and tail around an ellipsis: Chromium's console preview writes a
# string of over 100 characters as its first 50, "…" and its last 50 (DevTools' trimMiddle), other loggers end a
# cut one with "...". Neither piece is the secret, so none of its encodings matches. A piece is masked where it is
# at least ELIDED_PIECE characters of a secret's head (before the ellipsis) or tail (after it): 12 random base64url
# characters are 72 bits, enough to identify a token's tail and to guess none, and no word of a text matches them by
# chance; a shorter piece (a JWT's "eyJhbGciOi", every JWT's) is left as written. A JWT's head is its header, the
# same in every token: masked with it, which hides nothing a reader needs. ELIDED_WINDOW bounds a piece's length.
ELIDED_PIECE = 12
ELIDED_WINDOW = 256
_ELLIPSIS = re.compile(r"…|\.\.\.")
# A code_verifier the suite knows (one the application sent in a token request, or printed whole) cut to its first
# VERIFIER_HEAD characters or more, with no ellipsis after: still its secret, masked. A verifier is random (RFC 7636
# section 7.1: "high entropy"), so 20 of its characters at the start of a run of its alphabet are no ordinary word.
VERIFIER_HEAD = 20
_VERIFIER_RUN = re.compile(rf"(?<![A-Za-z0-9\-._~])[A-Za-z0-9\-._~]{{{VERIFIER_HEAD},128}}(?![A-Za-z0-9\-._~])")


class _ElidedPieces:
    """The secrets' heads and tails of ELIDED_PIECE characters, to find a cut secret's pieces by (Redactor.scrub)."""

    def __init__(self) -> None:
        self._heads: dict[str, list[tuple[str, str]]] = {}  # first ELIDED_PIECE characters -> (secret, label)
        self._tails: dict[str, list[tuple[str, str]]] = {}
        self._verifiers: dict[str, list[str]] = {}  # first VERIFIER_HEAD characters -> the code_verifiers

    def add(self, value: str, label: str) -> None:
        if len(value) >= ELIDED_PIECE:
            self._heads.setdefault(value[:ELIDED_PIECE], []).append((value, label))
            self._tails.setdefault(value[-ELIDED_PIECE:], []).append((value, label))
        if label == "code_verifier" and len(value) > VERIFIER_HEAD:
            self._verifiers.setdefault(value[:VERIFIER_HEAD], []).append(value)

    def masked(self, text: str) -> str:
        """`text` with each secret's head just before an ellipsis, and tail just after one, and each code_verifier's
        head, replaced by its label."""
        if self._verifiers:
            text = _VERIFIER_RUN.sub(self._verifier_head, text)
        if not self._heads or ("…" not in text and "..." not in text):
            return text
        spans: list[tuple[int, int, str]] = []
        for ellipsis in _ELLIPSIS.finditer(text):
            spans += self._head_before(text, ellipsis.start()) + self._tail_after(text, ellipsis.end())
        pieces, position = [], 0
        for start, end, label in sorted(spans):
            if start < position:  # a tail that is the next ellipsis's head too ("a…b…c"): masked once
                continue
            pieces += [text[position:start], f"[{label}]"]
            position = end
        return "".join(pieces) + text[position:]

    def _verifier_head(self, run: re.Match[str]) -> str:
        # The run may go on past the verifier's head with characters of its alphabet (a full stop, "-cut", "_x"):
        # the longest prefix the run shares with a known verifier is masked, the rest of the run is left as written.
        text = run.group()
        known = self._verifiers.get(text[:VERIFIER_HEAD], ())
        for shared in range(len(text), VERIFIER_HEAD - 1, -1) if known else ():  # the longest prefix first
            if any(verifier.startswith(text[:shared]) for verifier in known):
                return "[code_verifier]" + text[shared:]
        return text

    def _head_before(self, text: str, end: int) -> list[tuple[int, int, str]]:
        for start in range(max(end - ELIDED_WINDOW, 0), end - ELIDED_PIECE + 1):  # the longest piece first
            for value, label in self._heads.get(text[start : start + ELIDED_PIECE], ()):
                if value.startswith(text[start:end]):
                    return [(start, end, label)]
        return []

    def _tail_after(self, text: str, start: int) -> list[tuple[int, int, str]]:
        for end in range(min(start + ELIDED_WINDOW, len(text)), start + ELIDED_PIECE - 1, -1):
            for value, label in self._tails.get(text[end - ELIDED_PIECE : end], ()):
                if value.endswith(text[start:end]):
                    return [(start, end, label)]
        return []


REDACTOR = Redactor()


def learn_plain_code_challenge(challenge: str | None, method: str | None) -> None:
    """A code_challenge sent with the plain method is the code_verifier itself (RFC 7636 section 4.2: "plain
    code_challenge = code_verifier"), and a request without code_challenge_method asks for plain (section 4.3:
    "Defaults to "plain" if not present in the request"): masked as the verifier it is, wherever it appears
    (the authorization request's URL, its reproduce lines), also where no code redemption ever showed the
    verifier."""
    if challenge and (method or "plain") == "plain":
        REDACTOR.register(challenge, "code_verifier")


# The S256 code_challenges a stand-in received (learn_s256_code_challenge): each hides a code_verifier that
# only its preimage shows. RFC 7636 section 4.1: a verifier is 43 to 128 of these characters.
_S256_CHALLENGES: set[str] = set()
_VERIFIER_SHAPED = re.compile(r"(?<![A-Za-z0-9\-._~])[A-Za-z0-9\-._~]{43,128}(?![A-Za-z0-9\-._~])")


def learn_s256_code_challenge(challenge: str | None, method: str | None) -> None:
    """An S256 code_challenge received: learn_verifiers_in masks the code_verifier behind it wherever an output
    shows it, also where no code redemption ever did (a sign-in that never finished)."""
    if challenge and method == "S256":
        _S256_CHALLENGES.add(challenge)


def learn_verifiers_in(text: str) -> str:
    """`text` (an application's output) as it is, each string in it whose S256 hash is a code_challenge received
    (RFC 7636 section 4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))) registered as the code_verifier it is:
    an application that logs its verifiers had those of its redeemed codes masked, and the others in clear."""
    if _S256_CHALLENGES:
        for match in _VERIFIER_SHAPED.finditer(text):
            digest = hashlib.sha256(match.group().encode("ascii")).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() in _S256_CHALLENGES:
                REDACTOR.register(match.group(), "code_verifier")
    return text


def mask_userinfo(text: str) -> str:
    """`text` with the user:password part of each URL in it replaced (https://[userinfo redacted]@host)."""
    return _USERINFO.sub(r"\1[userinfo redacted]@", text) if "@" in text else text


MAX_LINE = 2000  # characters of one line of a message: a server's value is shown, not copied whole

# What a terminal or a viewer acts on instead of showing: C0 controls but tab and newline (ESC begins
# the sequences that set a window's title, clear the screen or write the clipboard: OSC 52), DEL, C1
# (0x9b and 0x9d begin the same sequences in one character), and the Unicode marks that reorder or
# break the text around them (bidirectional overrides and isolates, line and paragraph separators).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with each control character written as its escape (ESC as \\x1b): what an application or a
    server wrote, shown in the terminal, the record, JUnit XML or the report, is read, not obeyed."""
    return _CONTROL.sub(_escape_control, text) if _CONTROL.search(text) else text


def _escape_control(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def said(text: str) -> str:
    """A text from an application or a server as the suite says it: scrubbed of every secret, its
    control characters made visible (after the scrub, which reads the text as it was written)."""
    return visible(REDACTOR.scrub(text))


def readable(text: str | None) -> str | None:
    """A message or trace as people read it: scrubbed of every secret, then every line longer
    than MAX_LINE cut (an error_description of megabytes would fill the terminal, JUnit and the
    record; the exchange attached to the report keeps the whole body)."""
    if not text:
        return text
    return "\n".join(
        line if len(line) <= MAX_LINE else f"{line[:MAX_LINE]}... ({len(line)} characters)"
        for line in said(text).split("\n")
    )


def excerpt(text: str, limit: int = 200) -> str:
    """The head of a body for a message, quoted: scrubbed first, then cut, so that no head of a
    secret the cut would split can survive. A blob that holds a secret (unpacked: reversed base64,
    gzip in base64) is masked whole, as no encoding the scrubber knows matches it."""
    return repr(REDACTOR.scrub(blobs_masked(text))[:limit])


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


# Blobs a hostile party wraps a secret in, unwrapped where a leak is looked for (appside.steps.leaks.leaked): a
# run of base64 (standard or URL-safe), read as it is and reversed, decoded; what decodes to gzip or zlib
# (their magic bytes) inflated; each result read again, LAYERS deep ("base64 twice"). Bounded: UNPACKED_KEPT
# bytes made from one text in all, so a page of megabytes of base64 costs one pass and no more memory.
BASE64_RUN = re.compile(r"={0,2}[A-Za-z0-9+/_-]{24,}={0,2}")
LAYERS = 2
UNPACKED_KEPT = 16 * 1024 * 1024


def unpacked(text: str) -> list[str]:
    """The texts the base64 blobs of `text` hold (forward or reversed), inflated where compressed, LAYERS deep."""
    found: list[str] = []
    budget = [UNPACKED_KEPT]

    def walk(written: str, depth: int) -> None:
        for match in BASE64_RUN.finditer(written):
            run = match.group()
            for candidate in (run, run[::-1]):
                data = _base64_decoded(candidate.strip("="))
                if not data:
                    continue
                data = inflated(data, budget[0]) or data
                budget[0] -= len(data)
                if budget[0] < 0:
                    return
                unwrapped = data.decode("utf-8", errors="replace")
                found.append(unwrapped)
                if depth < LAYERS:
                    walk(unwrapped, depth + 1)

    walk(text, 1)
    return found


def _base64_decoded(run: str) -> bytes:
    run = run[: len(run) - len(run) % 4] if len(run) % 4 == 1 else run
    try:
        if "-" in run or "_" in run:
            return base64.urlsafe_b64decode(run + "=" * (-len(run) % 4))
        return base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
    except (binascii.Error, ValueError):
        return b""


GZIP_MAGIC, ZLIB_MAGIC = b"\x1f\x8b", (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")


def inflated(data: bytes, kept: int = UNPACKED_KEPT, deflate: bool = False) -> bytes:
    """`data` inflated where it is gzip or zlib (by its magic bytes), or raw deflate where `deflate` says a
    header named it (Content-Encoding: deflate); at most `kept` bytes of it (a zip bomb is read no further);
    b"" where it is none of them."""
    if data.startswith(GZIP_MAGIC):
        window = 31
    elif data[:2] in ZLIB_MAGIC:
        window = 15
    elif deflate:
        window = -15
    else:
        return b""
    try:
        return zlib.decompressobj(window).decompress(data, max(kept, 0))
    except zlib.error:
        return b""


def blobs_masked(text: str) -> str:
    """`text` with each base64 run whose unpacked forms hold a secret the suite knows replaced by a mark."""
    known = [value for value in REDACTOR.known() if len(value) >= MIN_SECRET_LENGTH]
    if not known:
        return text

    def mask(match: re.Match) -> str:
        run: str = match.group()
        if any(value in unwrapped for unwrapped in unpacked(run) for value in known):
            return f"[a blob of {len(run)} characters holding a secret]"
        return run

    return BASE64_RUN.sub(mask, text)
