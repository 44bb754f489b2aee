"""Defect switches: each one breaks one documented rule of the sandbox on purpose.

They exist to prove that the conformance suite notices a broken server (the detection
matrix in `scripts/detection_matrix.py`). `breaks` names the rule ids whose scenarios
must fail when the switch is on; every other scenario must still pass. A defect that
touches a step several rules share lists all of them.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Defect:
    name: str
    description: str
    breaks: tuple[str, ...]


DEFECTS = {d.name: d for d in (
    # Discovery
    Defect("discovery-wrong-issuer", "discovery publishes an issuer with a trailing slash", ("DISC-01",)),
    Defect("discovery-missing-endpoint", "discovery omits revocation_endpoint", ("DISC-02",)),
    Defect("discovery-without-s256", "discovery advertises only plain PKCE", ("DISC-03",)),
    Defect("discovery-missing-grant-types", "discovery lists no grant types", ("DISC-04",)),
    Defect("discovery-missing-auth-methods", "discovery lists no client authentication methods", ("DISC-05",)),
    # Service integrations (client_credentials)
    Defect("token-response-not-json", "successful client_credentials responses say text/plain", ("SVC-01",)),
    Defect("basic-auth-refused", "HTTP Basic client authentication is refused", ("SVC-02",)),
    Defect("token-type-wrong", "token_type is 'JWT' instead of Bearer", ("SVC-03", "PKCE-01")),
    Defect("expires-in-wrong", "expires_in is 7200", ("SVC-04",)),
    Defect("expires-in-missing", "expires_in is left out", ("SVC-04",)),
    Defect("scope-missing", "the token response leaves out scope", ("SVC-05",)),
    Defect("scope-widened", "the token response grants more scope than asked", ("SVC-05",)),
    Defect("tenant-claim-missing", "access tokens carry no tenant_id claim", ("SVC-06",)),
    Defect("no-store-missing", "token responses lack Cache-Control: no-store", ("SVC-07",)),
    Defect("wrong-secret-accepted", "any client secret is accepted", ("SVC-08",)),
    Defect("unknown-client-wrong-error", "an unknown client gets unauthorized_client", ("SVC-09",)),
    Defect("tenant-not-required", "a tenant-based scope is granted without tenant_id", ("SVC-10",)),
    Defect("tenant-approval-not-checked", "a tenant that never approved the app is accepted", ("SVC-11",)),
    Defect("scope-not-checked", "a scope not granted to the client is issued", ("SVC-12",)),
    Defect("grant-type-not-checked", "a client may use any grant type", ("SVC-13",)),
    Defect("json-body-accepted", "a JSON token request body is read like a form", ("SVC-14",)),
    # Authorization endpoint
    Defect("callback-with-error", "a successful callback also carries error=server_error", ("AUTH-01", "AUTH-04")),
    Defect("state-dropped", "the callback leaves out state", ("AUTH-02",)),
    Defect("state-truncated", "the callback cuts state to 40 characters", ("AUTH-02",)),
    Defect("iss-missing", "the callback leaves out iss although discovery advertises it", ("AUTH-03",)),
    Defect("ui-locales-refused", "an authorization request with ui_locales is refused", ("AUTH-04",)),
    Defect("open-redirect", "an unregistered redirect_uri receives the error redirect", ("AUTH-05",)),
    Defect("error-state-dropped", "error redirects leave out state", ("AUTH-06",)),
    # PKCE
    Defect("pkce-s256-hex", "S256 is computed as a hex digest instead of BASE64URL",
           ("PKCE-01", "APP-03", "CODE-01", "RT-01", "RT-02", "RT-04", "RT-05", "RT-06")),
    Defect("pkce-not-compared", "the verifier is not compared with the challenge", ("PKCE-02",)),
    Defect("pkce-verifier-optional", "a missing code_verifier is accepted", ("PKCE-03",)),
    Defect("pkce-not-required", "public clients may leave out code_challenge", ("PKCE-04",)),
    Defect("pkce-verifier-format-unchecked", "verifiers of any length and characters are accepted", ("PKCE-05",)),
    Defect("pkce-downgrade-accepted", "a code_verifier without a challenge is accepted", ("PKCE-06",)),
    Defect("pkce-plain-accepted", "code_challenge_method=plain is accepted", ("PKCE-07",)),
    # Authorization code
    Defect("code-reusable", "an authorization code can be redeemed twice", ("CODE-01",)),
    Defect("redirect-uri-not-compared", "the token request's redirect_uri is not compared", ("CODE-02",)),
    Defect("code-not-bound-to-client", "any client may redeem any code", ("CODE-03",)),
    # Application types
    Defect("web-without-pkce-refused", "a web app must use PKCE", ("APP-01", "APP-02", "PKCE-06", "RT-03")),
    Defect("web-secret-not-required", "a web app without PKCE may leave out its secret", ("APP-02",)),
    Defect("web-pkce-with-secret-refused", "a web app using PKCE may not send its secret", ("APP-03", "PKCE-01", "RT-01", "RT-02", "RT-06")),
    # Refresh tokens
    Defect("no-refresh-token", "no refresh token is ever issued", ("RT-01", "RT-02", "RT-06")),
    Defect("refresh-not-rotated", "refreshing returns no new refresh token and keeps the old one", ("RT-02",)),
    Defect("refresh-without-offline-access", "refresh tokens without offline_access", ("RT-03",)),
    Defect("refresh-for-spa", "SPAs get refresh tokens", ("RT-04",)),
    Defect("refresh-for-native", "native apps get refresh tokens", ("RT-05",)),
    Defect("refresh-token-any-client", "a refresh token works for any client", ("RT-06",)),
)}


class Defects:
    """The switches that are on for one sandbox."""

    def __init__(self, names=()):
        unknown = sorted(set(names) - set(DEFECTS))
        if unknown:
            raise ValueError(f"unknown sandbox defect(s): {', '.join(unknown)}; "
                             f"known: {', '.join(sorted(DEFECTS))}")
        self.names = frozenset(names)

    def __contains__(self, name: str) -> bool:
        assert name in DEFECTS, f"no defect called {name}"
        return name in self.names
