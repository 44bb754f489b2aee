"""JSON Schema of an environment file (environments/*.yaml)."""

from suite.configuration.yaml_files import SCOPE, STRING, VARIABLE_PATTERN

# the pieces application files share (suite.configuration.yaml_files), by their names here
_string, _scope, _variable = STRING, SCOPE, VARIABLE_PATTERN
_url = {"type": "string", "pattern": f"^(https?://\\S+|{_variable})$"}
# RFC 8252 section 7.1: a native app may receive its redirect at a private-use URI scheme, "based on a
# domain name under their control, expressed in reverse order" (com.example.app:/oauth2redirect)
_native_redirect_uri = {
    "type": "string",
    "pattern": f"^(https?://\\S+|[a-zA-Z][a-zA-Z0-9+-]*\\.[a-zA-Z0-9+.-]*:\\S+|{_variable})$",
}
_seconds = {"type": "number", "exclusiveMinimum": 0, "maximum": 600}

_interactive_client_keys = {
    "client_id": _string,
    "client_secret": _string,
    "redirect_uri": _url,
    "scope": _scope,
    # how a confidential client authenticates at the token endpoint (RFC 8414 / RFC 7591 names)
    "token_endpoint_auth_method": {"enum": ["client_secret_post", "client_secret_basic"]},
}
_interactive_client = {
    "type": "object",
    "additionalProperties": False,
    "required": ["client_id", "redirect_uri", "scope"],
    "properties": _interactive_client_keys,
}

_browser_action = {
    "type": "object",
    "additionalProperties": False,
    "oneOf": [{"required": ["fill", "value"]}, {"required": ["click"]}, {"required": ["wait"]}],
    "properties": {"fill": _string, "value": {"type": "string"}, "click": _string, "wait": _string},
}

_browser_page = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "actions"],
    "properties": {
        "url": _string,  # a regular expression searched in the page's URL
        "when": _string,  # a selector the page must show for the rule to apply
        "actions": {"type": "array", "minItems": 1, "items": _browser_action},
    },
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "clients"],
    "oneOf": [{"required": ["issuer"]}, {"required": ["sandbox"]}],
    "properties": {
        "name": _string,
        "description": {"type": "string"},
        "waivers": {"type": ["string", "array"]},  # the entries are checked by suite/configuration/waivers.py
        "issuer": _url,
        "sandbox": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"defects": {"type": "array", "items": _string}},
        },
        "http": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "connect_timeout": _seconds,
                "read_timeout": _seconds,
                "retries": {"type": "integer", "minimum": 0, "maximum": 10},
                "backoff": {"type": "number", "minimum": 0, "maximum": 60},
                "max_retry_wait": {"type": "number", "minimum": 0, "maximum": 600},
                "verify_tls": {"type": "boolean"},
                "ca_bundle": _string,
                "exchange_timeout": {**_seconds, "maximum": 3600},
                "trusted_origins": {"type": "array", "maxItems": 20, "uniqueItems": True, "items": _url},
            },
        },
        "clients": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "service": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["client_id", "client_secret", "scope"],
                    "properties": {
                        "client_id": _string,
                        "client_secret": _string,
                        "scope": _scope,
                        "tenant_id": _string,
                        "unapproved_tenant_id": _string,
                        "ungranted_scope": _scope,
                        "non_tenant_scope": _scope,
                    },
                },
                "web": {**_interactive_client, "required": ["client_id", "client_secret", "redirect_uri", "scope"]},
                "other_web": {
                    **_interactive_client,
                    "required": ["client_id", "client_secret", "redirect_uri", "scope"],
                },
                "spa": _interactive_client,
                "native": {
                    **_interactive_client,
                    "properties": {**_interactive_client_keys, "redirect_uri": _native_redirect_uri},
                },
                # an interactive app registered with access tokens that expire soon (UINFO-08): its own
                # lifetime, so that the documented clients keep the contract's expires_in
                "short_lived": {
                    **_interactive_client,
                    "required": ["client_id", "redirect_uri", "scope", "access_token_lifetime"],
                    "properties": {
                        **_interactive_client_keys,
                        "access_token_lifetime": {"type": "integer", "minimum": 1, "maximum": 31_536_000},
                    },
                },
            },
        },
        "login": {
            "type": "object",
            "additionalProperties": False,
            "required": ["method"],
            "if": {"properties": {"method": {"enum": ["form", "browser"]}}},
            "then": {"required": ["username", "password"]},
            "properties": {
                "method": {"enum": ["form", "browser", "manual"]},
                "username": _string,
                "password": _string,
                "form": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "username_field": _string,
                        "password_field": _string,
                        "consent_field": _string,
                        "consent_value": _string,
                        "consent_deny_value": _string,
                        "consent_deny_omits_field": {"type": "boolean"},
                    },
                },
                "browser": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["pages"],
                    "properties": {
                        "timeout": _seconds,
                        "pages": {"type": "array", "minItems": 1, "items": _browser_page},
                        # CONS-01's sign-in: these entries come before `pages` (the consent page's refusal)
                        "deny_consent": {"type": "array", "minItems": 1, "items": _browser_page},
                        "expected_elsewhere": {"type": "array", "maxItems": 20, "uniqueItems": True, "items": _url},
                    },
                },
            },
        },
        "expectations": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "access_token_lifetime": {"type": "integer", "minimum": 1, "maximum": 31_536_000},
                "access_token_lifetime_tolerance": {"type": "integer", "minimum": 0, "maximum": 3600},
                "refresh_token_app_types": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"enum": ["web", "spa", "native"]},
                },
                "refresh_token_rotation": {"enum": ["one_time", "reuse"]},
                "plain_pkce": {"enum": ["refused", "accepted"]},
                "offline_access_prompt": {"enum": ["omitted", "consent"]},
                "authorization_code_lifetime": {"type": "integer", "minimum": 1},
                "access_token_revocation": {"enum": ["supported", "not_supported"]},
                "endpoint_paths": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^/"}},
                "endpoints_not_offered": {
                    "type": "object",
                    "propertyNames": {"enum": ["userinfo_endpoint", "revocation_endpoint", "introspection_endpoint"]},
                    "additionalProperties": _string,
                },
                "refresh_token_reuse_grace": {"type": "integer", "minimum": 0, "maximum": 300},
                "web_pkce_without_secret": {"enum": ["accepted", "refused"]},
                "access_token_format": {"enum": ["jwt", "opaque"]},
                "access_token_typ": {"type": "string", "minLength": 1},
                "clock_skew": {"type": "integer", "minimum": 0, "maximum": 3600},
                "access_token_expiry_leeway": {"type": "integer", "minimum": 0, "maximum": 3600},
                "longest_wait_for_expiry": {"type": "integer", "minimum": 0, "maximum": 3600},
            },
        },
        "capabilities": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"tenants": {"type": "boolean"}},
        },
    },
}

# Keys whose values are secrets: a file for a real server must take them from the environment.
SECRET_KEYS = ("client_secret", "password")

# What to write for a key, shown with schema errors.
HINTS = {
    "issuer": "the authorization server's issuer URL, e.g. https://connect.visma.com",
    "sandbox": "`sandbox: {}` starts the embedded sandbox; real servers take `issuer:` instead",
    "redirect_uri": "the redirect URI registered for the application, e.g. https://app.local/callback (a native "
    "app's may also be http://127.0.0.1/callback or a private-use scheme, com.example.app:/callback)",
    "scope": 'space-separated scopes, e.g. "openid profile email"',
    "method": "the login method: form, browser or manual",
    "pages": "a list of pages, each `url:` (a pattern), optional `when:` (a selector) and `actions:`",
    "refresh_token_rotation": "one_time (a new refresh token each time) or reuse",
    "plain_pkce": "refused or accepted",
    "offline_access_prompt": "omitted (Visma) or consent (prompt=consent with the refresh-token requests)",
    "trusted_origins": "origins (https://host[:port]) besides the issuer's that may receive credentials",
    "expected_elsewhere": "origins the login pages ask for (fonts, analytics): refused, reported, not a failure",
    "web_pkce_without_secret": "accepted or refused",
    "access_token_format": "jwt or opaque",
    "access_token_typ": "the typ header of the JWT access tokens when it is not at+jwt: e.g. JWT, or none for no typ",
    "clock_skew": "seconds of clock difference tolerated for iat, exp and nbf, e.g. 300",
    "access_token_lifetime": "seconds, a whole number, e.g. 3600 (for clients.short_lived: as registered, e.g. 30)",
    "access_token_expiry_leeway": "seconds past expires_in the server may still accept a token, e.g. 0",
    "longest_wait_for_expiry": "seconds the run may wait for a token to expire (UINFO-08), e.g. 120",
}
