"""APPC-27 reads the cookies a web application sets in the browser as the browser could: a signed
session cookie (Flask, Starlette, npm cookie-session, Express) is signed, not encrypted, and a token
kept in one is a token given to the resource owner (RFC 6749 section 2.1). An encrypted cookie stays
opaque. Each format is made by the library that writes it where the suite has it (Flask,
itsdangerous's TimestampSigner as Starlette's SessionMiddleware uses it, cookie-signature); where it
has not (Go, Django), by the library once, its value kept below."""

import base64
import json
import secrets
import subprocess
from urllib.parse import quote

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from itsdangerous import TimestampSigner

from appside.session_cookies import readings, signed_format
from appside.steps.leaks import _as_it_is, _readable, leaked

ACCESS = "at-" + secrets.token_urlsafe(24)
REFRESH = "rt-" + secrets.token_urlsafe(24)
TOKENS = {ACCESS: "access token", REFRESH: "refresh token"}
SESSION = {"sid": "abc", "token": {"access_token": ACCESS, "refresh_token": REFRESH, "token_type": "Bearer"}}


def _found(value: str) -> list[str]:
    return leaked("\n".join(readings(value)), TOKENS)


def test_a_flask_session_cookie_is_read_compressed_or_not():
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(16)
    serializer = app.session_interface.get_signing_serializer(app)
    plain = serializer.dumps({"access_token": ACCESS})
    compressed = serializer.dumps({**SESSION, "padding": "x" * 400})  # compressible: zlib, a leading "."
    assert compressed.startswith(".") and not plain.startswith(".")
    assert _found(plain) == ["access token"]
    assert _found(compressed) == ["access token", "refresh token"]


def test_a_starlette_session_cookie_is_read():
    """starlette.middleware.sessions: TimestampSigner(secret).sign(b64encode(json.dumps(session)))."""
    cookie = TimestampSigner(secrets.token_hex(16)).sign(base64.b64encode(json.dumps(SESSION).encode())).decode()
    assert _found(cookie) == ["access token", "refresh token"]


def test_cookie_session_and_express_signed_cookies_are_read():
    as_cookie_session = base64.b64encode(json.dumps({"passport": {"user": SESSION}}).encode()).decode()
    assert _found(as_cookie_session) == ["access token", "refresh token"]
    signed = subprocess.run(
        ["node", "-e", "process.stdout.write('s:' + require('cookie-signature').sign(process.argv[1], 'k'))", ACCESS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert _found(quote(signed, safe="")) == ["access token"]  # as Express writes it: s%3A<value>.<signature>
    assert _found(quote(json.dumps({"t": REFRESH}), safe="")) == ["refresh token"]


# Written by gorilla/sessions 1.2.1 with gorilla/securecookie 1.1.1 (Debian's golang-github-gorilla-*),
# as its README keeps a session, for a session holding these two tokens and a name:
#   store := sessions.NewCookieStore([]byte("acme-session-authentication-key-0123456789abcdef"))
#   s, _ := store.Get(r, "acme"); s.Values["access_token"] = GORILLA_ACCESS; ...; s.Save(r, w)
# base64url("<date>|" base64url(gob) "|" <HMAC-SHA256, raw bytes>): the MAC is no text, nor is gob's binary
GORILLA_ACCESS = "at-gorilla-3q2Fj7Kx9LmN0pQrStUvWxYz"
GORILLA_REFRESH = "rt-gorilla-8hG5dS4aQ1wE2rT6yU7iO9pL"
GORILLA_SIGNED = (
    "MTc5NjU3MTM5MXxEdi1CQkFFQ180SUFBUkFCRUFBQV83SF9nZ0FEQm5OMGNtbHVad3dQQUExeVpXWnlaWE5vWDNSdmEyVnVCbk4wY21sdVp3d2"
    "xBQ055ZEMxbmIzSnBiR3hoTFRob1J6VmtVelJoVVRGM1JUSnlWRFo1VlRkcFR6bHdUQVp6ZEhKcGJtY01CZ0FFYm1GdFpRWnpkSEpwYm1jTUNn"
    "QUlTbUZ1WlNCRWIyVUdjM1J5YVc1bkRBNEFER0ZqWTJWemMxOTBiMnRsYmdaemRISnBibWNNSlFBallYUXRaMjl5YVd4c1lTMHpjVEpHYWpkTG"
    "VEbE1iVTR3Y0ZGeVUzUlZkbGQ0V1hvPXz6gla2iPy04g4K_k3ZEaUBAAihS7ieaR3_AitR3wbj9g=="
)
# ... and the same session with an encryption key too, NewCookieStore(hashKey, blockKey): AES-CTR, opaque
GORILLA_ENCRYPTED = (
    "MTc5NjU3MTQyN3x6UzlJZGJYV1VzaldpRnhOUnBacmR0OXpMOEdsYTZMdEcyOTZ4MUw3QTdCM0lhcEZaY3lOZzJaaG5zTjlIOUNIWUxHQUpaTD"
    "VsaGJFbmI5WU1iOUpRZUJYQVhxWUxHbDVaSTN6MWl5VkxaaHVpZy1DMzF2b2FuSUV1V05xQV9XUHdEcURMamxIN01rdnZsYno2elVyT0d2NlJv"
    "QmU4S2Y1Q2x4Q2h0enBZTlZ5Z080UkRQd3pyajlnd01URWNkaEpHWlVyNnZsZU1tQzRSZDVpdVhjUlNWTjFMWXVKbEpFOEpZeXZOeVpGSS11RX"
    "dmUnAxZTFVdHhWZ2JsLXYtcl84dXNvSDREVWo0YkNWeVVodk1wX2RUZDdnfMgP9UpnwIDg38qElFNHleB1ot0813AzjgnbMxu_zHA4"
)
# Written by Django 5.2's django.core.signing.dumps(session, compress=True, salt=<the signed_cookies session
# backend's>), its "payload:timestamp:signature" with the payload zlib-compressed (a leading ".")
DJANGO_ACCESS = "at-django-5tG7hJ9kL1mN3bV5cX7zQ9wE"
DJANGO_REFRESH = "rt-django-2sD4fG6hJ8kL0pO9iU7yT5rE"
DJANGO_SIGNED = (
    ".eJyrVirJz07NK1ayqlZKTE5OLS6OBwsoWSklluimZCXmpefrmpa4m2d4WWb7GOb6GSeFmSZHmFcFWpa7KukoFaWmFaUWZ8A1FcE1GRW7mKS5m2V4WW"
    "T7GBT4W2aGmleGmBa5KtXqKBUkpqRk5qUD1VcME6BUCwAheYjs:1xaEIV:q1Yok-f4qElL5lE_HgHmr3EirLzFxmsFFloSK_1rFnc"
)


def test_a_gorilla_securecookie_session_is_read_unless_it_is_encrypted():
    """The access token Go's most common session store keeps is two base64 decodes away, between a
    date and a raw MAC, in gob's binary: found in the cookie as the browser holds it, URL-encoded too."""
    tokens = {GORILLA_ACCESS: "access token", GORILLA_REFRESH: "refresh token"}
    assert leaked("\n".join(readings(GORILLA_SIGNED)), tokens) == ["access token", "refresh token"]
    assert leaked("\n".join(readings(quote(GORILLA_SIGNED, safe=""))), tokens) == ["access token", "refresh token"]
    assert leaked("\n".join(readings(GORILLA_ENCRYPTED)), tokens) == []


def test_a_django_signed_cookie_session_is_read():
    tokens = {DJANGO_ACCESS: "access token", DJANGO_REFRESH: "refresh token"}
    assert leaked("\n".join(readings(DJANGO_SIGNED)), tokens) == ["access token", "refresh token"]


def test_an_encrypted_or_a_random_cookie_is_no_leak():
    encrypted = Fernet(Fernet.generate_key()).encrypt(json.dumps(SESSION).encode()).decode()
    assert _found(encrypted) == []
    assert _found("s%3A" + secrets.token_urlsafe(24) + "." + secrets.token_urlsafe(32)) == []
    assert _found(TimestampSigner("k").sign(base64.b64encode(b'{"sid": "abc"}')).decode()) == []


# Rack::Session::Cookie (Sinatra's `enable :sessions`) as Ruby 3.1's rack writes {"tokens" =>
# {"access_token" => RACK_ACCESS}}: its coder's base64 "--" an HMAC, URL-encoded in the Set-Cookie header
RACK_ACCESS = "access-token-value-1234567890"
RACK_SIGNED = {
    "Marshal": "BAh7BkkiC3Rva2VucwY6BkVUewZJIhFhY2Nlc3NfdG9rZW4GOwBUSSIiYWNjZXNzLXRva2VuLXZhbHVlLTEyMzQ1Njc4OTAGOwBU"
    "--237af42e91f1b0ee0c7012ed1d23b144185a0ff3",
    "JSON": "eyJ0b2tlbnMiOnsiYWNjZXNzX3Rva2VuIjoiYWNjZXNzLXRva2VuLXZhbHVlLTEyMzQ1Njc4OTAifX0="
    "--30c6f444328d6adc5c53bbc83c67f9a5635e2d61",
    "ZipJSON": "eJyrVirJz07NK1ayqlZKTE5OLS6OBwsoWUG5umCublliTmmqrqGRsYmpmbmFpYFSbS0AeQUT+w=="
    "--933fec4a2c42ba872a2ff6723f697aa903ca6eed",
}


def test_rack_cookie_sessions_are_read_marshal_json_and_zipjson():
    """Sinatra on nov's openid_connect keeping its tokens in Rack::Session::Cookie: each of Rack's
    coders (Base64::Marshal, Base64::JSON, Base64::ZipJSON) is signed, not encrypted."""
    for coder, value in RACK_SIGNED.items():
        for sent in (value, quote(value, safe="")):
            assert leaked("\n".join(readings(sent)), {RACK_ACCESS: "access token"}) == ["access token"], coder


def test_only_a_cookie_in_a_signed_format_is_said_to_be_signed_not_encrypted():
    """APPC-27's message: "signed, not encrypted" for the signed formats the suite decodes, never for a
    plain cookie (the token as it is) or a merely base64-encoded one (npm cookie-session's value, whose
    signature is another cookie)."""
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(16)
    flask = app.session_interface.get_signing_serializer(app).dumps({"access_token": ACCESS})
    starlette = TimestampSigner("k").sign(base64.b64encode(json.dumps(SESSION).encode())).decode()
    express = quote("s:" + ACCESS + "." + secrets.token_urlsafe(32), safe="")
    signed = (flask, starlette, express, DJANGO_SIGNED, GORILLA_SIGNED, quote(GORILLA_SIGNED, safe=""), MOJO_SIGNED)
    for value in (*signed, *RACK_SIGNED.values(), quote(RACK_SIGNED["Marshal"], safe="")):
        assert signed_format(value), value
    base64_only = base64.b64encode(json.dumps(SESSION).encode()).decode()
    for value in (ACCESS, quote(json.dumps({"t": REFRESH}), safe=""), base64_only):
        assert not signed_format(value), value
    assert _readable(True, "") == "in plain text"
    assert "signed, not encrypted" not in _readable(False, "")
    assert "signed, not encrypted" in _readable(False, signed_format(flask))


# Mojolicious 9.31's session cookie (Mojolicious::Lite, `$c->session(token => {...})`, secret
# "s3cret-session-key"), as Mojolicious::Plugin::OAuth2's SYNOPSIS keeps the token: base64(JSON, padded
# with "Z" to hide its length), each "=" written "-", then "--" and its HMAC-SHA256 in hex
MOJO_ACCESS = "mojo-access-token-1234567890"
MOJO_SIGNED = (
    "eyJleHBpcmVzIjoxNzk2NTg1NDc4LCJ0b2tlbiI6eyJhY2Nlc3NfdG9rZW4iOiJtb2pvLWFjY2Vzcy10b2tlbi0xMjM0NTY3ODkwIiwidG9rZW5f"
    "dHlwZSI6IkJlYXJlciJ9fVpa" + "Wlpa" * 307 + "Wlo---f3c88f897559a34135a9ed18e635e7262b8fe4a2ad3f370cc90316208c37fd75"
)


def test_a_mojolicious_session_cookie_is_read_and_said_to_be_signed_not_in_plain_text():
    """Found by base64 at the offset the token sits at inside the base64 JSON, the token was said to be
    in the cookie "in plain text": it is there once decoded, in a signed format, and the message says so."""
    tokens = {MOJO_ACCESS: "access token"}
    assert leaked("\n".join(readings(MOJO_SIGNED)), tokens) == ["access token"]
    assert any(MOJO_ACCESS in text for text in readings(MOJO_SIGNED))  # the JSON itself, decoded
    assert _as_it_is(MOJO_SIGNED, tokens) == set()
    said = _readable(False, signed_format(MOJO_SIGNED))
    assert said == (
        "readable once decoded (the signed format base64--HMAC of Rack::Session::Cookie and Mojolicious: "
        "signed, not encrypted)"
    )
    assert _as_it_is(quote(json.dumps({"t": MOJO_ACCESS})), tokens) == {"access token"}


def _set_by_flask(chunks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The cookies as the browser driver records them (name, value), from the Set-Cookie headers Flask writes."""
    from appside.browser_driver import _cookie

    response = Flask(__name__).response_class()
    for name, value in chunks:
        response.set_cookie(name, value, httponly=True)
    return [_cookie(header) for header in response.headers.getlist("Set-Cookie")]


def _appc27(cookies: list[tuple[str, str]], secret: str) -> str:
    """APPC-27's step on one normal sign-in that set `cookies`: its failure message, or "" where it failed nothing."""
    from types import SimpleNamespace

    from appside.browser_driver import SignIn
    from appside.observed import Observed
    from appside.steps import leaks
    from appside.steps.sign_ins import AppRun
    from suite.verdict.checks import NonConformance

    app_run = AppRun(sign_ins=[SignIn(True, contents=[], cookies=cookies)], observed=[Observed([])])
    drive = SimpleNamespace(sign_in_url="http://127.0.0.1:5081/login")
    application = SimpleNamespace(app_type="web", client_secret=secret, is_interactive=True, drive=drive)
    try:
        leaks.nothing_secret_in_pages(application, app_run)
    except NonConformance as failure:
        return str(failure)
    except pytest.skip.Exception:  # no token was issued: nothing else to judge, and nothing failed
        return ""
    raise AssertionError("a run that issued no token passed APPC-27")


def test_a_value_chunked_over_several_cookies_is_read_joined_in_both_conventions(monkeypatch):
    """An outsider's application split its access token over the cookies tok.0 and tok.1 and passed APPC-27: each
    half alone is no token. A value too long for one cookie is chunked as @auth and @supabase/ssr write it (name.0,
    name.1, ...) and as ASP.NET Core's ChunkingCookieManager does (name=chunks-N, then nameC1 to nameCN): the chunks
    are joined in their order, then decoded as one cookie is. Chunks out of order, or a set missing one, join
    nothing the secret is in."""
    from appside.steps import leaks

    monkeypatch.setattr(leaks, "every_flow_made", lambda: [])
    secret = "chunked-" + secrets.token_urlsafe(32)
    encoded = base64.urlsafe_b64encode(json.dumps({"access_token": secret}).encode()).decode().rstrip("=")
    thirds = [encoded[i : i + len(encoded) // 3 + 1] for i in range(0, len(encoded), len(encoded) // 3 + 1)]
    dotted = _set_by_flask([("sid", "abc"), ("tok.0", secret[:20]), ("tok.1", secret[20:])])
    assert "cookie 'tok (chunked over tok.0, tok.1)'" in _appc27(dotted, secret)
    # a base64 value cut anywhere (@supabase/ssr's session): no chunk decodes to the token alone
    supabase = _set_by_flask([(f"sb-auth-token.{i}", third) for i, third in enumerate(thirds)][::-1])
    assert "chunked over sb-auth-token.0, sb-auth-token.1, sb-auth-token.2" in _appc27(supabase, secret)
    asp_net = _set_by_flask(
        [(".AspNetCore.Cookies", f"chunks-{len(thirds)}")]
        + [(f".AspNetCore.CookiesC{i}", third) for i, third in enumerate(thirds, 1)]
    )
    assert "chunked over .AspNetCore.CookiesC1, .AspNetCore.CookiesC2" in _appc27(asp_net, secret)
    assert _appc27(_set_by_flask([("tok.1", secret[:20]), ("tok.0", secret[20:])]), secret) == ""
    assert _appc27(_set_by_flask([("tok.0", secret[:20]), ("tok.2", secret[20:])]), secret) == ""
