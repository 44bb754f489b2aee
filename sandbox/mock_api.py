"""A small stand-in for a Visma API: bearer-token protected, answering who the token is for.

It accepts the sandbox's own access tokens (RS256 JWTs) only while they are valid, and notes
for the request log what it saw, so that a caller can tell whether a client used a token, and
whether it used an expired one."""

import json
import time

from flask import Flask, g, jsonify, request
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

API_PREFIX = "/api"


def register_mock_api(app: Flask, issuer: str, keys: KeySet) -> None:
    @app.route(f"{API_PREFIX}/<path:resource>", methods=["GET", "POST"])
    def visma_api(resource):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            g.notes = {"bearer": "missing"}
            return _unauthorized("invalid_request", "a bearer token is required")
        claims = _claims(token, keys)
        if claims is None or claims.get("iss") != issuer:
            g.notes = {"bearer": "invalid"}
            return _unauthorized("invalid_token", "the token is not one this issuer signed")
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
