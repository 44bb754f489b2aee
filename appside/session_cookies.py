"""What a cookie's value says once decoded the ways web frameworks write their sessions into cookies.
A signed session cookie is readable by the browser that holds it: signing protects the value from
change, not from being read.

- Flask (itsdangerous URLSafeTimedSerializer): base64url(JSON).timestamp.signature, or with a
  leading "." when the JSON is zlib-compressed;
- Starlette's SessionMiddleware: base64(JSON).timestamp.signature (itsdangerous TimestampSigner);
- npm cookie-session: base64(JSON), its signature in a second cookie (name.sig);
- Express's signed cookies (cookie-parser, express-session): "s:" value "." signature, URL-encoded;
- Django's signing (django.core.signing, the signed_cookies session backend): base64url(JSON) ":"
  timestamp ":" signature, with a leading "." when the JSON is zlib-compressed;
- Go's gorilla/securecookie (gorilla/sessions' CookieStore, signed unless given an encryption key):
  base64url("date|" base64url(gob) "|" MAC), the MAC raw bytes and gob's strings raw bytes among
  its binary lengths and type descriptors;
- Rack::Session::Cookie (Sinatra, Rails' Rack middleware; signed only): base64(Marshal) "--" HMAC,
  or its Base64::JSON and Base64::ZipJSON coders' base64(JSON) / base64(zlib(JSON)) "--" HMAC;
- Mojolicious's session (Mojolicious::Sessions, Mojolicious::Plugin::OAuth2's examples keep the token
  there; signed only): base64(JSON) with each "=" written "-", then "--" and an HMAC-SHA256 in hex;
- anything URL-encoded, or a JSON or base64 value inside another.

Each text is split on the separators these formats put between their parts (. | : --) and each part
tried as base64 and base64url; decoded bytes that are no text in full (a raw MAC, gob) are read for
the runs of text in them, as the browser's holder could with `strings`. An encrypted cookie (Rails,
ASP.NET Core data protection, iron-session, gorilla with an encryption key) decodes to random bytes
with no such run long enough to be a token, and stays opaque.

A value too long for one cookie is split over several (chunked_cookies), read joined as one:
- ASP.NET Core's ChunkingCookieManager: the cookie `name` holds "chunks-N", the chunks are `nameC1`
  to `nameCN`;
- @auth (Auth.js, NextAuth) and @supabase/ssr: `name.0`, `name.1`, ..."""

import base64
import binascii
import json
import re
import zlib
from collections.abc import Iterable
from urllib.parse import unquote, unquote_plus

BASE64ISH = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")
SEPARATORS = re.compile(r"--|[.|:]")  # itsdangerous and Express "."; gorilla "|"; Django ":"; Rack, Mojolicious "--"
# A run of text in binary data: no control character, no byte that is no UTF-8 (decoded to U+FFFD)
TEXT_RUN = re.compile(r"[^\x00-\x1f\x7f\ufffd]{8,}")
DEPTH = 3  # a base64 value inside JSON inside base64: deep enough for what frameworks write
MAX_COOKIE = 64 * 1024  # a cookie is at most 4 KB in a browser; a Set-Cookie header may be anything


DOT_CHUNK = re.compile(r"(.+)\.(\d+)")  # @auth, @supabase/ssr: name.0, name.1, ...
ASP_NET_CHUNK = re.compile(r"(.+)C(\d+)")  # ASP.NET Core: nameC1, nameC2, ... after name=chunks-N
ASP_NET_CHUNKS = re.compile(r"chunks-(\d+)")


def chunked_cookies(cookies: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every value a set of chunked cookies held, joined in its chunks' order, as (a name for it, the value):
    (`name` (chunked over name.0, name.1), value). `cookies`: (name, value) in the order the browser got
    them; a set is joined each time one of its chunks changes, so that one the application sent and then
    replaced or cleared is read too. A single cookie is no chunked set: it is read alone."""
    jar: dict[str, str] = {}
    joined: dict[tuple[str, str], None] = {}
    for name, value in cookies:
        jar[name] = value
        for base, names in _chunk_sets(jar, name):
            if len(names) > 1:
                shown = f"{base} (chunked over {', '.join(names)})"
                joined[shown, "".join(jar[n] for n in names)] = None
    return list(joined)


def _chunk_sets(jar: dict[str, str], name: str) -> list[tuple[str, list[str]]]:
    """The chunked sets `name` (just set) belongs to in `jar`, each as (its name, its chunks' names in order)."""
    sets = []
    dot = DOT_CHUNK.fullmatch(name)
    if dot:
        base, count = dot.group(1), 0
        while f"{base}.{count}" in jar:
            count += 1
        sets.append((base, [f"{base}.{i}" for i in range(count)]))
    asp_net = ASP_NET_CHUNK.fullmatch(name)
    base = asp_net.group(1) if asp_net else name
    header = ASP_NET_CHUNKS.fullmatch(jar.get(base, ""))
    if header and int(header.group(1)) <= len(jar):
        names = [f"{base}C{i}" for i in range(1, int(header.group(1)) + 1)]
        if all(n in jar for n in names):
            sets.append((base, names))
    return sets


def readings(value: str) -> list[str]:
    """`value` and every text it decodes to (base64 or base64url, zlib-compressed or not, URL-encoded,
    "s:" and signatures split off), for the leak rules to look through."""
    found: dict[str, None] = {}
    _read(value[:MAX_COOKIE], found, DEPTH)
    return list(found)


def _read(text: str, found: dict[str, None], depth: int) -> None:
    if text in found or depth < 0:
        return
    found[text] = None
    for unescaped in {unquote(text), unquote_plus(text)} - {text}:
        _read(unescaped, found, depth)
    if text.startswith("s:"):  # Express: s:<value>.<signature>
        _read(text[2:], found, depth)
    for piece in {text, *SEPARATORS.split(text)} | set(BASE64ISH.findall(text)):
        decoded = _base64_text(piece)
        if decoded is not None:
            _read(decoded, found, depth - 1)


def _base64_text(piece: str) -> str | None:
    """The text `piece` encodes in base64 or base64url, inflated if it is zlib-compressed, or where it
    encodes binary data the runs of text in it, one a line; None where it is no base64 or encodes no
    run of text (a signature, an encrypted value)."""
    if len(piece) < 8 or not BASE64ISH.fullmatch(piece):
        return None
    padded = piece.rstrip("=") + "=" * (-len(piece.rstrip("=")) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        return None
    for data in (raw, _inflated(raw)):
        if data:
            try:
                return data.decode("utf-8")
            except UnicodeDecodeError:
                continue
    runs = TEXT_RUN.findall((_inflated(raw) or raw).decode("utf-8", errors="replace"))
    return "\n".join(runs) if runs else None


def _inflated(raw: bytes) -> bytes | None:
    try:
        return zlib.decompressobj().decompress(raw, MAX_COOKIE * 16)
    except zlib.error:
        return None


# The signed formats above whose signature is in the value itself, by name: Express "s:value.signature";
# itsdangerous (Flask, Starlette) "payload.timestamp.signature" and Django "payload:timestamp:signature",
# either with a leading "." when compressed; Rack and Mojolicious "base64--hex HMAC" (Mojolicious writes
# base64's "=" as "-"); gorilla's "date|value|MAC" inside base64url
SIGNED = {
    "Express's signed format s:value.signature": re.compile(r"s:.+\..+"),
    "the signed format payload.timestamp.signature of itsdangerous and Django": re.compile(
        r"\.?[A-Za-z0-9_=-]+([.:])[A-Za-z0-9_-]+\1[A-Za-z0-9_-]+"
    ),
    "the signed format base64--HMAC of Rack::Session::Cookie and Mojolicious": re.compile(
        r"[A-Za-z0-9+/=\s-]+--[0-9a-f]{40,128}"
    ),
}
GORILLA = "gorilla/securecookie's signed format date|value|MAC"


JWS_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")  # RFC 7515 section 7.1


def signed_format(value: str) -> str:
    """Which of the signed formats above `value` (URL-encoded or not) is written in, named for a
    message, or "": the signature says nothing of the value's secrecy, and a reader should hear it said.
    A JWT (a JWS in its compact form, whose first part is a JSON header naming its alg: @hono/oidc-auth's
    session cookie) is named as one, with its algorithm: it looks like itsdangerous's three parts."""
    text = unquote(value[:MAX_COOKIE]).strip('"')
    jws = JWS_COMPACT.fullmatch(text)
    algorithm = _jws_algorithm(jws.group(1)) if jws else None
    if algorithm is not None:
        return f"a JWT signed with {algorithm}" if algorithm.lower() != "none" else "an unsigned JWT (alg none)"
    for name, written in SIGNED.items():
        if written.fullmatch(text):
            return name
    decoded = _base64_text(text)
    return GORILLA if decoded is not None and decoded.count("|") >= 2 else ""


def _jws_algorithm(header: str) -> str | None:
    """The alg of a JWS protected header (base64url JSON), or None where the part is no such header."""
    decoded = _base64_text(header)
    if decoded is None:
        return None
    try:
        fields = json.loads(decoded)
    except ValueError:
        return None
    algorithm = fields.get("alg") if isinstance(fields, dict) else None
    return algorithm if isinstance(algorithm, str) and algorithm else None
