"""Signed JWT access tokens (RFC 9068, RS256) shaped like Visma Connect's, and their store."""

import threading
import time
from dataclasses import dataclass

from authlib.common.security import generate_token
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import g
from joserfc.jwk import KeySet, RSAKey

ACCESS_TOKEN_LIFETIME = 3600  # seconds; the documented `expires_in`


def new_signing_keys() -> KeySet:
    key = RSAKey.generate_key(2048, parameters={"use": "sig", "alg": "RS256"}, auto_kid=True)
    return KeySet([key])


class VismaTokenGenerator(JWTBearerTokenGenerator):
    """Adds the claims Visma Connect documents and decides who gets a refresh token."""

    def __init__(self, issuer, keys: KeySet, defects):
        super().__init__(issuer=issuer, expires_generator=self._lifetime,
                         refresh_token_generator=_opaque_token)
        self.keys = keys
        self.defects = defects

    def _lifetime(self, client, grant_type):
        return 7200 if "expires-in-wrong" in self.defects else ACCESS_TOKEN_LIFETIME

    def get_jwks(self):
        return self.keys

    def get_audiences(self, client, user, scope):
        return [client.get_client_id()]

    def get_extra_claims(self, client, grant_type, user, scope):
        claims = {"nbf": int(time.time()), "scope": scope.split()}
        tenant_id = g.get("tenant_id")
        if tenant_id and "tenant-claim-missing" not in self.defects:
            claims["tenant_id"] = tenant_id
        return claims

    def generate(self, grant_type, client, user=None, scope=None, expires_in=None,
                 include_refresh_token=True):
        # authlib offers a refresh token to every client allowed the refresh_token grant; Visma's
        # rule is about the app type and offline_access instead (refresh_token_allowed).
        wanted = include_refresh_token or grant_type == "authorization_code"
        include_refresh_token = wanted and self.refresh_token_allowed(client, scope)
        token = super().generate(grant_type, client, user=user, scope=scope,
                                 expires_in=expires_in, include_refresh_token=include_refresh_token)
        if "expires-in-missing" in self.defects:
            token.pop("expires_in", None)
        return token

    def refresh_token_allowed(self, client, scope) -> bool:
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
    client_id: str
    scope: str
    user: object
    refresh_token: str | None
    issued_at: float
    revoked: bool = False

    # authlib's TokenMixin / RefreshTokenGrant expectations
    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return ACCESS_TOKEN_LIFETIME

    def is_expired(self):
        return False

    def is_revoked(self):
        return self.revoked


class TokenStore:
    """Refresh tokens issued by this sandbox, in memory (access tokens are self-contained)."""

    def __init__(self):
        self._by_refresh_token: dict[str, IssuedToken] = {}
        self._lock = threading.Lock()

    def save(self, token: dict, client, user) -> None:
        refresh_token = token.get("refresh_token")
        if not refresh_token:
            return
        with self._lock:
            self._by_refresh_token[refresh_token] = IssuedToken(
                client.get_client_id(), token.get("scope", ""), user, refresh_token, time.time())

    def find_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        with self._lock:
            return self._by_refresh_token.get(refresh_token)

    def revoke(self, issued: IssuedToken) -> None:
        with self._lock:
            issued.revoked = True
