"""Signed JWT access tokens (RFC 9068, RS256) shaped like Visma Connect's, and their store."""

import functools
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from authlib.common.security import generate_token
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import g
from joserfc import jwt
from joserfc.jwk import KeyParameters, KeySet, OctKey, RSAKey

from sandbox.defects import Defects
from sandbox.registry import Application, User

ACCESS_TOKEN_LIFETIME = 3600  # seconds; the documented `expires_in`
KEY_PARAMETERS: KeyParameters = {"use": "sig", "alg": "RS256"}


@functools.cache
def signing_keys() -> KeySet:
    """The sandbox's RS256 key: generated once for this user on this machine (making an RSA-2048 key
    takes 0.1-0.3 s, which every run and every detection-matrix switch paid), kept in the user's cache
    ($XDG_CACHE_HOME or ~/.cache: a run leaves nothing in the temporary folder) and read back by later
    runs. A test key the sandbox made for itself; it protects nothing."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(cache) / "visma-connect-sandbox"
    path = folder / "sandbox-test-signing-key.pem"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        mine = folder.stat().st_uid == os.getuid() and not folder.stat().st_mode & 0o077
    except OSError:
        mine = False
    if mine and path.is_file():
        try:
            # The RSA consistency check is as slow as making a key; skipping it is safe for a key
            # this sandbox wrote into a folder only this user can use.
            private = serialization.load_pem_private_key(path.read_bytes(), None, unsafe_skip_rsa_key_validation=True)
            if not isinstance(private, rsa.RSAPrivateKey):
                raise TypeError("not an RSA key")
            return KeySet([RSAKey.import_key(private, parameters=KEY_PARAMETERS)])
        except (OSError, ValueError, TypeError):
            pass  # unreadable: make a new one
    key = RSAKey.generate_key(2048, parameters=KEY_PARAMETERS, auto_kid=True)
    if mine:
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            partial.write_bytes(key.as_pem(private=True))
            os.chmod(partial, 0o600)
            os.replace(partial, path)  # atomic: a run reading it at the same time sees all or nothing
        except OSError:
            pass  # not kept: the next run makes its own
    return KeySet([key])


@functools.cache
def unpublished_signing_keys() -> KeySet:
    """An RS256 key the sandbox's JWKS never publishes (a defect switch signs ID tokens with it)."""
    return KeySet([RSAKey.generate_key(2048, parameters=KEY_PARAMETERS, auto_kid=True)])


@functools.cache
def symmetric_signing_keys() -> KeySet:
    """An HS256 key that a defect switch publishes in the JWKS and signs ID tokens with."""
    return KeySet([OctKey.generate_key(256, parameters={"use": "sig", "alg": "HS256"}, auto_kid=True)])


def published_key_set(keys: KeySet, defects) -> dict:
    """The JWK Set document the sandbox serves at its jwks_uri: the public half of its signing key."""
    document: dict = dict(keys.as_dict(private="jwks-private-members" in defects))
    if "jwks-symmetric-key" in defects:
        document["keys"].append(symmetric_signing_keys().keys[0].as_dict(private=True))
    if "jwks-kid-shared" in defects:  # a second RSA key under the signing key's kid
        other = unpublished_signing_keys().keys[0].as_dict(private=False)
        document["keys"].append({**other, "kid": document["keys"][0]["kid"]})
    return document


class VismaTokenGenerator(JWTBearerTokenGenerator):
    """Adds the claims Visma Connect documents and decides who gets a refresh token."""

    def __init__(self, issuer: str, keys: KeySet, defects: Defects) -> None:
        super().__init__(issuer=issuer, expires_generator=self._lifetime, refresh_token_generator=_opaque_token)
        self.keys = keys
        self.defects = defects

    def _lifetime(self, client, grant_type):
        shortened = g.get("access_token_lifetime") and g.access_token_lifetime(g.get("token_user"))
        if shortened:  # a fault injected at run time (sandbox.faults), for this user or any
            g.token_shortened = True
            return shortened
        if client.access_token_lifetime:  # registered with a lifetime of its own
            return client.access_token_lifetime
        return 7200 if "expires-in-wrong" in self.defects else ACCESS_TOKEN_LIFETIME

    def get_jwks(self) -> KeySet:
        return self.keys

    def get_audiences(self, client: Application, user: User | None, scope: str) -> list[str]:
        return [client.get_client_id()]

    def get_extra_claims(self, client: Application, grant_type: str, user: User | None, scope: str) -> dict:
        claims = {"nbf": int(time.time()), "scope": scope.split()}
        if "access-token-exp-mismatch" in self.defects:
            claims["exp"] = int(time.time()) + 600
        if "access-token-expired" in self.defects:  # issued two hours ago for the hour of expires_in
            claims["nbf"] = claims["iat"] = int(time.time()) - 7200
            claims["exp"] = int(time.time()) - 3600
        tenant_id = g.get("tenant_id")
        if tenant_id and "tenant-claim-missing" not in self.defects:
            claims["tenant_id"] = tenant_id
        return claims

    def access_token_generator(self, client: Application, grant_type: str, user: User | None, scope: str) -> str:
        if "access-token-opaque" in self.defects:
            return str(generate_token(48))
        token = str(super().access_token_generator(client, grant_type, user, scope))
        reshaped = ("access-token-typ-jwt", "access-token-claims-missing", "access-token-without-typ")
        unscoped = "refresh-scope-widened-unnamed" in self.defects and grant_type == "refresh_token"
        if unscoped or any(name in self.defects for name in reshaped):
            issued = jwt.decode(token, self.keys)
            header, claims = dict(issued.header), dict(issued.claims)
            if "access-token-typ-jwt" in self.defects:
                header["typ"] = "JWT"
            if "access-token-claims-missing" in self.defects:
                claims.pop("sub", None)
                claims.pop("jti", None)
            if "access-token-without-typ" in self.defects:  # as Spring Authorization Server's JwtGenerator writes them
                header.pop("typ", None)
                claims.pop("client_id", None)
            if unscoped:  # RFC 9068's scope claim is a SHOULD: without it only the token response tells the scope
                claims.pop("scope", None)
            token = jwt.encode(header, claims, self.keys, default_type=None)
        return token

    def generate(
        self,
        grant_type: str,
        client: Application,
        user: User | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict:
        # authlib offers a refresh token to every client allowed the refresh_token grant; Visma's
        # rule is about the app type and offline_access instead (refresh_token_allowed).
        wanted = include_refresh_token or grant_type == "authorization_code"
        include_refresh_token = wanted and self.refresh_token_allowed(client, scope)
        g.token_user = user.get_user_id() if user else None  # whom faults (sandbox.faults) apply to
        token: dict = super().generate(
            grant_type,
            client,
            user=user,
            scope=scope,
            expires_in=expires_in,
            include_refresh_token=include_refresh_token,
        )
        if "expires-in-missing" in self.defects:
            token.pop("expires_in", None)
        return token

    def refresh_token_allowed(self, client: Application, scope: str | None) -> bool:
        """Seed pages: only server-side web apps configured with offline_access get one."""
        if "no-refresh-token" in self.defects:
            return False
        offline = "offline_access" in (scope or "").split()
        if client.app_type == "spa":
            return offline and "refresh-for-spa" in self.defects
        if client.app_type == "native":
            return offline and "refresh-for-native" in self.defects
        if client.app_type == "web":
            return offline or "refresh-without-offline-access" in self.defects
        return False


def _opaque_token(**_):
    return generate_token(48)


@dataclass
class IssuedToken:
    """One access or refresh token this sandbox issued (`kind`), for whom and until when."""

    kind: str
    client: Application
    scope: str
    user: User | None  # None: a service (client_credentials) token
    expires_at: float | None  # None: no expiry (refresh tokens)
    access_token: str = field(default="", repr=False)  # a refresh token's: issued with it
    revoked: bool = False
    auth_time: int | None = None  # when the user signed in for the grant: a refreshed ID token keeps it
    code: str = field(default="", repr=False)  # the authorization code it was issued for, if any
    grace_until: float = 0.0  # a rotated refresh token's grace period (defect refresh-reuse-grace)

    # authlib's TokenMixin / RefreshTokenGrant / BearerTokenValidator expectations
    def check_client(self, client: Application) -> bool:
        return client.get_client_id() == self.client.get_client_id()

    def get_client(self) -> Application:
        return self.client

    def get_user(self) -> User | None:
        return self.user

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return ACCESS_TOKEN_LIFETIME

    def is_expired(self) -> bool:
        return self.expires_at is not None and time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked


class TokenStore:
    """The access and refresh tokens this sandbox issued, in memory, so that they can be revoked."""

    def __init__(self) -> None:
        self._issued: dict[tuple[str, str], IssuedToken] = {}
        self._lock = threading.Lock()

    def save(
        self, token: dict, client: Application, user: User | None, auth_time: int | None = None, code: str = ""
    ) -> None:
        now = time.time()
        with self._lock:
            for kind in ("access_token", "refresh_token"):
                if token.get(kind):
                    # the lifetime it was issued with, whatever the answer says (a defect may leave expires_in out)
                    lifetime = token.get("expires_in", client.access_token_lifetime or ACCESS_TOKEN_LIFETIME)
                    expires_at = now + lifetime if kind == "access_token" else None
                    self._issued[(kind, token[kind])] = IssuedToken(
                        kind,
                        client,
                        token.get("scope", ""),
                        user,
                        expires_at,
                        token.get("access_token", "") if kind == "refresh_token" else "",
                        auth_time=auth_time,
                        code=code,
                    )

    def find(self, value: str, kinds: tuple[str, ...] = ("access_token", "refresh_token")) -> IssuedToken | None:
        with self._lock:
            return next((self._issued[(k, value)] for k in kinds if (k, value) in self._issued), None)

    def find_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        return self.find(refresh_token, ("refresh_token",))

    def find_access_token(self, access_token: str) -> IssuedToken | None:
        return self.find(access_token, ("access_token",))

    def revoke_issued_for(self, code: str) -> None:
        """Revoke the tokens issued for an authorization code (one presented a second time)."""
        with self._lock:
            for issued in self._issued.values():
                if issued.code == code:
                    issued.revoked = True

    def access_token_signed_or_not(self, access_token: str) -> IssuedToken | None:
        """Defect userinfo-tampered-accepted: a JWT access token found by its header and claims alone."""
        content = access_token.rpartition(".")[0]
        with self._lock:
            return next(
                (
                    t
                    for (kind, value), t in self._issued.items()
                    if kind == "access_token" and content and value.rpartition(".")[0] == content
                ),
                None,
            )

    def latest_user_access_token(self) -> IssuedToken | None:
        """Defect userinfo-any-token: the last access token issued for a user, whatever was presented."""
        with self._lock:
            return next(
                (t for (kind, _), t in reversed(self._issued.items()) if kind == "access_token" and t.user), None
            )

    def revoke(self, issued: IssuedToken, grace: float = 0.0) -> None:
        """`grace`: seconds the token keeps working, as Visma's one-time rotation allows the old refresh
        token; an explicit revocation gives none and ends any grace (RFC 7009 section 2.1: "immediately")."""
        with self._lock:
            issued.revoked, issued.grace_until = True, time.time() + grace
