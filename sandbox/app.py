"""The sandbox's HTTP surface: Visma Connect's paths, served by Flask with authlib doing the OAuth work."""

import base64
import io
import json
import os
import secrets
import threading
import time
from dataclasses import replace
from typing import ClassVar
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.authenticate_client import authenticate_none
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask, Response, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.wsgi import get_input_stream

from sandbox.defects import Defects
from sandbox.faults import Faults
from sandbox.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    CodeStore,
    RefreshTokenGrant,
    StalledRefusal,
    VismaCodeChallenge,
)
from sandbox.instrumentation import (
    apply_callback_faults,
    apply_id_token_faults,
    instrument,
    redirect_parameters,
    redirect_with,
    short_lived_token_wanted,
    token_issued,
)
from sandbox.openid import SandboxOpenIDCode, SandboxRefreshedIDToken, SandboxUserInfoEndpoint
from sandbox.recording import FORM_POST_NOTE, RequestLog
from sandbox.registry import Registry
from sandbox.tokens import TokenStore, VismaTokenGenerator, published_key_set, signing_keys

# Visma Connect's response_modes_supported (docs: visma-connect-facts.md, discovery)
RESPONSE_MODES = ("query", "fragment", "form_post")
PATHS = {
    "authorization_endpoint": "/connect/authorize",
    "token_endpoint": "/connect/token",
    "userinfo_endpoint": "/connect/userinfo",
    "end_session_endpoint": "/connect/endsession",
    "revocation_endpoint": "/connect/revocation",
    "introspection_endpoint": "/connect/introspect",
    "jwks_uri": "/.well-known/openid-configuration/jwks",
}


# What a defect switch (unknown-parameter-refused) takes for the only parameters there are: RFC 6749,
# RFC 7636 and OpenID Connect Core section 3.1.2.1.
KNOWN_AUTHORIZATION_PARAMETERS = {
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "response_mode",
    "display",
    "prompt",
    "max_age",
    "ui_locales",
    "id_token_hint",
    "login_hint",
    "acr_values",
    "claims",
    "request",
    "request_uri",
    "registration",
}


# Defect switches under which a POSTed authorization request loses some of its parameters on its
# way through the sign-in, as a server reading them from the query alone would.
POSTED_PARAMETERS_LOST = {
    "authorize-post-state-dropped": ("state",),
    "authorize-post-challenge-dropped": ("code_challenge", "code_challenge_method"),
}


class SandboxAuthorizationServer(AuthorizationServer):
    """authlib's server plus the sandbox's state: registry, stores and defect switches."""

    def __init__(self, app, registry: Registry, defects: Defects, code_lifetime: float, faults: Faults) -> None:
        self.registry, self.defects, self.code_lifetime, self.faults = registry, defects, code_lifetime, faults
        self.codes, self.tokens = CodeStore(), TokenStore()
        super().__init__(app, query_client=registry.applications.get, save_token=self._save_token)
        self.scopes_supported = registry.all_scopes()  # authlib refuses others with invalid_scope
        if "basic-credentials-not-form-decoded" not in defects:
            self.register_client_auth_method("client_secret_basic", _authenticate_basic_form_decoded)
        self.register_client_auth_method("none", _authenticate_public_client)

    def _save_token(self, token, oauth_request) -> None:
        grant = oauth_request.authorization_code or oauth_request.refresh_token  # what the token was issued for
        code = getattr(oauth_request.authorization_code, "code", "")
        self.tokens.save(token, oauth_request.client, oauth_request.user, getattr(grant, "auth_time", None), code)


def _authenticate_basic_form_decoded(query_client, oauth_request):
    """HTTP Basic as Visma Connect reads it. RFC 6749 section 2.3.1 has the client form-urlencode its
    id and secret before it joins them; IdentityServer undoes that as form decoding ("+" is a space,
    "%XX" a byte), where authlib's own reading only unquotes and keeps "+"."""
    client_id, client_secret = _basic_credentials(oauth_request)
    if not client_id or not client_secret:
        return None
    client = query_client(client_id)
    if client is None:
        raise InvalidClientError(status_code=401, description="unknown client")
    return client if client.check_client_secret(client_secret) else None


def _authenticate_public_client(query_client, oauth_request):
    """A public client, by its client_id in the body (authlib's "none") or in an HTTP Basic header with an empty
    password: requests-oauthlib sends "client_id:" for google-auth-oauthlib's InstalledAppFlow. IdentityServer
    reads an empty Basic password as no secret at all (IdentityServer4's BasicAuthenticationSecretParser:
    `Credential = secret.IsMissing() ? null : Decode(secret)`), and its ClientSecretValidator asks a public client
    for none ("Public Client - skipping secret validation success"), so Visma Connect takes it."""
    client_id, client_secret = _basic_credentials(oauth_request)
    if client_id is None:
        return authenticate_none(query_client, oauth_request)
    client = query_client(client_id) if client_id and client_secret == "" else None
    return client if client is not None and client.is_public else None


def _basic_credentials(oauth_request) -> tuple[str | None, str | None]:
    """The client id and secret of an HTTP Basic header, form-decoded; (None, None) without a readable one."""
    scheme, _, credentials = oauth_request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user_id, colon, password = base64.b64decode(credentials.strip()).decode().partition(":")
    except ValueError:
        return None, None
    return (unquote_plus(user_id), unquote_plus(password)) if colon else (None, None)


class TokenRevocation(RevocationEndpoint):
    """RFC 7009: refresh and access tokens, whichever the hint says first; public clients send
    their client_id alone. An unknown token is answered 200 (section 2.2)."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string, token_type_hint):
        kinds = ("access_token", "refresh_token")
        return self.server.tokens.find(token_string, sorted(kinds, key=lambda k: k != token_type_hint))

    def authenticate_token(self, request, client):
        if "revocation-any-client" in self.server.defects:  # the token's client is not compared
            self.check_params(request, client)
            return self.query_token(request.form["token"], request.form.get("token_type_hint"))
        return super().authenticate_token(request, client)

    def revoke_token(self, token, request) -> None:
        if token.kind == "refresh_token" and "refresh-revocation-ignored" in self.server.defects:
            return
        self.server.tokens.revoke(token)

    def create_endpoint_response(self, request):
        if (
            "revocation-unknown-token-error" in self.server.defects
            and request.form.get("token")
            and self.server.tokens.find(request.form["token"]) is None
        ):
            raise InvalidRequestError("unknown token")
        return super().create_endpoint_response(request)


class Issuer(IssuerParameter):
    def __init__(self, issuer) -> None:
        self.issuer = issuer

    def get_issuer(self):
        return self.issuer


def create_app(
    issuer: str,
    registry: Registry,
    defects: Defects | None = None,
    recording: RequestLog | None = None,
    faults: Faults | None = None,
    code_lifetime: float = 300,
) -> Flask:
    """code_lifetime: seconds an authorization code stays redeemable (IdentityServer's default is 300)."""
    issuer = issuer.rstrip("/")
    defects = defects if defects is not None else Defects()
    issued = frozenset(a.client_secret for a in registry.applications.values() if a.client_secret)
    registry = Registry(
        applications={
            cid: replace(a, defects=defects.names, issued_secrets=issued) for cid, a in registry.applications.items()
        },
        users=registry.users,
        tenant_scopes=registry.tenant_scopes,
    )
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    # Flask's documented way to put middleware around the application (mypy sees a method replaced)
    app.wsgi_app = _FormBodyGuard(app.wsgi_app, accept_json="json-body-accepted" in defects)  # type: ignore[method-assign]
    app.wsgi_app = _RequestLimits(app.wsgi_app)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES  # bodies without a Content-Length too
    keys = signing_keys()
    faults = faults or Faults()

    server = SandboxAuthorizationServer(app, registry, defects, code_lifetime, faults)
    server.register_token_generator("default", VismaTokenGenerator(issuer, keys, defects))
    server.register_grant(ClientCredentialsGrant)
    server.register_grant(
        AuthorizationCodeGrant, [VismaCodeChallenge(defects), SandboxOpenIDCode(issuer, keys, defects)]
    )
    server.register_grant(RefreshTokenGrant, [SandboxRefreshedIDToken(issuer, keys, defects)])
    server.register_endpoint(TokenRevocation)
    server.register_endpoint(SandboxUserInfoEndpoint(issuer, server.tokens, defects))
    if "iss-missing" not in defects:
        server.register_extension(Issuer(issuer))

    instrument(app, issuer, keys, server.tokens, recording or RequestLog(), faults)
    witness = _Witness(os.environ.get("SANDBOX_WITNESS_FILE"))
    app.after_request(witness.record)
    if defects.names:
        app.after_request(_announce_defects(defects))
    if "form-action-csp" in defects:
        app.after_request(_form_action_policy(issuer))

    @app.get("/.well-known/openid-configuration")
    def discovery():
        metadata = _metadata(issuer, registry, defects)
        if "discovery-optional-members-elsewhere" in defects:  # optional in OpenID Connect Discovery
            for name in (
                "grant_types_supported",
                "revocation_endpoint",
                "introspection_endpoint",
                "token_endpoint_auth_methods_supported",
            ):
                metadata.pop(name, None)
        if "discovery-required-members-missing" in defects:
            for name in (
                "response_types_supported",
                "subject_types_supported",
                "id_token_signing_alg_values_supported",
            ):
                metadata.pop(name)
        if "discovery-scopes-without-openid" in defects:
            metadata["scopes_supported"] = [scope for scope in metadata["scopes_supported"] if scope != "openid"]
        return jsonify(metadata)

    @app.get("/.well-known/oauth-authorization-server")
    def oauth_metadata():
        metadata = _metadata(issuer, registry, defects)
        if "oauth-metadata-other-issuer" in defects:
            metadata["issuer"] = issuer + "/other"
        return jsonify(metadata)

    @app.get(PATHS["jwks_uri"])
    def jwks():
        return jsonify(published_key_set(keys, defects))

    consented: set[tuple[str, str]] = set()  # (user, client_id) granted on the consent page ("consent-remembered")

    @app.route(PATHS["authorization_endpoint"], methods=["GET", "POST"])
    def authorize():
        # A POST is the consent page's answer (its form's marker, a decision or none: a refusal; the
        # request's parameters in its query) or the authorization request itself, form-serialized
        # (OpenID Connect Core section 3.1.2.1: GET and POST MUST both be supported); authlib reads
        # either from request.values.
        requested_by_post = (
            request.method == "POST" and "decision" not in request.form and "consent_form" not in request.form
        )
        if requested_by_post and "authorize-get-only" in defects:
            return render_template("error.html", message="Use GET."), 405, {"Allow": "GET"}
        unknown = set(request.args) - KNOWN_AUTHORIZATION_PARAMETERS
        if unknown and "unknown-parameter-refused" in defects:
            error = InvalidRequestError(f"unknown parameter(s): {', '.join(sorted(unknown))}")
            error.redirect_uri = request.args.get("redirect_uri")
            return _authorization_error(error, issuer, registry, defects)
        if "response_type" not in request.values and "response-type-defaulted" in defects:
            return redirect(_with_params(request.full_path, [("response_type", "code")]))
        _note_browser()
        user = registry.users.get(session.get("user", ""))
        if user is None and "no-sign-in" in defects:
            user = next(iter(registry.users.values()))
        if user is not None:  # whose sign-in this is, for the log: faults may be armed for one user
            g.notes = {**g.get("notes", {}), "user": user.username}
        g.auth_time = session.get("auth_time")
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return _authorization_error(error, issuer, registry, defects)
        # The sign-in and the consent page come back here by GET or by the consent form: both carry the
        # request's parameters in the query, however they came.
        in_query = request.full_path
        if requested_by_post and "authorize-post-lost-at-sign-in" not in defects:
            lost = {name for defect, names in POSTED_PARAMETERS_LOST.items() if defect in defects for name in names}
            kept = [(name, value) for name, value in request.values.items(multi=True) if name not in lost]
            in_query = PATHS["authorization_endpoint"] + "?" + urlencode(kept)
        if user is None:
            return redirect(url_for("login", returnUrl=in_query))
        asked = request.method == "GET" or requested_by_post
        remembered = "consent-remembered" in defects and (user.username, grant.client.client_id) in consented
        if asked and "no-consent-page" not in defects and not remembered:
            return render_template(
                "consent.html",
                hidden_decision="consent-hidden-field" in defects,
                client_id=grant.client.client_id,
                scopes=(grant.request.payload.scope or "").split(),
                action=in_query,
            )
        # with "no-consent-page", consent is never asked (idpyoidc's stock flask_op): the request is granted
        decided = asked or request.form.get("decision") == "allow" or "consent-denial-ignored" in defects
        granted = decided and not faults.take("access-denied", user.username)
        if granted and not asked:  # granted on the consent page: LemonLDAP::NG asks once per user and client
            consented.add((user.username, grant.client.client_id))
        response = server.create_authorization_response(grant_user=user if granted else None, grant=grant)
        return _in_response_mode(
            apply_callback_faults(_apply_callback_defects(response, defects), faults, issuer, user.username)
        )

    @app.route("/account/login", methods=["GET", "POST"])
    def login():
        _note_browser()
        return_url = request.values.get("returnUrl", "")
        if not return_url.startswith(PATHS["authorization_endpoint"] + "?"):
            return render_template("error.html", message="Invalid return URL."), 400
        if request.method == "POST":
            user = registry.users.get(request.form.get("username", ""))
            if user and secrets.compare_digest(user.password.encode(), request.form.get("password", "").encode()):
                session["user"], session["auth_time"] = user.username, int(time.time())
                g.notes = {**g.get("notes", {}), "user": user.username}
                return redirect(return_url)
            if "login-failure-error-page" in defects:  # idpyoidc's stock flask_op: "Error: ...", no form, 200
                return render_template("error.html", message="Wrong username or password."), 200
            return render_template(
                "login.html", return_url=return_url, failed=True, lang=_locale(return_url, defects)
            ), 401
        return render_template(
            "login.html",
            return_url=return_url,
            failed=False,
            lang=_locale(return_url, defects),
            action=_login_action(defects),
        )

    @app.post(PATHS["token_endpoint"])
    def token():
        if "refresh-500" in defects and request.form.get("grant_type") == "refresh_token":
            return jsonify(error="server_error"), 500
        redeemer = registry.applications.get(request.form.get("client_id", ""))
        redeems_an_spas_code = (
            redeemer is not None
            and redeemer.app_type == "spa"
            and request.form.get("grant_type") == "authorization_code"
        )
        if "spa-code-redemption-500" in defects and redeems_an_spas_code:  # as django-oidc-provider's HS256 SPA
            return jsonify(error="server_error"), 500
        short_lived_token_wanted(faults)
        response = server.create_token_response()
        if (
            "token-requires-session-cookie" in defects
            and request.form.get("grant_type") == "authorization_code"
            and response.status_code == 200
            and not session.get("user")
        ):
            response = jsonify(error="invalid_grant", error_description="no signed-in session")
            response.status_code, response.headers["Cache-Control"] = 400, "no-store"
        response = _apply_token_defects(response, registry, defects)
        token_issued(response, faults)
        apply_id_token_faults(response, faults, keys)
        return response

    @app.post(PATHS["revocation_endpoint"])
    def revocation():
        return server.create_endpoint_response(TokenRevocation.ENDPOINT_NAME)

    @app.route(PATHS["userinfo_endpoint"], methods=["GET", "POST"])
    def userinfo():
        if request.method == "POST" and "userinfo-post-500" in defects:
            return jsonify(error="server_error"), 500
        if request.method == "POST" and "userinfo-post-refused" in defects:
            return jsonify(error="invalid_request", error_description="use GET"), 405, {"Allow": "GET"}
        response = server.create_endpoint_response(SandboxUserInfoEndpoint.ENDPOINT_NAME)
        if response.status_code == 403 and "WWW-Authenticate" not in response.headers:
            # authlib refuses a token without openid (the service client's) with none; RFC 6750 section 3 wants one
            response.headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope", scope="openid"'
        if "userinfo-challenge-missing" in defects and "Authorization" not in request.headers:
            response.headers.pop("WWW-Authenticate", None)
        if "userinfo-challenges-several" in defects and "WWW-Authenticate" in response.headers:
            response.headers["WWW-Authenticate"] = 'Basic realm="userinfo", ' + response.headers["WWW-Authenticate"]
        if (
            "userinfo-error-code-missing" in defects
            and "Authorization" in request.headers
            and response.status_code == 401
        ):
            response.headers["WWW-Authenticate"] = 'Bearer realm="userinfo"'
        return response

    return app


def _metadata(issuer, registry, defects) -> dict:
    metadata = {"issuer": issuer + ("/issuer" if "discovery-wrong-issuer" in defects else "")}
    metadata.update({name: issuer + path for name, path in PATHS.items()})
    if "discovery-missing-endpoint" in defects:
        del metadata["revocation_endpoint"]
    grant_types = ["authorization_code", "client_credentials", "refresh_token"]
    if "discovery-missing-grant-types" in defects:
        grant_types = []
    if "discovery-service-only" in defects:
        grant_types = ["client_credentials"]
    auth_methods = ["client_secret_basic", "client_secret_post"]
    if "discovery-missing-auth-methods" in defects:
        auth_methods = []
    metadata.update(
        {
            "scopes_supported": registry.all_scopes(),
            "response_types_supported": ["code"],
            "response_modes_supported": list(RESPONSE_MODES),
            "grant_types_supported": grant_types,
            "token_endpoint_auth_methods_supported": auth_methods,
            "code_challenge_methods_supported": ["plain"] if "discovery-without-s256" in defects else ["plain", "S256"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"]
            + (["HS256"] if "jwks-symmetric-key" in defects else [])
            + (["ES256"] if "discovery-alg-without-key" in defects else []),
            "authorization_response_iss_parameter_supported": True,
            "ui_locales_supported": ["en-GB", "nb-NO", "sv-SE", "da-DK", "fi-FI", "nl-NL"],
        }
    )
    if "discovery-service-only" in defects:
        del metadata["code_challenge_methods_supported"]
    if defects.names:  # nobody should certify anything against a server broken on purpose
        metadata["x_sandbox_deliberately_broken"] = sorted(defects.names)
    return metadata


def signed_in_session(app: Flask, username: str) -> tuple[str, str]:
    """The session cookie (its name and value) of a browser in which `username` signed in on `app`'s login
    page just now, as that page sets it: with it, the browser's authorization requests are answered at once,
    without the login page (single sign-on, as Visma Connect answers a user who signed in earlier)."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return app.config["SESSION_COOKIE_NAME"], serializer.dumps({"user": username, "auth_time": int(time.time())})


def _note_browser() -> None:
    """The log notes which browser (the sandbox's session cookie) an authorization request or a login
    came from, an id the sandbox makes: requests from one browser are told apart from another's whatever
    the client put in them (the same state and nonce in every sign-in), before the user signed in too."""
    g.notes = {**g.get("notes", {}), "browser": session.setdefault("browser", secrets.token_urlsafe(12))}


def _login_action(defects: Defects) -> str:
    """Where the login form posts the password: here, or with "login-posts-elsewhere" the same server under
    its other loopback name, an origin that is not the issuer's."""
    own = url_for("login")
    if "login-posts-elsewhere" not in defects:
        return own
    host = urlsplit(request.host_url)
    other = "localhost" if host.hostname != "localhost" else "127.0.0.1"
    return f"{host.scheme}://{other}:{host.port}{own}"


def _locale(return_url: str, defects: Defects) -> str:
    query = dict(parse_qsl(urlsplit(return_url).query))
    if "ui-locales-ignored" in defects:
        return "en"
    return (query.get("ui_locales") or "en").split()[0]


def _authorization_error(error: OAuth2Error, issuer: str, registry: Registry, defects: Defects):
    """Redirect the error to a registered redirect_uri; never to an unverified one."""
    if error.redirect_uri:
        error.state = request.values.get("state")
        if (
            error.error == "unsupported_response_type"
            and request.values.get("response_type")
            and "response-type-unauthorized-client" in defects
        ):
            # RFC 6749 section 4.1.2.1 allows either for a response_type the client may not use; a
            # missing one is a missing parameter (invalid_request), which this variant leaves alone
            error.error = "unauthorized_client"
        response = _redirect(error())
        if not {"iss-missing", "error-iss-missing"} & defects.names:
            # RFC 9207 section 2: error responses name the issuer too (authlib adds it to successes only)
            response.headers["Location"] = _with_params(response.headers["Location"], [("iss", issuer)])
        return _in_response_mode(_apply_callback_defects(response, defects))
    if isinstance(error, StalledRefusal):
        return "<!doctype html><title>Please wait</title><p>Please wait...</p>", 200
    client = registry.applications.get(request.values.get("client_id", ""))
    target = request.values.get("redirect_uri")
    if "error-page-auto-posts" in defects and client and target:
        return render_template(
            "forward.html", target=target, error=error.error, state=request.values.get("state", "")
        ), 200
    if "error-page-refreshes" in defects and client and target:
        page = render_template("error.html", message=f"{error.error}: {error.description or ''}")
        return page, 400, {"Refresh": f"0; url={_with_params(target, [('error', error.error)])}"}
    if (("open-redirect" in defects and client) or ("unknown-client-redirected" in defects and not client)) and target:
        return redirect(_with_params(target, [("error", error.error), ("state", request.values.get("state", ""))]))
    status = 200 if "error-pages-200" in defects else 400
    return render_template("error.html", message=f"{error.error}: {error.description or ''}"), status


def _in_response_mode(response: Response) -> Response:
    """The authorization response (a redirect to the client, its parameters in the query) delivered
    the way the request's response_mode asks: in the fragment (OAuth 2.0 Multiple Response Type
    Encoding Practices, section 2.1) or as a page that posts them to the redirect_uri (OAuth 2.0 Form
    Post Response Mode, section 2). Visma Connect advertises query, fragment and form_post; ASP.NET
    Core's OpenID Connect handler, for one, asks for form_post by default."""
    mode = request.values.get("response_mode", "query")
    parameters = redirect_parameters(response)
    if not parameters or mode not in RESPONSE_MODES or mode == "query":
        return response
    if mode == "fragment":
        return redirect_with(response, parameters, in_fragment=True)
    # The redirect_uri's own query stays in the form's action; the response's parameters are the fields.
    own = parse_qsl(urlsplit(request.values.get("redirect_uri", "")).query, keep_blank_values=True)
    fields = [pair for pair in parameters if pair not in own]
    location = response.headers["Location"]
    action = urlunsplit(urlsplit(location)._replace(query=urlencode(own), fragment=""))
    # For the request log: the response as the redirect it would have been (RecordedRequest.location_params)
    g.notes = {**g.get("notes", {}), FORM_POST_NOTE: location}
    page = render_template("form_post.html", action=action, fields=fields)
    return Response(page, 200, {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"})


def _redirect(authlib_response):
    status, _body, headers = authlib_response
    return redirect(dict(headers)["Location"], code=status)


def _with_params(url: str, params) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _apply_callback_defects(response: Response, defects: Defects) -> Response:
    query = redirect_parameters(response)
    if query is None:
        return response
    is_error = any(k == "error" for k, _ in query)
    if ("state-dropped" in defects and not is_error) or ("error-state-dropped" in defects and is_error):
        query = [(k, v) for k, v in query if k != "state"]
    if "callback-with-error" in defects and not is_error:
        query.append(("error", "server_error"))
    if "state-truncated" in defects:
        query = [(k, v[:40] if k == "state" else v) for k, v in query]
    return redirect_with(response, query, in_fragment="code-in-fragment" in defects and not is_error)


def _apply_token_defects(response, registry: Registry, defects: Defects):
    body = response.get_json(silent=True) or {}
    if response.status_code == 200:
        if "token-type-wrong" in defects:
            body["token_type"] = "JWT"
        if "scope-omitted" in defects:
            body.pop("scope", None)
        if "refresh-scope-widened-unnamed" in defects and request.form.get("scope"):  # granted as asked, unnamed
            body.pop("scope", None)
        if "expires-in-counted-down" in defects and isinstance(body.get("expires_in"), int):
            body["expires_in"] -= 1
        if "scope-as-list" in defects and "scope" in body:
            body["scope"] = body["scope"].split()
        if "scope-widened" in defects:
            body["scope"] = " ".join(sorted(set(body.get("scope", "").split()) | {"visma_api:write"}))
        if "refresh-token-for-service" in defects and request.form.get("grant_type") == "client_credentials":
            body["refresh_token"] = secrets.token_urlsafe(32)
        response.set_data(json.dumps(body))
        if "token-response-not-json" in defects and request.form.get("grant_type") == "client_credentials":
            response.headers["Content-Type"] = "text/plain"
    elif (body.get("error") == "unauthorized_client" and "grant-type-wrong-error" in defects) or (
        body.get("error") == "unsupported_grant_type" and "unknown-grant-type-wrong-error" in defects
    ):
        response.set_data(json.dumps({**body, "error": "invalid_request"}))
    elif body.get("error") == "invalid_client" and "unknown-client-wrong-error" in defects:
        client_id = request.authorization.username if request.authorization else request.form.get("client_id")
        if client_id not in registry.applications:
            response.set_data(json.dumps({**body, "error": "unauthorized_client"}))
    interactive = request.form.get("grant_type") in ("authorization_code", "refresh_token")
    if "no-store-missing" in defects or ("interactive-no-store-missing" in defects and interactive):
        response.headers.pop("Cache-Control", None)
        response.headers.pop("Pragma", None)
    return response


class _Witness:
    """Test aid: with SANDBOX_WITNESS_FILE set, every secret the sandbox receives or issues is
    appended to that file, one a line, so a test can prove none of them leaks into any output."""

    SECRET_FIELDS = (
        "client_secret",
        "password",
        "code",
        "code_verifier",
        "refresh_token",
        "access_token",
        "id_token",
        "token",
    )

    def __init__(self, path) -> None:
        self.path, self.lock = path, threading.Lock()

    def record(self, response):
        if not self.path:
            return response
        values = [request.form.get(name) for name in self.SECRET_FIELDS]
        if request.authorization and request.authorization.password:
            values.append(request.authorization.password)
        body = self._fields(response.get_data(as_text=True)) if not response.direct_passthrough else {}
        values += [body.get(name) for name in self.SECRET_FIELDS]
        location = response.headers.get("Location", "")
        values += [v for k, v in parse_qsl(urlsplit(location).query) if k == "code"]
        with self.lock, open(self.path, "a", encoding="utf-8") as file:
            file.writelines(f"{v}\n" for v in values if isinstance(v, str) and v)
        return response

    @staticmethod
    def _fields(body: str) -> dict:
        """The fields of any response body that parses, whatever its content type: JSON or a form."""
        try:
            data = json.loads(body)
        except ValueError:
            data = dict(parse_qsl(body)) if "=" in body and "\n" not in body else {}
        return data if isinstance(data, dict) else {}


def _announce_defects(defects: Defects):
    """Every response of a sandbox with defect switches on says so in a header."""
    names = ", ".join(sorted(defects.names))

    def announce(response):
        response.headers["X-Sandbox-Deliberately-Broken"] = names
        return response

    return announce


MAX_REQUEST_BYTES = 64 * 1024  # an OAuth request is a few hundred bytes


class _RequestLimits:
    """What a server on the internet must refuse before reading it: a body bigger than
    MAX_REQUEST_BYTES (413, unread), and HTTP Basic credentials that are not UTF-8 once decoded,
    which are an unknown client (401 invalid_client, RFC 6749 section 5.2), not a server error."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        length = environ.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > MAX_REQUEST_BYTES:
            return _json_answer(
                start_response,
                "413 CONTENT TOO LARGE",
                {"error": "invalid_request", "error_description": f"the body is larger than {MAX_REQUEST_BYTES} bytes"},
                [("Connection", "close")],
            )
        if not _basic_credentials_readable(environ.get("HTTP_AUTHORIZATION", "")):
            return _json_answer(
                start_response,
                "401 UNAUTHORIZED",
                {"error": "invalid_client", "error_description": "the Basic credentials are not UTF-8"},
                [("WWW-Authenticate", 'Basic realm="token"')],
            )
        return self.wsgi_app(environ, start_response)


def _basic_credentials_readable(header: str) -> bool:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return True
    try:
        base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return False
    return True


def _json_answer(start_response, status: str, body: dict, headers=()):
    data = json.dumps(body).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Cache-Control", "no-store"),
            ("Content-Length", str(len(data))),
            *headers,
        ],
    )
    return [data]


class _FormBodyGuard:
    """The token endpoint takes application/x-www-form-urlencoded only (RFC 6749 section 4.4.2);
    any other body gets invalid_request, as IdentityServer answers."""

    def __init__(self, wsgi_app, accept_json: bool) -> None:
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
        body = json.dumps(
            {"error": "invalid_request", "error_description": "the body must be application/x-www-form-urlencoded"}
        ).encode()
        start_response(
            "400 BAD REQUEST",
            [("Content-Type", "application/json"), ("Cache-Control", "no-store"), ("Content-Length", str(len(body)))],
        )
        return [body]

    @staticmethod
    def _json_to_form(environ) -> None:
        # as Flask reads a body: Content-Length's bytes, or a chunked one to its end
        payload = json.loads(get_input_stream(environ, max_content_length=MAX_REQUEST_BYTES).read() or b"{}")
        form = urlencode({k: str(v) for k, v in payload.items()}).encode()
        environ.update(
            {
                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                "CONTENT_LENGTH": str(len(form)),
                "wsgi.input": io.BytesIO(form),
            }
        )


def _form_action_policy(issuer: str):
    """Pages that say where their forms may go as LemonLDAP::NG 2.16's portal does: `form-action *` and
    the issuer. `*` matches no private-use scheme (CSP3 section 6.7.2.9), so Chromium stops a form's
    redirect to `com.example.app:/callback` with no request of its own: the redirect is still the
    server's answer (the form-action-csp variant)."""

    def add(response):
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = f"form-action * {issuer}"
        return response

    return add
