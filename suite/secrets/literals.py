"""A text with the escapes of string literals decoded, as the languages that print them would read them: a
secret a program prints inside a quoted string (Perl's Data::Dumper with Useqq, Python's repr(), JSON, C, a
shell's $'...', HTML character references) is there in the text in another form. The scrubber masks a
secret in each form escaped_forms() writes (suite.secrets.redaction); the application side's APPC-28 reads a
text with unescaped(), so that it finds the secret in every one.

Read generically, not language by language: each backslash escape any of them writes, wherever it stands
(inside a quoted string or not; a secret is looked for, so reading one too many only finds what is there):

    \\x{e9} \\o{351} \\N{U+E9}           Perl (Data::Dumper's Useqq writes \\x{...} for every non-ASCII character)
    \\N{LATIN SMALL LETTER E WITH ACUTE}  Python, Perl
    \\u00e9 \\U000020ac \\ud83d\\ude00      Python, JSON, Java, C (a UTF-16 surrogate pair joined)
    \\u{e9}                             JavaScript, Rust, Swift, Ruby
    \\xe9 \\351                          a code point (Python's str repr), or a byte (bytes repr, C, $'...': UTF-8
                                       bytes read as such): both readings are made
    \\n \\t \\e ... and \\" \\' \\\\ \\$ \\@    the one-character escapes; any other escaped character is itself
    &#233; &#xe9; &eacute;              HTML and XML character references
"""

import html
import re
import unicodedata

# what one backslash escape is, the longest form first: \x{..} before \x.., \N{U+..} before \N{name}
_ESCAPE = re.compile(
    r"\\(?:x\{(?P<braced>[0-9A-Fa-f]{1,8})\}|u\{(?P<ubraced>[0-9A-Fa-f]{1,8})\}|N\{U\+(?P<named_hex>[0-9A-Fa-f]{1,8})\}"
    r"|N\{(?P<name>[A-Za-z0-9][A-Za-z0-9 \-]*)\}|o\{(?P<obraced>[0-7]{1,11})\}|U(?P<u8>[0-9A-Fa-f]{8})"
    r"|u(?P<u4>[0-9A-Fa-f]{4})|x(?P<x2>[0-9A-Fa-f]{1,2})|(?P<octal>[0-7]{1,3})|(?P<other>.))",
    re.S,
)
_SINGLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b"}
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_HIGH_BYTES = re.compile("[\x80-\xff]+")  # bytes written as \xHH or octal, kept as Latin-1 characters
LAYERS = 2  # a literal inside a literal (JSON in a JSON string: \\u00e9)


def unescaped(text: str) -> list[str]:
    """The readings of `text` with its string-literal escapes decoded (LAYERS deep), each once; none where it
    has no backslash nor character reference. \\xHH and octal escapes are read both as code points and as
    bytes (a UTF-8 run of them as the character it encodes)."""
    readings: list[str] = []
    layer = [text]
    for _ in range(LAYERS):
        layer = [
            reading
            for written in layer
            if "\\" in written or "&" in written
            for reading in (
                _decoded(written, as_bytes=False),
                _decoded(written, as_bytes=True),
                html.unescape(written),  # HTML's references alone: a backslash there is itself
            )
            if reading != written and reading not in readings
        ]
        layer = list(dict.fromkeys(layer))
        readings += layer
    return readings


def _decoded(text: str, as_bytes: bool) -> str:
    decoded = _ESCAPE.sub(lambda match: _character(match, as_bytes), text)
    if as_bytes:
        decoded = _HIGH_BYTES.sub(_utf8, decoded)
    decoded = _SURROGATE_PAIR.sub(_joined, decoded)
    return html.unescape(decoded) if "&" in decoded else decoded


def _character(match: re.Match[str], as_bytes: bool) -> str:
    groups = match.groupdict()
    for key in ("braced", "ubraced", "named_hex", "u8", "u4"):
        if groups[key] is not None:
            return _code_point(int(groups[key], 16), match.group())
    if groups["obraced"] is not None:
        return _code_point(int(groups["obraced"], 8), match.group())
    if groups["name"] is not None:
        try:
            return unicodedata.lookup(groups["name"])
        except KeyError:
            return match.group()
    if groups["x2"] is not None or groups["octal"] is not None:
        value = int(groups["x2"], 16) if groups["x2"] is not None else int(groups["octal"], 8)
        return chr(value) if value <= 0xFF or not as_bytes else match.group()
    other = groups["other"]
    return _SINGLE.get(other, other)


def _code_point(value: int, written: str) -> str:
    return chr(value) if value <= 0x10FFFF else written


def _utf8(match: re.Match[str]) -> str:
    """A run of bytes (as Latin-1 characters) read as UTF-8 where it is that, else left as it is."""
    try:
        return match.group().encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return match.group()


def _joined(match: re.Match[str]) -> str:
    return match.group().encode("utf-16", "surrogatepass").decode("utf-16")


def _utf8_bytes(code: int, byte: str = "\\x%02x") -> str:
    return "".join(byte % value for value in chr(code).encode("utf-8", "surrogatepass"))


def _utf16(code: int, unit: str) -> str:
    if code < 0x10000:
        return unit % code
    code -= 0x10000
    return unit % (0xD800 + (code >> 10)) + unit % (0xDC00 + (code & 0x3FF))


# How each language's string literal writes a character it escapes (non-ASCII, a control character), one style a
# form: a program writes every such character of a value alike
_STYLES = (
    lambda code: f"\\x{{{code:x}}}",  # Perl's Data::Dumper (Useqq), Perl's qq
    lambda code: f"\\N{{U+{code:X}}}",  # Perl
    lambda code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}",  # repr
    lambda code: f"\\U{code:08x}",  # Python, C
    lambda code: _utf16(code, "\\u%04x"),  # JSON, Java, JavaScript
    lambda code: _utf16(code, "\\u%04X"),  # JSON as Java and .NET write it
    lambda code: f"\\u{{{code:x}}}",  # JavaScript, Rust, Swift, Ruby
    _utf8_bytes,  # C, Go's %q of bytes, a shell's $'...'
    lambda code: _utf8_bytes(code, "\\%03o"),  # C, Data::Dumper's Useqq of bytes, $'...' in the C locale
)
_HTML_STYLES = (lambda code: f"&#{code};", lambda code: f"&#x{code:x};")
# what the quotes and backslash of a value become inside a literal of each kind (None: as they are)
_BACKSLASHED = (
    str.maketrans({"\\": "\\\\"}),  # a literal that needs no quote escaped (Python's repr picks its quotes so)
    str.maketrans({"\\": "\\\\", '"': '\\"'}),  # "..." in C, JSON, Python, JavaScript
    str.maketrans({"\\": "\\\\", '"': '\\"', "$": "\\$", "@": "\\@"}),  # "..." in Perl (Data::Dumper's Useqq)
    str.maketrans({"\\": "\\\\", "'": "\\'"}),  # '...' in Python's repr, JavaScript
)
_HTML_ESCAPED = (None, str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}))


_LITERAL_SPECIALS = re.compile(r"[\\\"'$@&<>]")


def escaped_forms(value: str) -> set[str]:
    """`value` as string literals write it with escapes for its non-ASCII and control characters, each language's
    way (the forms unescaped() reads), other than `value` itself: what a scrubber that knows a secret as it is must
    also mask (Perl's "\\$" and "\\@" in an ASCII value too). None for a printable ASCII value without a quote, a
    backslash, $ or @: every literal writes it as it is."""
    if value.isascii() and value.isprintable() and not _LITERAL_SPECIALS.search(value):
        return set()
    forms = set()
    for styles, quotings in ((_STYLES, _BACKSLASHED), (_HTML_STYLES, _HTML_ESCAPED)):
        for style in styles:
            for quoting in quotings:
                plain = value.translate(quoting) if quoting is not None else value
                forms.add("".join(style(ord(c)) if not c.isascii() or not c.isprintable() else c for c in plain))
    return forms - {value}
