"""OpenID Connect on top of the sandbox's OAuth: ID tokens and userinfo, by authlib's oidc.core.

The sandbox only says what authlib asks of it: the signing keys, the issuer, the user's claims,
that no nonce counts as seen before (Visma Connect does not track them), and how to find an access
token it issued.
"""

import base64
import dataclasses
from typing import Any

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from authlib.oidc.core import OpenIDCode, UserInfo, UserInfoEndpoint
from joserfc.jwk import KeySet

from sandbox.defects import Defects
from sandbox.registry import Application, User
from sandbox.tokens import IssuedToken, TokenStore, symmetric_signing_keys, unpublished_signing_keys


def user_info(user: User, scope: str) -> UserInfo:
    """The test user's standard claims (OpenID Connect Core section 5.1), as far as `scope` allows."""
    given_name, _, family_name = user.name.partition(" ")
    return UserInfo(
        sub=str(user.get_user_id()),
        name=user.name,
        given_name=given_name,
        family_name=family_name,
        preferred_username=user.username,
        locale="en-GB",
        email=user.email,
        email_verified=True,
    ).filter(scope)


class SandboxOpenIDCode(OpenIDCode):
    """Adds an RS256 ID token, signed with the JWKS key, to a code redeemed with scope openid."""

    def __init__(self, issuer: str, keys: KeySet, defects: Defects) -> None:
        super().__init__(require_nonce=False)  # OpenID Connect Core 3.1.2.1: nonce is optional here
        self.issuer, self.keys, self.defects = issuer, keys, defects

    def resolve_client_private_key(self, client: Application) -> KeySet:
        if "id-token-unknown-key" in self.defects:
            return unpublished_signing_keys()  # a key the JWKS does not publish
        if "jwks-symmetric-key" in self.defects:
            return symmetric_signing_keys()  # the oct key the JWKS publishes: anyone can sign with it
        return self.keys

    def get_client_algorithm(self, client: Application) -> str:
        return "HS256" if "jwks-symmetric-key" in self.defects else "RS256"

    def get_client_claims(self, client: Application) -> dict:
        audience = self.issuer if "id-token-wrong-audience" in self.defects else client.get_client_id()
        return {"iss": self.issuer, "aud": [audience]}

    def get_compatible_claims(self, request):
        claims = super().get_compatible_claims(request)
        if "id-token-foreign-azp" in self.defects:
            claims["azp"] = "another-client"
        if "id-token-exp-before-iat" in self.defects:
            claims["exp"] = claims["iat"] - 1  # expired when issued, yet within any clock skew of now
        return claims

    def get_authorization_code_claims(self, authorization_code):
        claims = super().get_authorization_code_claims(authorization_code)
        if "id-token-nonce-dropped" in self.defects:
            claims.pop("nonce", None)
        return claims

    def encode_id_token(self, token, request):
        if "id-token-at-hash-wrong" in self.defects:
            token = {**token, "access_token": token["access_token"][::-1]}  # at_hash of another token
        encoded = super().encode_id_token(token, request)
        if "id-token-alg-none" in self.defects:  # unsigned, as LemonLDAP::NG sends it: header.payload, no signature
            header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
            return f"{header}.{encoded.split('.')[1]}"
        return encoded

    def process_token(self, grant, response):
        if "id-token-missing" in self.defects:
            return response[1]
        return super().process_token(grant, response)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """Never: Visma Connect (IdentityServer) does not refuse an authorization request whose nonce an
        earlier one carried. Checking the nonce against replay is the client's (OpenID Connect Core
        section 3.1.3.7 step 11), and a client that repeats its nonce is judged for it, not refused."""
        return False

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        return user_info(user, scope)


class SandboxRefreshedIDToken(SandboxOpenIDCode):
    """OpenID Connect Core section 12.2: a refresh of a grant with openid returns a new ID token, for the
    same user and client, whose auth_time is the original sign-in's."""

    def __call__(self, grant):
        grant.register_hook("after_create_token_response", self.process_token)

    def get_compatible_claims(self, request):
        claims = super().get_compatible_claims(request)
        if getattr(request.refresh_token, "auth_time", None):
            claims["auth_time"] = request.refresh_token.auth_time
        return claims

    def generate_user_info(self, user, scope):
        claims = super().generate_user_info(user, scope)
        if "refreshed-id-token-other-sub" in self.defects:
            claims["sub"] = f"{claims['sub']}-refreshed"
        return claims


class SandboxUserInfoEndpoint(UserInfoEndpoint):
    def __init__(self, issuer: str, tokens: TokenStore, defects: Defects) -> None:
        protector = ResourceProtector()
        protector.register_token_validator(IssuedAccessTokens(tokens, defects))
        super().__init__(resource_protector=protector)
        self.issuer, self.defects = issuer, defects

    def get_issuer(self) -> str:
        return self.issuer

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        claims = user_info(user, scope)
        if "userinfo-claims-dropped" in self.defects:
            claims = UserInfo(sub=claims["sub"])
        if "userinfo-wrong-sub" in self.defects:
            claims["sub"] = f"{claims['sub']}-other"
        return claims


class IssuedAccessTokens(BearerTokenValidator):
    """Access tokens are found in the sandbox's store, so a revoked one stops working."""

    def __init__(self, tokens: TokenStore, defects: Defects) -> None:
        super().__init__()
        self.tokens, self.defects = tokens, defects

    def authenticate_token(self, token_string: str) -> IssuedToken | None:
        found = self.tokens.find_access_token(token_string)
        if found is None and "userinfo-tampered-accepted" in self.defects:
            found = self.tokens.access_token_signed_or_not(token_string)
        if found is None and "userinfo-any-token" in self.defects:
            found = self.tokens.latest_user_access_token()
        if found is not None and found.user is None and "userinfo-service-token-accepted" in self.defects:
            found = self.tokens.latest_user_access_token()  # a token for no End-User answered with one's claims
        return found

    def validate_token(self, token: IssuedToken | None, scopes: Any, request: Any) -> None:
        if token and "revoked-access-token-accepted" in self.defects:
            token.revoked = False
        if token and token.is_expired() and "userinfo-accepts-expired" in self.defects:
            token = dataclasses.replace(token, expires_at=None)  # judged as one that never expires
        if token and token.is_expired() and "userinfo-expired-error-code" in self.defects:
            raise ExpiredTokenAsBadRequest(realm=self.realm)
        super().validate_token(token, scopes, request)


class ExpiredTokenAsBadRequest(InvalidTokenError):
    """Defect userinfo-expired-error-code: an expired token refused with a Bearer challenge, but as a
    malformed request (HTTP 400, invalid_request), not as the invalid token it is."""

    error, status_code = "invalid_request", 400
