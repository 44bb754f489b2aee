"""The secret scrubber on its own: a secret is masked in every encoding from the moment it is
learned, whether it is still pending or built into an automaton, from any thread."""

import base64
import binascii
import codecs
import functools
import html
import itertools
import json
import math
import os
import re
import secrets
import shlex
import string
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Callable
from html.entities import codepoint2name
from urllib.parse import quote, quote_plus

import pytest

from suite.secrets.redaction import MAX_GRAM_TEXT, Redactor, encodings


def _leaks(redactor: Redactor, values: list[str], text_around: str = "") -> list[str]:
    """The encodings of `values` a scrub of a text holding all of them lets through."""
    forms = [form for value in values for form in sorted(encodings(value))]
    scrubbed = redactor.scrub(text_around.join(forms) + text_around)
    return [form for form in forms if form in scrubbed]


def test_every_encoding_is_masked_while_pending_once_built_and_in_a_long_text():
    redactor = Redactor()
    # Each such value has some 360 encodings (its non-ASCII character's charsets, normal forms and escapes):
    # 122 make 44,000 encodings, built into a few groups by the texts below, some left pending.
    values = ["s3cr3t/" + secrets.token_urlsafe(24) + "+ø" for _ in range(122)]
    for value in values[:5]:
        redactor.register(value, "secret")
    assert redactor._state[1].words and not redactor._state[0]  # learning alone builds nothing
    # While pending, a short text is searched for them and nothing is built. (A text with all of a value's
    # encodings costs more to search than building them: a scrub of one builds them.)
    few = [form for value in values[:5] for form in sorted(encodings(value))[:3]]
    scrubbed = redactor.scrub(" ".join(few) + " ")
    assert not [form for form in few if form in scrubbed]
    assert not redactor._state[0], "a short text searched for the pending encodings"
    assert not _leaks(redactor, values[:5], " ")
    assert redactor._state[0], "a text of every encoding built them"
    for value in values[5:-2]:
        redactor.register(value, "secret")
    groups, pending = redactor._state
    assert len(groups) == 1 and len(pending.words) > 10 * len(groups[0].words), "learning alone builds nothing"
    # a short text (a quarter of the encodings of a built and a pending one: with their ciphers, all of them make
    # a text long enough to build)
    few = [form for value in values[:1] + values[-3:-2] for form in sorted(encodings(value))[::4]]
    scrubbed = redactor.scrub(" ".join(few) + " ")
    assert not [form for form in few if form in scrubbed]
    assert redactor._state[0] == groups, "a short text searched for the pending encodings"
    for value in values[-2:]:  # learned after that text
        redactor.register(value, "secret")
    # A long text builds what is pending first; each encoding, between two runs of newlines (no blob of
    # base64, uuencode or base85 around it: "!" is one of the last two's characters), is masked whole. The
    # encodings alone make the text long (millions of characters, hundreds of times what building the
    # pending ones costs: BUILD_COST), so a short run separates them.
    forms = [form for value in values for form in encodings(value)]
    run = "\n" * 4
    assert redactor.scrub(run + run.join(forms)) == run + run.join(["[secret]"] * len(forms))
    groups, pending = redactor._state
    assert not pending.words
    sizes = [len(group.words) for group in groups]
    assert all(size >= 2 * smaller for size, smaller in itertools.pairwise(sizes)), sizes
    assert len(groups) <= math.log2(sum(sizes)) + 1


def test_a_secret_learned_since_the_last_scrub_of_the_same_text_is_masked_before_and_after_a_build():
    """A short text is searched for the pending encodings filed under its slices (_Pending): one learned
    since the same text was last scrubbed is found as well; a text longer than MAX_GRAM_TEXT builds them
    first, and one learned after that build is pending again."""
    redactor = Redactor()
    tokens = ["eyJ" + secrets.token_urlsafe(900) for _ in range(3)]
    for _ in range(100):  # more to build than the texts below cost to search: they build nothing
        redactor.register(secrets.token_urlsafe(32), "secret")
    redactor.register(tokens[0], "access_token")
    text = f"Bearer {tokens[0]}, then {quote(tokens[1])} and {json.dumps(tokens[2])}"
    assert redactor.scrub(text) == f"Bearer [access_token], then {quote(tokens[1])} and {json.dumps(tokens[2])}"
    redactor.register(tokens[1], "refresh_token")
    assert redactor.scrub(text) == f"Bearer [access_token], then [refresh_token] and {json.dumps(tokens[2])}"
    assert not redactor._state[0], "a short text searched for the pending encodings"
    filler = "lorem ipsum dolor sit amet, " * (MAX_GRAM_TEXT // 28 + 1)
    assert (
        redactor.scrub(filler + text)
        == filler + f"Bearer [access_token], then [refresh_token] and {json.dumps(tokens[2])}"
    )
    groups, pending = redactor._state
    assert groups and not pending.words, "a long text built them first"
    redactor.register(tokens[2], "id_token")
    assert redactor._state[1].words
    assert redactor.scrub(text) == 'Bearer [access_token], then [refresh_token] and "[id_token]"'
    assert redactor.scrub(filler + text) == filler + 'Bearer [access_token], then [refresh_token] and "[id_token]"'


def test_a_secret_learned_in_one_thread_is_masked_at_once_while_others_learn_and_scrub():
    redactor = Redactor()
    leaks = []

    def learn_and_scrub():
        for _ in range(400):
            value = secrets.token_urlsafe(32)
            redactor.register(value, "token")
            leaks.extend(_leaks(redactor, [value], " and "))

    threads = [threading.Thread(target=learn_and_scrub) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not leaks, leaks[:3]
    assert redactor._state[0], "the scrubs built groups while other threads learned"


def test_a_secret_is_masked_as_a_server_that_form_decodes_it_echoes_it():
    """A raw secret with "+" or "%41" that a server form-decodes (RFC 6749 section 2.3.1) comes back
    with a space or an "A": that form is the secret too."""
    redactor = Redactor()
    secret = "Svc/Secret+7f3a+9c1e%41" + secrets.token_urlsafe(8)
    redactor.register(secret, "secret")
    echoed = f'{{"error": "invalid_client", "client_secret": "{secret.replace("+", " ").replace("%41", "A")}"}}'
    assert "Svc/Secret" not in redactor.scrub(echoed)
    assert "Svc/Secret" not in redactor.scrub(echoed.replace(" ", "%20"))


def test_a_secrets_encodings_are_kept_in_memory_for_that_value_alone_and_cannot_be_changed(tmp_path):
    """encodings() and the plain part of it are computed once per value in a process (suite.secrets.redaction's
    ENCODINGS_KEPT): another value, however alike, gets its own; what a caller gets it cannot change for the next
    one; and nothing is written anywhere (a cache on disk would hold secrets)."""
    value = "Cache-" + secrets.token_urlsafe(12) + "+ø"
    alike = value[:-1] + "å"
    fresh = encodings.__wrapped__(value)  # computed anew, past the cache
    assert encodings(value) == fresh and encodings(value) is encodings(value)
    assert isinstance(encodings(value), frozenset), "a set a caller could add to or empty for every later caller"
    assert alike in encodings(alike) and alike not in encodings(value) and value not in encodings(alike)
    assert encodings(alike) == encodings.__wrapped__(alike)
    # in another process with its home, cache and temporary folders empty: they stay empty
    folders = {name: tmp_path / name for name in ("HOME", "XDG_CACHE_HOME", "TMPDIR")}
    for folder in folders.values():
        folder.mkdir()
    script = "import sys; from suite.secrets.redaction import encodings; [encodings(sys.argv[1]) for _ in range(3)]"
    subprocess.run(
        [sys.executable, "-c", script, value],
        env={**os.environ, **{name: str(folder) for name, folder in folders.items()}},
        check=True,
    )
    assert not [path for folder in folders.values() for path in folder.rglob("*")]


# A secret with every character class an encoding changes: unreserved and reserved URL characters, a
# percent sequence, a space, quotes, a backslash, two-byte and three-byte UTF-8.
EVERY_CLASS = "Pw9-._~+/=%41:;&?# \"'\\é漢Zq"
SECRETS = {  # "short": as short as a secret is learned; "long": its base64 and hex are found by their ends
    "every character class": EVERY_CLASS,
    "short": "Kq7-Xw",
    "long": "".join(f"{EVERY_CLASS}{i}" for i in range(12)),
}
CLIENT_IDS = ("c", "cl", "cli")  # "id:" before the secret: each of the three base64 alignments


def _basic(client_id: str, secret: str, encode=base64.b64encode, padding: bool = True) -> str:
    """HTTP Basic as RFC 6749 section 2.3.1 has it: base64 of urlencode(id):urlencode(secret)."""
    blob = encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()
    return blob if padding else blob.rstrip("=")


def _every(escape) -> Callable[[str], str]:
    return lambda secret: "".join(escape(character) for character in secret)


def _json_every_character(secret: str, hex_digits: str = "04x") -> str:
    units = secret.encode("utf-16-be")
    return "".join(f"\\u{int.from_bytes(units[i : i + 2]):{hex_digits}}" for i in range(0, len(units), 2))


@functools.lru_cache(maxsize=64)
def _bash(script: str, secret: str, locale: str = "C.UTF-8") -> str:
    """What bash itself writes of the secret ($S) with `script` (a set -x trace or printf %q), without
    the "client_secret=" of a word it is part of (the text around an encoding is CONTEXTS')."""
    env = {"S": secret, "LC_ALL": locale, "PATH": os.environ["PATH"]}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    return (done.stdout + done.stderr).strip().removeprefix("+ : ").replace("client_secret=", "")


def _in_a_dict(literal: Callable[[object], str], value: object) -> str:
    """The value's literal as Python prints it in a dict (quoted as Python chooses for the value)."""
    return literal({"k": value}).removeprefix("{'k': ").removesuffix("}")


# How a secret travels: name -> its encoding. Each is scrubbed inside each of CONTEXTS.
ENCODED = {
    "raw": lambda s: s,
    "url": lambda s: quote(s, safe=""),
    "url lower case": lambda s: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s, safe="")),
    "url path": quote,
    "url form (+ for a space)": quote_plus,
    "url as encodeURIComponent": lambda s: quote(s, safe="-_.!~*'()"),
    "url every character": lambda s: "".join(f"%{byte:02X}" for byte in s.encode()),
    "url twice": lambda s: quote(quote(s, safe=""), safe=""),
    "url form twice": lambda s: quote_plus(quote_plus(s)),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 then url": lambda s: quote(base64.b64encode(s.encode()).decode(), safe=""),
    "base64 url-safe unpadded": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    **{f"basic after {len(c)}-character id": functools.partial(_basic, c) for c in CLIENT_IDS},
    **{
        f"basic url-safe unpadded after {len(c)}-character id": lambda s, c=c: _basic(
            c, s, base64.urlsafe_b64encode, padding=False
        )
        for c in CLIENT_IDS
    },
    "basic then url": lambda s: quote(_basic("cl", s), safe=""),
    "hex": lambda s: s.encode().hex(),
    "hex upper case": lambda s: s.encode().hex().upper(),
    "json": lambda s: json.dumps(s)[1:-1],
    "json ascii": lambda s: json.dumps(s, ensure_ascii=True)[1:-1],
    "json with \\/": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
    "json twice": lambda s: json.dumps(json.dumps(s))[1:-2].removeprefix('\\"'),
    "json \\u every character": _json_every_character,
    "json \\u every character upper case": functools.partial(_json_every_character, hex_digits="04X"),
    "html": html.escape,
    "html named": _every(lambda c: f"&{codepoint2name[ord(c)]};" if ord(c) in codepoint2name else c),
    "html decimal every character": _every(lambda c: f"&#{ord(c)};"),
    "html hex every character": _every(lambda c: f"&#x{ord(c):x};"),
    "html then url": lambda s: quote(html.escape(s), safe=""),
    "url then json": lambda s: json.dumps(quote(s))[1:-1].replace("/", "\\/"),
    "python repr in a dict": functools.partial(_in_a_dict, repr),
    "python ascii in a dict": functools.partial(_in_a_dict, ascii),
    "python bytes repr": lambda s: repr(s.encode()),
    "python repr with both quotes": lambda s: repr(f"'\"{s}").removeprefix("'\\'\""),
    "c escapes": lambda s: s.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'"),
    "bash set -x": lambda s: _bash('set -x; : "$S"', s),
    "bash set -x in a word": lambda s: _bash('set -x; : "client_secret=$S"', s),
    "bash printf %q": lambda s: _bash('printf %q "$S"', s),
    "bash printf %q in a word": lambda s: _bash('printf %q "client_secret=$S"', s),
    "bash printf %q in the C locale": lambda s: _bash('printf %q "$S"', s, "C"),
    "python shlex.quote": shlex.quote,
}
CONTEXTS = {  # around the encoded secret: none of their 4 characters in a row is in an encoding of it
    "text": "seen: {} (end)",
    "query": "https://app.example/cb?state=xyz&value={}&next=1",
    "json": '{{"error": "bad", "detail": "{}"}}',
    "header": "Authorization: {}\nAccept: */*",
}


def _fragments(text: str, length: int = 4) -> set[str]:
    return {text[i : i + length] for i in range(len(text) - length + 1)}


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("context", CONTEXTS)
@pytest.mark.parametrize("encoding", ENCODED)
def test_no_part_of_any_encoding_of_a_secret_survives_a_scrub(encoding, context, secret):
    """However a secret is encoded and wherever it sits, what a scrub leaves shares no 4 characters
    in a row with any encoding of it (no tail, no padding, no base64 character the secret's bits
    reach), and the text around it is left as it was."""
    value = SECRETS[secret]
    redactor = Redactor()
    redactor.register(value, "secret")
    around = CONTEXTS[context]
    scrubbed = redactor.scrub(around.format(ENCODED[encoding](value)))
    every_form = {name: encode(value) for name, encode in ENCODED.items()}
    left = sorted(
        (name, fragment)
        for name, form in every_form.items()
        for fragment in _fragments(form) - _fragments(around.format("[secret]"))
        if fragment in scrubbed
    )
    assert not left, f"{scrubbed!r} still holds {left[:5]}"
    assert all(part in scrubbed for part in around.format("\0").split("\0")), scrubbed


@pytest.mark.parametrize("charset", ["latin-1", "cp1252"])
def test_a_non_ascii_secret_echoed_as_mojibake_is_masked(charset):
    """A server's text/plain answer without a charset is read as Latin-1 (requests) or windows-1252
    (a browser): a non-ASCII secret in it is its UTF-8 bytes misread ("é" as "Ã©")."""
    redactor = Redactor()
    secret = "QZ7PW d+%41:\"'é€😀<b>&x=1;end"
    redactor.register(secret, "password")
    misread = secret.encode().decode(charset, errors="ignore")
    if charset == "cp1252":  # 😀's bytes include one windows-1252 leaves undefined: the secret without it
        secret = secret.replace("😀", "")
        redactor.register(secret, "password")
        misread = secret.encode().decode(charset)
    for text in (f"boom {misread} boom", json.dumps({"error_description": misread})):
        scrubbed = redactor.scrub(text)
        assert "QZ7PW" not in scrubbed and "x=1;end" not in scrubbed, scrubbed


WRITTEN_BACK = {  # how a server or a browser writes a non-ASCII secret back once it has read it
    "nfd": lambda s: unicodedata.normalize("NFD", s),
    "nfkd": lambda s: unicodedata.normalize("NFKD", s),
    "nfkc": lambda s: unicodedata.normalize("NFKC", s),
    "nfd json-escaped": lambda s: json.dumps(unicodedata.normalize("NFD", s))[1:-1],
    "nfd url-encoded": lambda s: quote(unicodedata.normalize("NFD", s), safe=""),
    # the tester's: a character Latin-1 has not (€) dropped
    "latin-1 url-encoded": lambda s: quote(s, encoding="latin-1", errors="ignore"),
    "latin-1 url-encoded lower case": lambda s: re.sub(
        "%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s, safe="", encoding="latin-1", errors="ignore")
    ),
    "latin-1 form-encoded": lambda s: quote_plus(s, encoding="latin-1", errors="replace"),
    "windows-1252 url-encoded": lambda s: quote(s, safe="", encoding="cp1252"),
}
NON_ASCII = {  # the security tester's client secret exactly; one with a ligature NFKC takes apart
    "web2": 'WEB2SEC+:%20 "q" ñ',
    "ligature": "Pässwörd-ﬁle-é9",
    "euro": "SVCSEC x y+%:'\"ßé€long-tail",
}


@pytest.mark.parametrize("secret", NON_ASCII)
@pytest.mark.parametrize("form", WRITTEN_BACK)
def test_a_non_ascii_secret_written_back_normalised_or_in_latin1_bytes_is_masked(form, secret):
    """Unicode normalisation (NFD, NFKD, NFKC, then escaped) and percent-encoding of the secret's
    Latin-1 bytes: what a scrub leaves shares no 4 characters in a row with the form."""
    value = NON_ASCII[secret]
    if "-1" in form and "ﬁ" in value:
        pytest.skip("a character Latin-1 and windows-1252 have not (the ligature)")
    redactor = Redactor()
    redactor.register(value, "secret")
    written = WRITTEN_BACK[form](value)
    assert written != value or form.startswith("nfk"), "control: the form differs from the secret"
    for around in ("seen: {} (end)", '{{"error": "bad", "detail": "{}"}}'):
        scrubbed = redactor.scrub(around.format(written))
        left = _fragments(written) - _fragments(around.format("[secret]"))
        assert not [f for f in left if f in scrubbed], scrubbed


def test_the_latin1_encoding_of_the_testers_secret_is_the_one_the_report_showed():
    assert WRITTEN_BACK["latin-1 url-encoded"](NON_ASCII["web2"]) == "WEB2SEC%2B%3A%2520%20%22q%22%20%F1"


def test_the_user_password_part_of_any_url_is_masked_though_never_registered():
    """An issuer https://user:PASSWORD@host reached the terminal, compliance.json/.md and changes.md."""
    from suite.secrets.redaction import Redactor

    text = 'could not reach https://user:Pa55-w0rd-1@127.0.0.1:9801/.well-known ("ws://a:b@[::1]:80/x"); mail a@b.c'
    scrubbed = Redactor().scrub(text)
    assert "Pa55-w0rd-1" not in scrubbed and "a:b@" not in scrubbed, scrubbed
    assert "https://[userinfo redacted]@127.0.0.1:9801/.well-known" in scrubbed
    assert "ws://[userinfo redacted]@[::1]:80/x" in scrubbed and scrubbed.endswith("mail a@b.c")


def test_what_a_party_wrote_is_said_with_its_control_characters_visible_and_its_secrets_masked():
    """ESC, BEL, C1 and bidirectional overrides in an application's or a server's text were printed raw in
    messages: a terminal set its title, cleared its screen and wrote its clipboard (OSC 52)."""
    from suite.secrets.redaction import REDACTOR, readable, said
    from suite.verdict.checks import NonConformance, check

    REDACTOR.register("visible-secret-1234", "shown secret")
    text = "a\x1b]52;c;cm0=\x07b\tc\nd\x00\x7f\x9b\r\u202e visible-secret-1234"
    expected = "a\\x1b]52;c;cm0=\\x07b\tc\nd\\x00\\x7f\\x9b\\x0d\\u202e [shown secret]"
    assert said(text) == expected and readable(text) == expected
    with pytest.raises(NonConformance) as failed:
        check(False, text)
    assert str(failed.value) == expected


HOSTILE_SECRET = "s3cr+t/x%41 y:z&\"q'é~"


@pytest.mark.parametrize(
    "written",
    [
        lambda s: s.encode("latin-1"),  # a Java program whose default charset is Latin-1
        lambda s: s.encode("cp1252"),
        lambda s: s.encode("utf-16-le"),  # a Windows program's UTF-16
        lambda s: s.encode("utf-16-be"),
        lambda s: b"\xff" + s.encode("utf-16-le"),  # at an odd byte
        lambda s: base64.b32encode(s.encode()),
        lambda s: base64.b32encode(s.encode() + b"more data").lower(),  # a blob it begins, lower case
    ],
    ids=["latin-1", "cp1252", "utf-16-le", "utf-16-be", "utf-16-le odd", "base32", "base32 lower case in a blob"],
)
def test_a_secret_a_program_writes_in_another_charset_or_base32_is_masked_and_found_as_a_leak(written):
    """A program's output is read as UTF-8 with U+FFFD for what is not: its secret written in Latin-1 ("é" one
    byte no UTF-8 has) or UTF-16 (a NUL beside each character) matched no encoding, and sat in
    application.log unmasked but for one character; APPC-28 passed. Base32 was not looked for either."""
    from appside.steps.leaks import leaked

    redactor = Redactor()
    redactor.register(HOSTILE_SECRET, "client secret")
    output = (b"debug: " + written(HOSTILE_SECRET) + b" done\n").decode("utf-8", errors="replace")
    scrubbed = redactor.scrub(output)
    assert scrubbed.startswith("debug:") and "[client secret]" in scrubbed, repr(scrubbed)  # BE: " \0" masked too
    assert "cr+t" not in scrubbed.replace("\0", "") and "y:z" not in scrubbed.replace("\0", ""), repr(scrubbed)
    assert "=" not in scrubbed and scrubbed.endswith(" done\n"), repr(scrubbed)  # base32's padding with it
    assert leaked(output, {HOSTILE_SECRET: "client secret"}) == ["client secret"]


def _c_octal(secret: str) -> str:
    """Every byte as C's octal escape, as printf("\\%03o") or a C formatter writes it."""
    return "".join(f"\\{byte:03o}" for byte in secret.encode())


def _css(secret: str, digits: str = "x", blank: str = " ") -> str:
    """Every character as a CSS escape (CSS Syntax Level 3 section 4.3.7): hex digits, then a blank."""
    return "".join(f"\\{ord(character):{digits}}{blank}" for character in secret)


def _uu_line(secret: str, before: bytes = b"") -> str:
    """The one line uuencode writes of `before` then the secret, its length character first."""
    return binascii.b2a_uu(before + secret.encode()).decode().rstrip("\n")


SHORT = 64  # the longest secret (a password, a client secret, a code) looked for in a hostile party's disguises
# How a hostile server disguised a secret it echoed: name -> (encoder, longest secret it applies to, in
# characters; None for any). Each was written unmasked into every report and the terminal.
DISGUISED = {
    "base64 of utf-16-le": (lambda s: base64.b64encode(s.encode("utf-16-le")).decode(), None),
    "base64 of utf-16-be": (lambda s: base64.b64encode(s.encode("utf-16-be")).decode(), None),
    "base64 of utf-16 with its bom": (lambda s: base64.b64encode(s.encode("utf-16")).decode(), None),
    "base64 of utf-16-le in a blob": (lambda s: base64.b64encode(b"x:" + s.encode("utf-16-le")).decode(), None),
    "base64 of utf-32-le": (lambda s: base64.b64encode(s.encode("utf-32-le")).decode(), SHORT),
    "base64 of utf-32-be url-safe": (lambda s: base64.urlsafe_b64encode(s.encode("utf-32-be")).decode(), SHORT),
    "c octal escapes": (_c_octal, None),
    "c octal escapes in json": (lambda s: json.dumps(_c_octal(s))[1:-1], None),
    "c octal escapes url-encoded": (lambda s: quote_plus(_c_octal(s)), None),
    "c hex escapes": (lambda s: "".join(f"\\x{byte:02x}" for byte in s.encode()), None),
    "css escapes": (_css, None),
    "css escapes six digits": (functools.partial(_css, digits="06x", blank=""), None),
    "css escapes url-encoded": (lambda s: quote_plus(_css(s)), None),
    "uuencode": (_uu_line, 43),
    "uuencode after a byte": (lambda s: _uu_line(s, b"a"), 42),
    "uuencode after two bytes": (lambda s: _uu_line(s, b"ab"), 41),
    "uuencode as python's uu codec": (lambda s: codecs.encode(s.encode(), "uu").decode(), 43),
    "decimal bytes": (lambda s: ",".join(map(str, s.encode())), None),
    "decimal bytes space-separated": (lambda s: " ".join(map(str, s.encode())), None),
    "decimal bytes as a python list": (lambda s: str(list(s.encode())), None),
    "decimal code points": (lambda s: ",".join(str(ord(c)) for c in s), None),
    "letters with dots between": (lambda s: ".".join(s), None),
    "letters with spaces between": (lambda s: " ".join(s), None),
    "letters with zero-width spaces between": (lambda s: "\u200b".join(s), None),
    "letters with dots between url-encoded": (lambda s: quote_plus(".".join(s)), None),
    "quoted-printable every byte": (lambda s: "".join(f"={byte:02X}" for byte in s.encode()), None),
    "fullwidth": (lambda s: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s), None),
    "ascii85": (lambda s: base64.a85encode(s.encode()).decode(), SHORT),
    "base85": (lambda s: base64.b85encode(s.encode()).decode(), SHORT),
    "reversed": (lambda s: s[::-1], SHORT),
    "rot13": (lambda s: codecs.encode(s, "rot13"), SHORT),
    "upper case": (str.upper, SHORT),
    "hex of it reversed": (lambda s: s[::-1].encode().hex(), SHORT),
    "base64 of it reversed": (lambda s: base64.b64encode(s[::-1].encode()).decode(), SHORT),
}
# the hostile tester's password and client secret, and secrets of every character class
DISGUISED_SECRETS = {"password": "HostilePw4Zq9", "client secret": "HostileSecret7Kx2", **SECRETS}


@pytest.mark.parametrize("secret", DISGUISED_SECRETS)
@pytest.mark.parametrize("context", ["text", "query", "json"])
@pytest.mark.parametrize("encoding", DISGUISED)
def test_a_secret_a_hostile_server_disguised_is_masked(encoding, context, secret):
    """A hostile server echoed the password and the client secret in a redirect URL, an error_description
    and response headers in each of these; what a scrub leaves shares no 4 characters in a row with the
    form (the letters interleaved: no 3 of the secret's own characters in a row)."""
    encode, longest = DISGUISED[encoding]
    value = DISGUISED_SECRETS[secret]
    if longest is not None and len(value) > longest:
        pytest.skip(f"a secret of up to {longest} characters")
    if longest == SHORT and context != "text" and not value.isalnum():
        pytest.skip("a disguise of a secret with characters an escape changes, escaped, is not looked for")
    redactor = Redactor()
    redactor.register(value, "masked")
    form = encode(value)
    written = {
        "text": "seen: {} (end)".format,
        "query": lambda f: f"https://app.example/cb?state=xyz&value={quote_plus(f)}&next=1",
        "json": lambda f: json.dumps({"error": "bad", "error_description": f"was {f}"}),
    }[context](form)
    scrubbed = redactor.scrub(written)
    assert "[masked]" in scrubbed, scrubbed
    if encoding.startswith("letters"):
        letters = scrubbed.replace(form[1], "")
        assert not [value[i : i + 3] for i in range(len(value) - 2) if value[i : i + 3] in letters], scrubbed
    else:
        around = "".join(_fragments(written.replace(form, "\0")))
        secret_part = form.split("\n")[1] if form.startswith("begin ") else form  # uu's header is no secret
        left = [f for f in _fragments(secret_part) - _fragments(around) if f in scrubbed and f.strip()]
        assert not left, f"{scrubbed!r} still holds {left[:5]}"


CIPHERED = 40  # the longest secret (a password, a client secret; not a token) looked for in its keyless ciphers


def _caesar(secret: str, shift: int) -> str:
    """Letters moved `shift` places round the alphabet, the rest as it is."""
    return "".join(
        chr((ord(c) - base + shift) % 26 + base) if c.isascii() and c.isalpha() else c
        for c in secret
        for base in [ord("a") if c.islower() else ord("A")]
    )


def _rot47(secret: str) -> str:
    return "".join(chr(33 + (ord(c) - 33 + 47) % 94) if "!" <= c <= "~" else c for c in secret)


def _atbash(secret: str) -> str:
    return secret.translate(
        str.maketrans(string.ascii_letters, string.ascii_lowercase[::-1] + string.ascii_uppercase[::-1])
    )


def _b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


# How an outside tester's hostile server wrote the password and the client secrets in an error_description, a
# JSON "debug" object, the headers of a redirect and a login page (each was in every report and the terminal, or a
# screenshot): name -> (encoder, longest secret it applies to, in characters; None for any). Layers of base64 and
# hex, other charsets' bytes, code point notations, number lists, fixed ciphers and their encodings.
LAYERED = {
    "base64 of base64": (lambda s: _b64(_b64(s)), None),
    "hex of base64": (lambda s: _b64(s).encode().hex(), None),
    "base64 of hex": (lambda s: _b64(s.encode().hex()), None),
    "base64url unpadded of hex of its bytes reversed": (
        lambda s: base64.urlsafe_b64encode(s.encode()[::-1].hex().encode()).decode().rstrip("="),
        None,
    ),
    "hex of utf-16-le": (lambda s: s.encode("utf-16-le").hex(), None),
    "hex of utf-16-be": (lambda s: s.encode("utf-16-be").hex(), None),
    "base32 of utf-16-le": (lambda s: base64.b32encode(s.encode("utf-16-le")).decode(), None),
    "base32 of utf-16-be lower case": (lambda s: base64.b32encode(s.encode("utf-16-be")).decode().lower(), None),
    "base64 of latin-1": (lambda s: _b64(s.encode("latin-1")), None),
    "hex of latin-1": (lambda s: s.encode("latin-1").hex(), None),
    "javascript escape() %u": (lambda s: "".join(f"%u{unit:04X}" for unit in _utf16_units(s)), None),
    "unicode U+ notation": (lambda s: " ".join(f"U+{ord(c):04X}" for c in s), None),
    "ecmascript \\u{}": (lambda s: "".join(f"\\u{{{ord(c):x}}}" for c in s), None),
    "utf-7": (lambda s: s.encode("utf-7").decode(), SHORT),
    "hex bytes 0x list": (lambda s: ", ".join(f"0x{byte:02x}" for byte in s.encode()), None),
    "hex bytes spaced": (lambda s: " ".join(f"{byte:02X}" for byte in s.encode()), None),
    "octal bytes": (lambda s: " ".join(f"{byte:03o}" for byte in s.encode()), None),
    "binary bytes": (lambda s: " ".join(f"{byte:08b}" for byte in s.encode()), None),
    "rot47": (_rot47, CIPHERED),
    "caesar +3": (lambda s: _caesar(s, 3), CIPHERED),
    "caesar -1": (lambda s: _caesar(s, -1), CIPHERED),
    "letters and digits' code points +1": (
        lambda s: "".join(chr(ord(c) + 1) if c.isascii() and c.isalnum() else c for c in s),
        CIPHERED,
    ),
    "atbash": (_atbash, CIPHERED),
    "base64 of rot13": (lambda s: _b64(codecs.encode(s, "rot13")), SHORT),
    "base64 of rot47": (lambda s: _b64(_rot47(s)), CIPHERED),
    "base32 of it reversed": (lambda s: base64.b32encode(s[::-1].encode()).decode(), SHORT),
    "hex of its bytes reversed": (lambda s: s.encode()[::-1].hex(), SHORT),
    "hex of atbash": (lambda s: _atbash(s).encode().hex(), CIPHERED),
}
LAYERED_SECRETS = {
    **DISGUISED_SECRETS,
    "the tester's password": "Pw-7Zq!x%20é\"'",
    "the tester's client secret": "Cs-9Kw!y%20ü\"'+ :z",
    "cyrillic": "\u041f\u0430\u0440\u043e\u043b\u044c-7\u041a\u043b",  # "password" in Russian
    "an opaque access token": "q3Vx8-Lm_Z0pR7tYw2Kc9HdNf4Jb6Sg1aEuXoQiTzW",  # 43 characters, as token_urlsafe(32)
}
LAYERED_CONTEXTS = {
    "text": "seen: {} (end)".format,
    "query": lambda f: (
        f"https://app.example/cb?error=access_denied&error_description={quote_plus('k=' + f + ' ; z=1')}"
    ),
    "json": lambda f: json.dumps({"error": "invalid_client", "debug": {"k": f}}),
    "json unescaped": lambda f: json.dumps(
        {"error": "invalid_client", "error_description": f"k={f}"}, ensure_ascii=False
    ),
}


def _utf16_units(secret: str) -> list[int]:
    data = secret.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


@pytest.mark.parametrize("secret", LAYERED_SECRETS)
@pytest.mark.parametrize("context", LAYERED_CONTEXTS)
@pytest.mark.parametrize("encoding", LAYERED)
def test_a_secret_in_layers_other_charsets_number_lists_or_ciphers_is_masked_whole(encoding, context, secret):
    """A run of base64, hex or base32, a list of numbers, code points or UTF-7 is decoded (layer after layer, its
    bytes read in each charset) and masked whole where it holds a secret; a short secret's fixed ciphers are
    looked for as its other forms are. What a scrub leaves shares no 4 characters in a row with the form."""
    encode, longest = LAYERED[encoding]
    value = LAYERED_SECRETS[secret]
    if longest is not None and len(value) > longest:
        pytest.skip(f"a secret of up to {longest} characters")
    try:
        form = encode(value)
    except UnicodeEncodeError:
        pytest.skip("a character the charset has not")
    redactor = Redactor()
    redactor.register(value, "masked")
    written = LAYERED_CONTEXTS[context](form)
    scrubbed = redactor.scrub(written)
    assert "[masked]" in scrubbed, scrubbed
    around = "".join(_fragments(written.replace(form, "\0")))
    left = [f for f in _fragments(form) - _fragments(around) - _fragments("[masked]") if f in scrubbed and f.strip()]
    assert not left, f"{scrubbed!r} still holds {left[:5]}"


def test_a_host_name_label_in_punycode_is_masked():
    """A page sent the password as a host name (http://<password>.evil.test): Chromium and urllib3 write it in
    punycode (xn--…), which the suite's own refusal printed beside the host it had masked."""
    redactor = Redactor()
    for password in ("Zq7pässwörd9x", "\u041f\u0430\u0440\u043e\u043b\u044c7\u041a\u043b"):
        redactor.register(password, "login.password")
        label = "xn--" + password.lower().encode("punycode").decode()
        for host in (label, label.upper()):
            said = redactor.scrub(f"refused: https://{host}.evil.test:443 is not the issuer's origin")
            assert "xn--" not in said.lower() and "[login.password].evil.test" in said, said


def test_a_run_that_decodes_to_no_secret_is_left_as_it_is():
    """Runs are masked for the secret they hold, not for looking encoded: a JWT, a hash, a list of numbers and
    words stay as they are."""
    redactor = Redactor()
    redactor.register("Pw-7Zq!x%20é\"'", "login.password")
    text = (
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiI5In0.c2ln 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 "
        "0x50, 0x77, 0x2d, 0x38, 0x5a, 0x71 U+0050 U+0078 xn--bcher-kva refresh_token application/x-www-form-urlencoded"
    )
    assert redactor.scrub(text) == text


def test_decoding_runs_is_bounded_by_the_characters_decoded_in_one_scrub(monkeypatch):
    """A text of megabytes of runs has only its first MAX_DECODED characters' worth decoded: what it costs is
    bounded, and a secret's own encodings are still masked everywhere in it."""
    from suite.secrets import redaction

    monkeypatch.setattr(redaction, "MAX_DECODED", 10_000)
    redactor = Redactor()
    redactor.register("Pw-7Zq!x%20é\"'", "login.password")
    noise = " ".join(base64.b64encode(bytes([65 + i % 26]) * 30).decode() for i in range(2000))
    early, late = _b64(_b64("Pw-7Zq!x%20é\"'")), _b64("Pw-7Zq!x%20é\"'")
    scrubbed = redactor.scrub(f"{early} {noise} {late} {early}")
    assert scrubbed.startswith("[login.password] ") and scrubbed.count("[login.password]") == 2, scrubbed[-200:]


def test_a_code_verifiers_head_followed_by_more_of_its_alphabet_is_masked_up_to_where_it_leaves_the_verifier():
    """A run of the verifier's alphabet that holds its head and goes on ("…r. end", "-cut", "_x") is no prefix of
    the verifier: the longest prefix the two share (VERIFIER_HEAD characters or more) is what is masked."""
    redactor = Redactor()
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    redactor.register(verifier, "code_verifier")
    head = verifier[:25]
    for written, shown in (
        (f"verifier {head}. end", "verifier [code_verifier]. end"),
        (head + "-cut", "[code_verifier]-cut"),
        (head + "_x", "[code_verifier]_x"),
        (verifier[:30] + "Z", "[code_verifier]Z"),
        (verifier[:19] + "-cut", verifier[:19] + "-cut"),  # 19 characters: no verifier's head
    ):
        assert redactor.scrub(written) == shown


def test_a_secret_cut_around_an_ellipsis_has_its_head_and_tail_masked():
    """Chromium's console preview writes a string of over 100 characters as its first 50, "…" and its last 50: an
    SPA's console.log of its token object showed both halves of the access token in the attachment the report
    called "secrets masked", as no encoding of the whole token matched either half."""
    redactor = Redactor()
    token = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJSUzI1NiJ9." + secrets.token_urlsafe(300) + "." + secrets.token_urlsafe(64)
    secret = "Ab9-._~+/=%:;&?# \"'\\%41é€😀z" + secrets.token_hex(8)
    redactor.register(token, "access_token")
    redactor.register(secret, "client_secret")
    console = f"got token {{accessToken: {token[:50]}…{token[-50:]}, expiresAt: 1796624404989}}"
    assert redactor.scrub(console) == "got token {accessToken: [access_token]…[access_token], expiresAt: 1796624404989}"
    # a logger's cut: a head before "...", a tail after it (of a secret of every class), two cuts in a row
    assert redactor.scrub(f"token={token[:40]}... sent") == "token=[access_token]... sent"
    assert redactor.scrub(f"secret: ...{secret[-14:]}") == "secret: ...[client_secret]"
    assert redactor.scrub(f"{token[:20]}…{token[-20:]}…{token[-20:]}") == "[access_token]…[access_token]…[access_token]"
    # under ELIDED_PIECE characters nothing identifies a token (every JWT begins with its header): left as written
    assert redactor.scrub(f"{token[:11]}… Loading... done") == f"{token[:11]}… Loading... done"
