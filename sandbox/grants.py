"""The grants the sandbox offers, on authlib's implementations, with Visma Connect's rules added."""

import hashlib
import threading
import time
from dataclasses import dataclass, replace
from typing import ClassVar

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import (
    CODE_VERIFIER_PATTERN,
    create_s256_code_challenge,
)
from flask import g


class StalledRefusal(OAuth2Error):
    """Defect pkce-refusal-stalls: a refusal that shows a blank 200 page instead of an error."""

    error = "stalled"


class InvalidTenantError(OAuth2Error):
    """Visma Connect's own error for a tenant the application may not act for."""

    error = "invalid_tenant"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: object
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float = 0.0
    nonce: str | None = None
    auth_time: int | None = None
    # the fault code-verifier-compared: this code's verifier is compared even under pkce-not-compared
    verifier_compared: bool = False

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    # authlib.oidc.core's AuthorizationCodeMixin
    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at


class CodeStore:
    def __init__(self) -> None:
        self._codes: dict[str, AuthorizationCode] = {}
        self._redeemed: set[str] = set()  # codes used once: a second use revokes what the first got
        self._lock = threading.Lock()

    def save(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code] = code

    def find(self, code: str) -> AuthorizationCode | None:
        with self._lock:
            return self._codes.get(code)

    def delete(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes.pop(code.code, None)
            self._redeemed.add(code.code)

    def redeemed(self, code: str) -> bool:
        with self._lock:
            return code in self._redeemed

    def cancel_unused(self, client_id: str) -> None:
        """Forget the client's codes not yet redeemed (the older-codes-cancelled variant)."""
        with self._lock:
            self._codes = {value: code for value, code in self._codes.items() if code.client_id != client_id}


def _check_granted_scope(grant):
    requested = set((grant.request.payload.scope or "").split())
    granted = set(grant.request.client.scopes)
    if requested - granted and "scope-not-checked" not in grant.server.defects:
        raise InvalidScopeError(f"scope not granted to this client: {' '.join(sorted(requested - granted))}")


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def authenticate_token_endpoint_client(self):
        form, defects = self.request.form, self.server.defects
        if (
            "service-secret-not-required" in defects
            and "client_secret" not in form
            and "Authorization" not in self.request.headers
        ):
            client = self.server.query_client(form.get("client_id", ""))
            if client is not None:
                self.request.client = client
                return client
        return super().authenticate_token_endpoint_client()

    def validate_token_request(self) -> None:
        super().validate_token_request()
        _check_granted_scope(self)
        self._check_tenant()

    def granted_scope(self) -> str:
        """The scope the token is for: the one asked for, or where the request names none, every scope the client
        is registered for. RFC 6749 section 3.3: "If the client omits the scope parameter when requesting
        authorization, the authorization server MUST either process the request using a pre-defined default value
        or fail the request indicating an invalid scope". Which Visma Connect does, its pages do not say and nobody
        observed: the sandbox does as IdentityServer does by default (a client that asks for no scope gets its
        allowed scopes), and its token response names the scope granted."""
        return self.request.payload.scope or " ".join(self.request.client.scopes)

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True):
        return super().generate_token(
            user, scope or self.granted_scope(), grant_type, expires_in, include_refresh_token
        )

    def _check_tenant(self):
        defects = self.server.defects
        tenant_id = self.request.form.get("tenant_id")
        requested = set(self.granted_scope().split())
        tenant_based = requested & set(self.server.registry.tenant_scopes)
        if "tenant-always-required" in defects:
            tenant_based = requested
        if tenant_based and not tenant_id and "tenant-not-required" not in defects:
            raise InvalidRequestError(f"tenant_id is required for {' '.join(sorted(tenant_based))}")
        if tenant_id:
            approved = tenant_id in self.request.client.approved_tenants
            if not approved and "tenant-approval-not-checked" not in defects:
                raise InvalidTenantError("the tenant has not approved this application")
            g.tenant_id = tenant_id


def _authenticate_web_app(grant, pkce_used: bool):
    """A server-side web app sends its secret unless PKCE protects the code ("client_secret:
    Required for server-side apps unless PKCE is used"); public clients never have one."""
    client = grants.BaseGrant.authenticate_token_endpoint_client(grant)
    defects = grant.server.defects
    if (
        client.app_type == "web"
        and grant.request.auth_method == "none"
        and (
            (not pkce_used and "web-secret-not-required" not in defects)
            or (pkce_used and "web-pkce-without-secret-refused" in defects)
        )
    ):
        raise InvalidClientError("client authentication is required", status_code=401)
    return client


class VismaCodeChallenge(CodeChallenge):
    """PKCE (RFC 7636) as IdentityServer applies it: S256, verifier 43-128 unreserved characters,
    a missing or wrong verifier is `invalid_grant`."""

    def __init__(self, defects) -> None:
        super().__init__(required=True)
        self.defects = defects

    def validate_code_verifier(self, grant, result):
        verifier = grant.request.form.get("code_verifier")
        code = grant.request.authorization_code
        if not code.code_challenge:
            if verifier and "pkce-downgrade-accepted" not in self.defects:
                raise InvalidRequestError("code_verifier sent, but the authorization request had no code_challenge")
            return
        if not verifier:
            if "pkce-verifier-optional" in self.defects:
                return
            if "missing-verifier-invalid-request" in self.defects:
                raise InvalidRequestError("code_verifier is missing")
            if "missing-verifier-invalid-client" in self.defects:
                raise InvalidClientError(status_code=401, description="client authentication failed")
            raise InvalidGrantError("code_verifier is missing")
        if not CODE_VERIFIER_PATTERN.match(verifier) and "pkce-verifier-format-unchecked" not in self.defects:
            raise InvalidGrantError("code_verifier must be 43-128 characters of [A-Za-z0-9-._~]")
        if "pkce-not-compared" in self.defects and not code.verifier_compared:
            return
        # RFC 7636 section 4.6: transform the verifier by the method the authorization request named.
        method = code.code_challenge_method or "plain"
        if method == "plain" and "pkce-plain-verifier-unchecked" in self.defects:
            return
        transformed = verifier if method == "plain" else self._s256(verifier)
        if transformed != code.code_challenge:
            raise InvalidGrantError("code_verifier does not match code_challenge")

    def _s256(self, verifier: str) -> str:
        if "pkce-s256-hex" in self.defects:
            return hashlib.sha256(verifier.encode()).hexdigest()
        return str(create_s256_code_challenge(verifier))


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def validate_authorization_request(self):
        if not self.request.payload.redirect_uri and "redirect-uri-defaulted" not in self.server.defects:
            # OpenID Connect Core section 3.1.2.1 makes it REQUIRED, and Visma's page says it "must match
            # registration details": never the registered one filled in (an error page, no redirect)
            raise InvalidRequestError("redirect_uri is missing")
        redirect_uri = super().validate_authorization_request()
        self._check_app_type_rules(redirect_uri)
        return redirect_uri

    @staticmethod
    def validate_authorization_redirect_uri(request, client):
        # The registry takes no redirect URI with a fragment, registered or not (@axa-fr/oidc-client's demo registers
        # http://host/#/callback); the user's error page says why, not only that it is not the client's
        sent = request.payload.redirect_uri
        if sent and "#" in sent and not client.check_redirect_uri(sent):
            raise InvalidRequestError(
                # an error_description holds no double quote (RFC 6749 section 4.1.2.1)
                f"redirect_uri {sent} has a fragment: RFC 6749 section 3.1.2: "
                "'The endpoint URI MUST NOT include a fragment component.'"
            )
        return grants.AuthorizationCodeGrant.validate_authorization_redirect_uri(request, client)

    def _check_app_type_rules(self, redirect_uri):
        client, defects = self.request.client, self.server.defects
        data = self.request.payload.data
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method", "plain")

        def refuse(description, stalls: bool = False):
            if stalls and "pkce-refusal-stalls" in defects:
                raise StalledRefusal(description)
            raise InvalidRequestError(description, redirect_uri=redirect_uri, state=self.request.payload.state)

        if client.is_public and not challenge and "pkce-not-required" not in defects:
            refuse("code_challenge is required for this client", stalls=True)
        if "code_challenge_method" not in data and "pkce-missing-method-means-s256" in defects:
            method = "S256"
        plain_accepted = "pkce-plain-accepted" in defects or "pkce-plain-verifier-unchecked" in defects
        if challenge and method == "plain" and not plain_accepted:
            refuse("code_challenge_method must be S256", stalls=True)  # IdentityServer's AllowPlainTextPkce=false
        if client.app_type == "web" and not challenge and "web-without-pkce-refused" in defects:
            refuse("code_challenge is required")
        if data.get("ui_locales") and "ui-locales-refused" in defects:
            refuse("ui_locales is not supported")
        offline = "offline_access" in (self.request.payload.scope or "").split()
        if offline and client.app_type in ("spa", "native") and "offline-access-invalid-scope" in defects:
            raise InvalidScopeError(
                "offline_access is not allowed for this client",
                redirect_uri=redirect_uri,
                state=self.request.payload.state,
            )

    def authenticate_token_endpoint_client(self):
        code = self.server.codes.find(self.request.form.get("code", ""))
        return _authenticate_web_app(self, pkce_used=bool(code and code.code_challenge))

    def validate_token_request(self):
        if "redirect-uri-mismatch-invalid-request" in self.server.defects:
            code = self.server.codes.find(self.request.form.get("code", ""))
            sent = self.request.form.get("redirect_uri")
            if code and code.redirect_uri and sent and sent != code.redirect_uri:
                raise InvalidRequestError("redirect_uri does not match the authorization request's")
        super().validate_token_request()
        client, code = self.request.client, self.request.authorization_code
        if code.code_challenge and not client.is_public and "web-pkce-with-secret-refused" in self.server.defects:
            raise InvalidRequestError("a client using PKCE may not authenticate with a secret")

    def save_authorization_code(self, code, request) -> None:
        data = request.payload.data
        redirect_uri = request.payload.redirect_uri
        if "redirect-uri-not-compared" in self.server.defects:
            redirect_uri = None  # authlib compares only when the code remembers one
        if "older-codes-cancelled" in self.server.defects:
            self.server.codes.cancel_unused(request.client.client_id)
        self.server.codes.save(
            AuthorizationCode(
                code=code,
                client_id=request.client.client_id,
                redirect_uri=redirect_uri,
                scope=request.payload.scope,
                user=request.user,
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                expires_at=time.time() + self.server.code_lifetime,
                nonce=data.get("nonce"),
                auth_time=g.get("auth_time"),
                verifier_compared=self.server.faults.take("code-verifier-compared", request.user.get_user_id()),
            )
        )

    def query_authorization_code(self, code, client):
        if self.server.codes.redeemed(code) and "replayed-code-tokens-kept" not in self.server.defects:
            # RFC 6749 section 4.1.2: the server SHOULD revoke all tokens previously issued based on it
            self.server.tokens.revoke_issued_for(code)
            return None
        found = self.server.codes.find(code)
        if found is not None:  # whose code it is, for the log, whether it is redeemed or refused
            g.code_user = found.user.get_user_id()
        if found is None or (found.is_expired() and "code-never-expires" not in self.server.defects):
            return None
        if "redirect_uri" not in self.request.form and "redirect-uri-optional-at-token" in self.server.defects:
            found = replace(found, redirect_uri=None)  # authlib compares only when the code remembers one
        if found.client_id != client.client_id and "code-not-bound-to-client" not in self.server.defects:
            return None
        if self.server.faults.take("token-request-refused", found.user.get_user_id()):
            # a redemption that would have succeeded is refused (authlib answers invalid_grant, HTTP 400), and the
            # code is spent with it: the client gets no token for this sign-in, whatever it sends again
            self.server.codes.delete(found)
            return None
        return found

    def delete_authorization_code(self, authorization_code) -> None:
        if "code-reusable" not in self.server.defects:
            self.server.codes.delete(authorization_code)

    def authenticate_user(self, authorization_code):
        return authorization_code.user


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True  # "one time" rotation: a new refresh token, the old one revoked

    def authenticate_token_endpoint_client(self):
        return _authenticate_web_app(self, pkce_used=False)

    def validate_token_request(self):
        if "refresh-token-judged-first" in self.server.defects:
            self.authenticate_token_endpoint_client()
            if not self.authenticate_refresh_token(self.request.form.get("refresh_token", "")):
                raise InvalidGrantError("unknown refresh token")
        super().validate_token_request()

    def authenticate_refresh_token(self, refresh_token):
        issued = self.server.tokens.find_refresh_token(refresh_token)
        if issued and (not issued.revoked or time.time() < issued.grace_until):
            if "refresh-token-any-client" in self.server.defects:
                issued.client = self.request.client
            return issued
        return None

    def _validate_token_scope(self, token):
        widened = ("refresh-scope-widened", "refresh-scope-widened-unnamed")
        if not any(name in self.server.defects for name in widened):  # else any scope asked for is granted
            super()._validate_token_scope(token)

    def authenticate_user(self, refresh_token):
        return refresh_token.user

    def issue_token(self, user, refresh_token):
        if "refresh-not-rotated" in self.server.defects:
            return self.generate_token(user=user, scope=refresh_token.get_scope(), include_refresh_token=False)
        token = super().issue_token(user, refresh_token)
        if "refresh-returns-same-access-token" in self.server.defects:
            token["access_token"] = refresh_token.access_token
        if "refresh-scope-widened" in self.server.defects and self.request.payload.scope:
            token["scope"] = self.request.payload.scope  # what was asked for, granted or not
        return token

    def revoke_old_credential(self, refresh_token) -> None:
        if "refresh-not-rotated" not in self.server.defects:
            self.server.tokens.revoke(refresh_token, grace=3 if "refresh-reuse-grace" in self.server.defects else 0)
