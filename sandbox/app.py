"""The sandbox's HTTP surface: Visma Connect's paths, served by Flask with authlib doing the OAuth work."""

import io
import json
import os
import secrets
import threading
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask, jsonify, redirect, render_template, request, session, url_for

from .defects import Defects
from .grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    CodeStore,
    RefreshTokenGrant,
    VismaCodeChallenge,
)
from .registry import Registry
from .tokens import TokenStore, VismaTokenGenerator, new_signing_keys

PATHS = {
    "authorization_endpoint": "/connect/authorize",
    "token_endpoint": "/connect/token",
    "userinfo_endpoint": "/connect/userinfo",
    "end_session_endpoint": "/connect/endsession",
    "revocation_endpoint": "/connect/revocation",
    "introspection_endpoint": "/connect/introspect",
    "jwks_uri": "/.well-known/openid-configuration/jwks",
}


class SandboxAuthorizationServer(AuthorizationServer):
    """authlib's server plus the sandbox's state: registry, stores and defect switches."""

    def __init__(self, app, registry: Registry, defects: Defects):
        self.registry, self.defects = registry, defects
        self.codes, self.tokens = CodeStore(), TokenStore()
        super().__init__(app, query_client=registry.applications.get, save_token=self._save_token)
        self.scopes_supported = registry.all_scopes()  # authlib refuses others with invalid_scope

    def _save_token(self, token, oauth_request):
        self.tokens.save(token, oauth_request.client, oauth_request.user)


class RevocationOfRefreshTokens(RevocationEndpoint):
    """Visma Connect's access tokens are self-contained JWTs; only refresh tokens can be revoked."""

    def query_token(self, token_string, token_type_hint):
        return self.server.tokens.find_refresh_token(token_string)

    def revoke_token(self, token, request):
        self.server.tokens.revoke(token)


class Issuer(IssuerParameter):
    def __init__(self, issuer):
        self.issuer = issuer

    def get_issuer(self):
        return self.issuer


def create_app(issuer: str, registry: Registry, defects: Defects = Defects()) -> Flask:
    issuer = issuer.rstrip("/")
    registry = Registry(
        applications={cid: replace(a, defects=defects.names) for cid, a in registry.applications.items()},
        users=registry.users, tenant_scopes=registry.tenant_scopes)
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    app.wsgi_app = _FormBodyGuard(app.wsgi_app, accept_json="json-body-accepted" in defects)
    keys = new_signing_keys()

    server = SandboxAuthorizationServer(app, registry, defects)
    server.register_token_generator("default", VismaTokenGenerator(issuer, keys, defects))
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(AuthorizationCodeGrant, [VismaCodeChallenge(defects)])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(RevocationOfRefreshTokens)
    if "iss-missing" not in defects:
        server.register_extension(Issuer(issuer))

    witness = _Witness(os.environ.get("SANDBOX_WITNESS_FILE"))
    app.after_request(witness.record)

    @app.get("/.well-known/openid-configuration")
    @app.get("/.well-known/oauth-authorization-server")
    def discovery():
        return jsonify(_metadata(issuer, registry, defects))

    @app.get(PATHS["jwks_uri"])
    def jwks():
        return jsonify(keys.as_dict(private=False))

    @app.route(PATHS["authorization_endpoint"], methods=["GET", "POST"])
    def authorize():
        user = registry.users.get(session.get("user", ""))
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return _authorization_error(error, registry, defects)
        if user is None:
            return redirect(url_for("login", returnUrl=request.full_path))
        if request.method == "GET":
            return render_template("consent.html", client_id=grant.client.client_id,
                                   scopes=(grant.request.payload.scope or "").split(),
                                   params=request.args.items(multi=True))
        granted = request.form.get("decision") == "allow"
        response = server.create_authorization_response(grant_user=user if granted else None, grant=grant)
        return _apply_callback_defects(response, defects)

    @app.route("/account/login", methods=["GET", "POST"])
    def login():
        return_url = request.values.get("returnUrl", "")
        if not return_url.startswith(PATHS["authorization_endpoint"] + "?"):
            return render_template("error.html", message="Invalid return URL."), 400
        if request.method == "POST":
            user = registry.users.get(request.form.get("username", ""))
            if user and secrets.compare_digest(user.password, request.form.get("password", "")):
                session["user"] = user.username
                return redirect(return_url)
            return render_template("login.html", return_url=return_url, failed=True,
                                   lang=_locale(return_url)), 401
        return render_template("login.html", return_url=return_url, failed=False, lang=_locale(return_url))

    @app.post(PATHS["token_endpoint"])
    def token():
        return _apply_token_defects(server.create_token_response(), registry, defects)

    @app.post(PATHS["revocation_endpoint"])
    def revocation():
        return server.create_endpoint_response(RevocationOfRefreshTokens.ENDPOINT_NAME)

    return app


def _metadata(issuer, registry, defects) -> dict:
    metadata = {"issuer": issuer + ("/" if "discovery-wrong-issuer" in defects else "")}
    metadata.update({name: issuer + path for name, path in PATHS.items()})
    if "discovery-missing-endpoint" in defects:
        del metadata["revocation_endpoint"]
    grant_types = ["authorization_code", "client_credentials", "refresh_token"]
    if "discovery-missing-grant-types" in defects:
        grant_types = []
    auth_methods = ["client_secret_basic", "client_secret_post"]
    if "discovery-missing-auth-methods" in defects:
        auth_methods = []
    metadata.update({
        "scopes_supported": registry.all_scopes(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "token_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["plain"] if "discovery-without-s256" in defects else ["plain", "S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "authorization_response_iss_parameter_supported": True,
        "ui_locales_supported": ["en-GB", "nb-NO", "sv-SE", "da-DK", "fi-FI", "nl-NL"],
    })
    return metadata


def _locale(return_url: str) -> str:
    query = dict(parse_qsl(urlsplit(return_url).query))
    return (query.get("ui_locales") or "en").split()[0]


def _authorization_error(error: OAuth2Error, registry: Registry, defects: Defects):
    """Redirect the error to a registered redirect_uri; never to an unverified one."""
    if error.redirect_uri:
        error.state = request.args.get("state")
        return _apply_callback_defects(_redirect(error()), defects)
    client = registry.applications.get(request.args.get("client_id", ""))
    target = request.args.get("redirect_uri")
    if "open-redirect" in defects and client and target:
        return redirect(_with_params(target, [("error", error.error), ("state", request.args.get("state", ""))]))
    return render_template("error.html", message=f"{error.error}: {error.description or ''}"), 400


def _redirect(authlib_response):
    status, _body, headers = authlib_response
    return redirect(dict(headers)["Location"], code=status)


def _with_params(url: str, params) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _apply_callback_defects(response, defects: Defects):
    location = response.headers.get("Location")
    if not location:
        return response
    parts = urlsplit(location)
    query = parse_qsl(parts.query, keep_blank_values=True)
    is_error = any(k == "error" for k, _ in query)
    if ("state-dropped" in defects and not is_error) or ("error-state-dropped" in defects and is_error):
        query = [(k, v) for k, v in query if k != "state"]
    if "callback-with-error" in defects and not is_error:
        query.append(("error", "server_error"))
    if "state-truncated" in defects:
        query = [(k, v[:40] if k == "state" else v) for k, v in query]
    response.headers["Location"] = urlunsplit(parts._replace(query=urlencode(query)))
    return response


def _apply_token_defects(response, registry: Registry, defects: Defects):
    body = response.get_json(silent=True) or {}
    if response.status_code == 200:
        if "token-type-wrong" in defects:
            body["token_type"] = "JWT"
        if "scope-missing" in defects:
            body.pop("scope", None)
        if "scope-widened" in defects:
            body["scope"] = " ".join(sorted(set(body.get("scope", "").split()) | {"visma_api:write"}))
        response.set_data(json.dumps(body))
        if "token-response-not-json" in defects and request.form.get("grant_type") == "client_credentials":
            response.headers["Content-Type"] = "text/plain"
    elif body.get("error") == "invalid_client" and "unknown-client-wrong-error" in defects:
        client_id = request.authorization.username if request.authorization else request.form.get("client_id")
        if client_id not in registry.applications:
            response.set_data(json.dumps({**body, "error": "unauthorized_client"}))
    if "no-store-missing" in defects:
        response.headers.pop("Cache-Control", None)
        response.headers.pop("Pragma", None)
    return response


class _Witness:
    """Test aid: with SANDBOX_WITNESS_FILE set, every secret the sandbox receives or issues is
    appended to that file, one a line, so a test can prove none of them leaks into any output."""

    SECRET_FIELDS = ("client_secret", "password", "code", "code_verifier", "refresh_token",
                     "access_token", "id_token", "token")

    def __init__(self, path):
        self.path, self.lock = path, threading.Lock()

    def record(self, response):
        if not self.path:
            return response
        values = [request.form.get(name) for name in self.SECRET_FIELDS]
        if request.authorization and request.authorization.password:
            values.append(request.authorization.password)
        body = response.get_json(silent=True) if response.is_json else None
        if isinstance(body, dict):
            values += [body.get(name) for name in self.SECRET_FIELDS]
        location = response.headers.get("Location", "")
        values += [v for k, v in parse_qsl(urlsplit(location).query) if k == "code"]
        with self.lock, open(self.path, "a", encoding="utf-8") as file:
            file.writelines(f"{v}\n" for v in values if isinstance(v, str) and v)
        return response


class _FormBodyGuard:
    """The token endpoint takes application/x-www-form-urlencoded only (RFC 6749 section 4.4.2);
    any other body gets invalid_request, as IdentityServer answers."""

    def __init__(self, wsgi_app, accept_json: bool):
        self.wsgi_app, self.accept_json = wsgi_app, accept_json

    def __call__(self, environ, start_response):
        is_token_request = environ.get("PATH_INFO") == PATHS["token_endpoint"] and environ["REQUEST_METHOD"] == "POST"
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if is_token_request and content_type != "application/x-www-form-urlencoded":
            if not (self.accept_json and content_type == "application/json"):
                return self._invalid_request(start_response)
            self._json_to_form(environ)
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _invalid_request(start_response):
        body = json.dumps({"error": "invalid_request",
                           "error_description": "the body must be application/x-www-form-urlencoded"}).encode()
        start_response("400 BAD REQUEST", [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                                           ("Content-Length", str(len(body)))])
        return [body]

    @staticmethod
    def _json_to_form(environ):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        payload = json.loads(environ["wsgi.input"].read(length) or b"{}")
        form = urlencode({k: str(v) for k, v in payload.items()}).encode()
        environ.update({"CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(form)),
                        "wsgi.input": io.BytesIO(form)})
