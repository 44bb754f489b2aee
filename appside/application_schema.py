"""JSON Schema of an application file: the partner's application the suite certifies."""

from sandbox.faults import SHORT_LIFETIME
from suite.configuration.yaml_files import DEFAULTED_PATTERN, SCOPE, STRING

# the pieces environment files share (suite.configuration.yaml_files), by their names here;
# an application file's ${VAR} may give a default, ${VAR:-5090}, for ports a test harness chooses
_string, _scope, _variable = STRING, SCOPE, DEFAULTED_PATTERN
_url = {"type": "string", "pattern": f"^(https?://\\S+|\\S*{_variable}\\S*)$"}
_port = {
    "oneOf": [
        {"type": "integer", "minimum": 0, "maximum": 65535},
        {"type": "string", "pattern": f"^([0-9]{{1,5}}|{_variable})$"},
    ]
}
_seconds = {
    "oneOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": f"^([0-9]+(\\.[0-9]+)?|{_variable})$"},
    ]
}
# seconds the stand-in's short-lived access tokens live (appside.stand_in): at least SHORT_LIFETIME (3), at most
# MAX_ACCESS_TOKEN_LIFETIME, each rule that waits for an expiry waiting that long
MIN_ACCESS_TOKEN_LIFETIME, MAX_ACCESS_TOKEN_LIFETIME = SHORT_LIFETIME, 900
_lifetime = {
    "oneOf": [
        {"type": "integer", "minimum": MIN_ACCESS_TOKEN_LIFETIME, "maximum": MAX_ACCESS_TOKEN_LIFETIME},
        {"type": "string", "pattern": f"^([0-9]{{1,3}}|{_variable})$"},  # a variable's value: range checked after
    ]
}
# sign-ins the suite makes at the same time (appside.browser_driver.run_together): more pages loading at once than
# this only share the same two cores slower
MOST_AT_ONCE = 6
_marker = {  # how to recognise a page of the application: a text it shows or a CSS selector
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {"text": _string, "selector": _string},
}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "application", "drive"],
    "properties": {
        "name": _string,
        "description": {"type": "string"},
        "application": {
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "client_id", "scope"],
            "if": {"properties": {"type": {"enum": ["web", "spa", "native"]}}},
            "then": {"required": ["redirect_uris"]},
            "properties": {
                "type": {"enum": ["web", "spa", "native", "service"]},
                "client_id": _string,
                "client_secret": _string,
                "redirect_uris": {"type": "array", "minItems": 1, "items": _url},
                "scope": _scope,
                "tenant_id": _string,
                "pkce": {"type": "boolean"},
            },
        },
        "issuer": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "port": _port,
                "tls": {"type": "boolean"},
                "access_token_lifetime": _lifetime,
                # as the server side's expectations.refresh_token_app_types: where Visma sources differ, the file
                # declares which reading its Visma Connect keeps
                "refresh_token_app_types": {
                    "type": "array",
                    "uniqueItems": True,
                    "items": {"enum": ["web", "spa", "native"]},
                },
            },
        },
        "drive": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {"enum": ["browser", "manual", "command", "url"]},
                "launch": _string,
                "ready_url": _url,
                "sign_in_url": _url,
                "signed_in": _marker,
                "use_api_url": _url,
                "output_file": _string,
                "command": _string,
                "url": _url,
                "timeout": _seconds,
                "settle": _seconds,
                "sign_ins_at_once": {"type": "integer", "minimum": 1, "maximum": MOST_AT_ONCE},
            },
        },
    },
}

SECRET_KEYS = ("client_secret",)  # never quoted in a message

HINTS = {
    "sign_ins_at_once": f"how many sign-ins the suite makes at the same time, from 1 to {MOST_AT_ONCE}",
    "type": "web, spa, native or service",
    "redirect_uris": "the redirect URIs registered for the application, e.g. [http://127.0.0.1:5000/callback]",
    "scope": 'the scopes the application asks for, e.g. "openid profile email"',
    "sign_in_url": "the application's URL that starts its sign-in, e.g. http://127.0.0.1:5000/login",
    "signed_in": '`text: Signed in` or `selector: "#user"`: what the application shows once signed in',
    "command": "a command that makes the service fetch a token and call the API",
    "port": "a port number from 0 to 65535 (0: any free port)",
    "access_token_lifetime": (
        f"whole seconds from {MIN_ACCESS_TOKEN_LIFETIME} to {MAX_ACCESS_TOKEN_LIFETIME} that the stand-in's short-lived"
        " "
        "access tokens live, more than your client library's margin for expiry (e.g. 20 for Net::OAuth2's 15 s)"
    ),
    "output_file": "the file the application's output goes to, e.g. /tmp/visma-whoami.log",
}
