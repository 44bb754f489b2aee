"""A small stand-in for a Visma API: bearer-token protected, answering who the token is for.

It accepts the access tokens the sandbox issued (RS256 JWTs, found in its token store) only while
they are valid, and notes for the request log what it saw, so that a caller can tell whether a
client used a token, and whether it used an expired one. Any other bearer token is refused with
invalid_token (RFC 6750 section 3.1): an ID token or a refresh token the sandbox signed or issued
too is no access token (RFC 9068 section 4 has a resource server reject a JWT whose typ is not
at+jwt; the store is the sandbox's own record of what it issued as an access token)."""

import json
import time

from flask import Flask, g, jsonify, request
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from sandbox.tokens import TokenStore

API_PREFIX = "/api"


def register_mock_api(app: Flask, issuer: str, keys: KeySet, tokens: TokenStore) -> None:
    @app.route(f"{API_PREFIX}/<path:resource>", methods=["GET", "POST"])
    def visma_api(resource):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            g.notes = {"bearer": "missing"}
            return _unauthorized("invalid_request", "a bearer token is required")
        claims = _claims(token, keys) if tokens.find_access_token(token) is not None else None
        if claims is None or claims.get("iss") != issuer:
            g.notes = {"bearer": "invalid"}
            return _unauthorized("invalid_token", "the token is not an access token this issuer issued")
        expired = claims.get("exp", 0) <= time.time()
        g.notes = {
            "bearer": "expired" if expired else "valid",
            "token_exp": claims.get("exp"),
            "client_id": claims.get("client_id"),
        }
        if expired:
            return _unauthorized("invalid_token", "the access token expired")
        return jsonify(
            {
                "resource": resource,
                "client_id": claims.get("client_id"),
                "tenant_id": claims.get("tenant_id"),
                "scope": claims.get("scope"),
            }
        )


def _claims(token: str, keys) -> dict | None:
    try:
        payload = json.loads(jws.deserialize_compact(token, keys, algorithms=["RS256"]).payload)
    except (JoseError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def _unauthorized(error: str, description: str):
    response = jsonify({"error": error, "error_description": description})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = f'Bearer error="{error}", error_description="{description}"'
    return response
