"""PKCE (RFC 7636): a fresh verifier per scenario and its S256 challenge."""

import base64
import hashlib
import secrets
import string

from suite.secrets.redaction import REDACTOR

UNRESERVED = string.ascii_letters + string.digits + "-._~"


def new_verifier(length: int = 64, alphabet: str = UNRESERVED) -> str:
    verifier = "".join(secrets.choice(alphabet) for _ in range(length))
    REDACTOR.register(verifier, "code_verifier")
    return verifier


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))) without padding (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii", errors="surrogateescape")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
