"""APPC-27 reads the cookies a web application sets in the browser as the browser could: a signed
session cookie (Flask, Starlette, npm cookie-session, Express) is signed, not encrypted, and a token
kept in one is a token given to the resource owner (RFC 6749 section 2.1). An encrypted cookie stays
opaque. Each format is made by the library that writes it where the suite has it (Flask,
itsdangerous's TimestampSigner as Starlette's SessionMiddleware uses it, cookie-signature)."""

import base64
import json
import secrets
import subprocess
from urllib.parse import quote

from cryptography.fernet import Fernet
from flask import Flask
from itsdangerous import TimestampSigner

from appside.session_cookies import readings
from appside.steps.leaks import leaked

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


def test_an_encrypted_or_a_random_cookie_is_no_leak():
    encrypted = Fernet(Fernet.generate_key()).encrypt(json.dumps(SESSION).encode()).decode()
    assert _found(encrypted) == []
    assert _found("s%3A" + secrets.token_urlsafe(24) + "." + secrets.token_urlsafe(32)) == []
    assert _found(TimestampSigner("k").sign(base64.b64encode(b'{"sid": "abc"}')).decode()) == []
