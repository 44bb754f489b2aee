"""Defect switches: each one breaks one documented rule of the sandbox on purpose.

They exist to prove that the conformance suite notices a broken server (the detection
matrix in `scripts/detection_matrix.py`). `breaks` names the rule ids whose scenarios
must fail when the switch is on; `blocks` the rules whose scenarios cannot reach their own
check because a rule of `breaks` they need (features/rules.yaml) failed, so the suite must
report them "blocked by" it, not failed (one cause, one failure); every other scenario must
still pass.
"""

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Defect:
    name: str
    description: str
    breaks: tuple[str, ...]
    blocks: tuple[str, ...] = ()
    # what the environment file of a server with this switch declares (expectations: key, value), where
    # the sandbox's own file says otherwise: a rule that binds only what is declared (plain PKCE
    # accepted) is held to it under that declaration (suite.matrix.defect_matrix)
    declares: tuple[tuple[str, str], ...] = ()


# The rules whose scenarios need the tokens of a web app's redeemed authorization code, and those
# that need a public client's (the SPA's or the native app's), by `needs` in features/rules.yaml:
# a switch under which no such code is redeemed (no one can sign in, or the redemption is refused)
# blocks each of them by the rule it breaks
NEEDS_A_WEB_APPS_CODE = (
    "AT-01",
    "AUTH-12",
    "CODE-03",
    "CODE-06",
    "ID-01",
    "ID-02",
    "ID-03",
    "ID-04",
    "ID-05",
    "ID-06",
    "PKCE-03",
    "PKCE-09",
    "REV-02",
    "REV-03",
    "RT-01",
    "RT-02",
    "RT-06",
    "RT-07",
    "RT-08",
    "UINFO-01",
    "UINFO-03",
    "UINFO-04",
    "UINFO-06",
    "UINFO-07",
    "UINFO-08",
    "UINFO-09",
)
NEEDS_A_PUBLIC_CLIENTS_CODE = (
    "CODE-01",
    "CODE-02",
    "CODE-05",
    "CODE-07",
    "PKCE-02",
    "PKCE-05",
    "RT-04",
    "RT-05",
)
NEEDS_A_REDEEMED_CODE = (*NEEDS_A_WEB_APPS_CODE, *NEEDS_A_PUBLIC_CLIENTS_CODE)


DEFECTS = {
    d.name: d
    for d in (
        # Discovery
        Defect(
            "discovery-wrong-issuer",
            "discovery publishes an issuer with a path the server does not serve",
            ("DISC-01",),
        ),
        Defect(
            "discovery-missing-endpoint",
            "discovery omits revocation_endpoint",
            ("DISC-02",),
            ("REV-01", "REV-02", "REV-03", "UINFO-03"),  # nothing to revoke at: blocked by DISC-02, not skipped
        ),
        Defect("discovery-without-s256", "discovery advertises only plain PKCE", ("DISC-03",)),
        Defect("discovery-missing-grant-types", "discovery lists no grant types", ("DISC-04",)),
        Defect(
            "discovery-service-only",
            "discovery lists only client_credentials and no PKCE methods, as a service-only token server's does",
            ("DISC-03", "DISC-04"),
        ),
        Defect("discovery-missing-auth-methods", "discovery lists no client authentication methods", ("DISC-05",)),
        Defect(
            "discovery-required-members-missing",
            "OpenID discovery leaves out response_types_supported, subject_types_supported and "
            "id_token_signing_alg_values_supported",
            ("DISC-06",),
        ),
        Defect("discovery-scopes-without-openid", "scopes_supported leaves out openid", ("DISC-06",)),
        Defect("oauth-metadata-other-issuer", "the RFC 8414 metadata names another issuer", ("DISC-07",)),
        # The signing keys (the JWKS)
        Defect("jwks-private-members", "the JWKS serves the RSA key's private members too", ("KEY-01",)),
        Defect(
            "jwks-symmetric-key",
            "the JWKS also publishes an oct key, discovery advertises HS256, and ID tokens are signed with it",
            ("ID-02", "KEY-01"),
        ),
        Defect("jwks-kid-shared", "the JWKS publishes a second RSA key under the signing key's kid", ("KEY-02",)),
        Defect("discovery-alg-without-key", "discovery advertises ES256 but the JWKS has no EC key", ("KEY-02",)),
        # Service integrations (client_credentials)
        Defect("token-response-not-json", "successful client_credentials responses say text/plain", ("SVC-01",)),
        Defect(
            "basic-credentials-not-form-decoded",
            "HTTP Basic credentials are compared as sent, not form-urlencoded-decoded (RFC 6749 section 2.3.1)",
            ("SVC-02",),
        ),  # the sandbox's service secret has characters that form-urlencoding changes
        Defect(
            "basic-auth-refused",
            "HTTP Basic client authentication is refused",
            ("SVC-02",),
            ("REV-01", "REV-02", "UINFO-03"),
        ),  # the revocation request authenticates with HTTP Basic
        Defect(
            "token-type-wrong",
            "token_type is 'JWT' instead of Bearer",
            ("PKCE-01", "RT-01", "SVC-03"),
            ("CODE-06", "RT-07"),
        ),
        Defect("expires-in-wrong", "expires_in is 7200", ("CODE-06", "RT-07", "SVC-04")),
        Defect("expires-in-missing", "expires_in is left out", ("CODE-06", "RT-07", "SVC-04")),
        # Not "scope left out": RFC 6749 section 5.1 makes it OPTIONAL when it is the scope requested.
        Defect(
            "scope-as-list", "the token response gives scope as a JSON array", ("CODE-06", "RT-07", "SVC-05", "SVC-17")
        ),
        # CODE-06 and RT-07 pass it: RFC 6749 section 3.3 lets a server grant other than asked if it names it.
        Defect("scope-widened", "the token response grants more scope than asked", ("AT-01", "SVC-05")),
        Defect("tenant-claim-missing", "access tokens carry no tenant_id claim", ("SVC-06",)),
        Defect("no-store-missing", "token responses lack Cache-Control: no-store", ("CODE-06", "RT-07", "SVC-07")),
        Defect("wrong-secret-accepted", "any client secret is accepted", ("SVC-08",)),
        Defect(
            "secret-of-any-client-accepted",
            "a client is authenticated by any registered client's secret, not only its own",
            ("SVC-08",),
        ),
        Defect("secret-case-insensitive", "client secrets are compared case-insensitively", ("SVC-08",)),
        Defect("unknown-client-wrong-error", "an unknown client gets unauthorized_client", ("SVC-09",)),
        Defect("tenant-not-required", "a tenant-based scope is granted without tenant_id", ("SVC-10",)),
        Defect("tenant-approval-not-checked", "a tenant that never approved the app is accepted", ("SVC-11",)),
        Defect("scope-not-checked", "a scope not granted to the client is issued", ("SVC-12",)),
        Defect(
            "grant-type-wrong-error",
            "a grant type the client may not use gets invalid_request, not unauthorized_client",
            ("SVC-13",),
        ),
        Defect("json-body-accepted", "a JSON token request body is read like a form", ("SVC-14",)),
        Defect("refresh-token-for-service", "client_credentials responses carry a refresh_token", ("SVC-18",)),
        Defect("service-secret-not-required", "a service client may leave out its secret altogether", ("SVC-15",)),
        Defect("unknown-grant-type-wrong-error", "an unknown grant_type gets invalid_request", ("SVC-16",)),
        Defect("tenant-always-required", "every scope needs tenant_id, tenant-based or not", ("SVC-17",)),
        # Authorization endpoint
        Defect(
            "callback-with-error",
            "a successful callback also carries error=server_error",
            ("AUTH-01",),
            ("AUTH-04", "AUTH-11", "AUTH-12", "PKCE-04", "PKCE-07", "PKCE-08"),
        ),
        Defect("state-dropped", "the callback leaves out state", ("AUTH-02",), ("AUTH-12",)),
        Defect("state-truncated", "the callback cuts state to 40 characters", ("AUTH-02",)),
        Defect("iss-missing", "the callback leaves out iss although discovery advertises it", ("AUTH-03",)),
        Defect("ui-locales-refused", "an authorization request with ui_locales is refused", ("AUTH-04",)),
        Defect("open-redirect", "an unregistered redirect_uri receives the error redirect", ("AUTH-05", "SVC-19")),
        Defect("error-state-dropped", "error redirects leave out state", ("AUTH-06", "AUTH-08", "CONS-01")),
        Defect(
            "code-in-fragment",
            "the code and state come back in the URL fragment instead of the query",
            ("AUTH-01",),
            ("AUTH-04", "AUTH-11", "AUTH-12", "PKCE-04", "PKCE-07", "PKCE-08"),
        ),
        Defect(
            "error-page-auto-posts",
            "an unregistered redirect_uri gets a 200 page that auto-posts the error to it",
            ("AUTH-05", "SVC-19"),
        ),
        Defect(
            "unknown-parameter-refused",
            "an authorization request with a parameter the sandbox does not know gets invalid_request",
            ("AUTH-11",),
        ),
        Defect(
            "service-client-signs-in",
            "the service client may start the code flow, with any redirect_uri",
            ("SVC-19",),
        ),
        Defect(
            "redirect-uri-loosely-matched",
            "a redirect_uri matches a registered one whatever its scheme, port, query or longer path",
            ("AUTH-05",),
        ),
        Defect(
            "error-page-refreshes",
            "an unregistered redirect_uri gets an error page whose Refresh header sends the browser to it",
            ("AUTH-05", "SVC-19"),
        ),
        Defect(
            "redirect-uri-defaulted",
            "an authorization request without redirect_uri is served with the registered one",
            ("AUTH-10",),
        ),
        Defect(
            "no-sign-in",
            "a code is issued to a browser nobody signed in with",
            ("AUTH-01",),
            ("AUTH-04", "AUTH-11", "AUTH-12", "PKCE-04", "PKCE-07", "PKCE-08"),
        ),
        Defect(
            "error-iss-missing", "error redirects leave out iss although discovery advertises RFC 9207", ("AUTH-03",)
        ),
        Defect(
            "unknown-client-redirected", "an unknown client_id's error is redirected to its redirect_uri", ("AUTH-07",)
        ),
        Defect(
            "response-type-defaulted", "a request without response_type is served as response_type=code", ("AUTH-08",)
        ),
        Defect("ui-locales-ignored", "the login page is always in English", ("AUTH-09",)),
        Defect("authorize-get-only", "an authorization request sent by POST gets 405, Allow: GET", ("AUTH-12",)),
        Defect(
            "authorize-post-lost-at-sign-in",
            "an authorization request sent by POST comes back from the sign-in with only its query, so without "
            "the parameters of its form body",
            ("AUTH-12",),
        ),
        Defect(
            "authorize-post-state-dropped",
            "an authorization request sent by POST loses its state on its way through the sign-in",
            ("AUTH-12",),
        ),
        Defect(
            "authorize-post-challenge-dropped",
            "an authorization request sent by POST loses its code_challenge on its way through the sign-in",
            ("AUTH-12",),
        ),
        # PKCE
        Defect(
            "pkce-s256-hex",
            "S256 is computed as a hex digest instead of BASE64URL",
            ("APP-03", "APP-04", "PKCE-01"),
            NEEDS_A_REDEEMED_CODE,
        ),
        Defect("pkce-not-compared", "the verifier is not compared with the challenge", ("PKCE-02",)),
        Defect(
            "pkce-verifier-optional",
            "a missing code_verifier is accepted",
            ("PKCE-03",),
            ("PKCE-09",),  # no refusal whose error code to judge
        ),
        Defect(
            "missing-verifier-invalid-client",
            "a missing code_verifier gets invalid_client, HTTP 401 (Spring Authorization Server)",
            ("PKCE-09",),
        ),
        Defect("pkce-not-required", "public clients may leave out code_challenge", ("PKCE-04",)),
        Defect("pkce-verifier-format-unchecked", "verifiers of any length and characters are accepted", ("PKCE-05",)),
        Defect("pkce-downgrade-accepted", "a code_verifier without a challenge is accepted", ("PKCE-06",)),
        Defect("pkce-plain-accepted", "code_challenge_method=plain is accepted", ("PKCE-07", "PKCE-08")),
        Defect(
            "pkce-plain-verifier-unchecked",
            "plain PKCE is accepted, as the environment then declares, and a plain challenge's verifier is "
            "not compared",
            ("PKCE-02",),
            declares=(("plain_pkce", "accepted"),),
        ),
        Defect(
            "pkce-refusal-stalls",
            "a request without code_challenge, or with plain (a challenge without a method "
            "too), stops on a 200 page instead of an error",
            ("PKCE-04", "PKCE-07", "PKCE-08"),
        ),
        Defect("pkce-missing-method-means-s256", "a code_challenge without a method is taken as S256", ("PKCE-08",)),
        # Authorization code
        Defect("code-reusable", "an authorization code can be redeemed twice", ("CODE-01", "CODE-07")),
        Defect(
            "replayed-code-tokens-kept",
            "a code presented a second time is refused, but the tokens of its first use keep working",
            ("CODE-07",),
        ),
        Defect("redirect-uri-not-compared", "the token request's redirect_uri is not compared", ("CODE-02", "CODE-05")),
        Defect(
            "redirect-uri-mismatch-invalid-request",
            "a code redeemed with another redirect_uri is refused with invalid_request, not invalid_grant",
            ("CODE-02",),
        ),
        Defect("code-not-bound-to-client", "any client may redeem any code", ("CODE-03",)),
        Defect("code-never-expires", "authorization codes never expire", ("CODE-04",)),
        Defect(
            "redirect-uri-optional-at-token",
            "a token request may leave out the redirect_uri the code was issued for",
            ("CODE-05",),
        ),
        # Application types
        Defect("web-without-pkce-refused", "a web app must use PKCE", ("APP-01", "APP-02", "PKCE-06"), ("RT-03",)),
        Defect("web-secret-not-required", "a web app without PKCE may leave out its secret", ("APP-02",)),
        Defect(
            "web-pkce-with-secret-refused",
            "a web app using PKCE may not send its secret",
            ("APP-03", "APP-04", "PKCE-01"),
            (*NEEDS_A_WEB_APPS_CODE, "CODE-04"),
        ),
        Defect("web-pkce-without-secret-refused", "a web app using PKCE must still send its secret", ("APP-04",)),
        Defect(
            "token-requires-session-cookie",
            "a code is redeemed only with the signed-in user's session cookie",
            ("APP-01", "APP-03", "APP-04", "PKCE-01"),
            (*NEEDS_A_REDEEMED_CODE, "APP-02", "PKCE-06", "RT-03"),  # a web app without PKCE redeems none either
        ),
        # Refresh tokens
        Defect(
            "no-refresh-token",
            "no refresh token is ever issued",
            ("RT-01",),
            ("ID-06", "REV-02", "REV-03", "RT-02", "RT-06", "RT-07", "RT-08"),
        ),
        Defect(
            "spa-code-redemption-500",
            "every SPA's code redemption is answered HTTP 500, every other request as usual",
            ("PKCE-01",),
            # they redeem an SPA's code first: blocked by PKCE-01 (PKCE-09 by PKCE-03, ID-01 and RT-04 for their SPA)
            (
                *("CODE-01", "CODE-02", "CODE-04", "CODE-05", "CODE-07", "ID-01"),
                *("PKCE-02", "PKCE-03", "PKCE-05", "PKCE-09", "RT-04"),
            ),
        ),
        Defect(
            "refresh-500",
            "every refresh grant is answered HTTP 500, every other request as usual",
            ("RT-01", "SVC-13"),  # SVC-13's refresh grant by the service client gets a 500, not its refusal
            ("RT-02", "RT-06", "RT-07", "RT-08", "REV-02", "REV-03", "ID-06"),  # they refresh first: blocked by RT-01
        ),
        Defect("refresh-not-rotated", "refreshing returns no new refresh token and keeps the old one", ("RT-02",)),
        Defect("refresh-without-offline-access", "refresh tokens without offline_access", ("RT-03",)),
        Defect("refresh-for-spa", "SPAs get refresh tokens", ("RT-04",)),
        Defect("refresh-for-native", "native apps get refresh tokens", ("RT-05",)),
        Defect("refresh-token-any-client", "a refresh token works for any client", ("RT-06",)),
        Defect(
            "refresh-scope-widened",
            "a refresh asking for a scope not originally granted is granted it",
            ("RT-08",),
        ),
        Defect(
            "refresh-scope-widened-unnamed",
            "a refresh asking for a scope not originally granted is granted it, with no scope in the response "
            "and none in the refreshed access token (django-oidc-provider 0.9.0 gives opaque ones)",
            ("RT-08",),
        ),
        Defect(
            "refresh-reuse-grace",
            "a rotated refresh token keeps working for 3 s (Visma's grace period) where the environment declares none",
            ("RT-02",),
        ),
        # Access tokens and interactive token responses
        Defect(
            "access-token-exp-mismatch",
            "access tokens expire 10 minutes after issue while expires_in says 3600",
            ("AT-01",),
        ),
        Defect("access-token-typ-jwt", "JWT access tokens carry typ JWT, not at+jwt", ("AT-01",)),
        Defect("access-token-claims-missing", "JWT access tokens carry no sub and no jti", ("AT-01",)),
        Defect(
            "access-token-without-typ",
            "JWT access tokens carry no typ header and no client_id claim (Spring Authorization Server's JwtGenerator)",
            ("AT-01",),
            ("RT-01",),  # its refreshed access token has no client_id either: RT-01 needs AT-01
        ),
        Defect(
            "access-token-expired",
            "JWT access tokens were issued two hours ago and expired an hour ago (exp - iat is expires_in)",
            ("AT-01",),
            ("RT-01",),  # its refreshed access token is expired too: RT-01 needs AT-01 (one cause, one failure)
        ),
        Defect(
            "access-token-opaque",
            "access tokens are opaque strings, not JWTs",
            ("AT-01", "RT-01", "SVC-06"),
            ("RT-08",),  # its refreshed access token is no JWT either: RT-08's scope claim is not there to read
        ),
        Defect(
            "interactive-no-store-missing",
            "code and refresh token responses lack Cache-Control: no-store",
            ("CODE-06", "RT-07"),
        ),
        # OpenID Connect: ID tokens and userinfo
        Defect(
            "id-token-missing",
            "no client gets an ID token, although it asked for openid",
            ("ID-01",),
            ("ID-02", "ID-03", "ID-04", "ID-05", "ID-06", "UINFO-01", "UINFO-06"),
        ),
        Defect("id-token-unknown-key", "ID tokens are signed with a key the JWKS does not publish", ("ID-02",)),
        Defect(
            "id-token-alg-none",
            "ID tokens are unsigned, alg none, sent as header.payload (as LemonLDAP::NG sends them)",
            ("ID-02",),
            ("ID-03", "ID-04", "ID-05", "ID-06", "UINFO-01", "UINFO-06"),  # their claims unread: blocked by ID-02
        ),
        Defect("id-token-wrong-audience", "the ID token's aud is the issuer, not the client", ("ID-03",)),
        Defect("id-token-foreign-azp", "the ID token's azp names another client", ("ID-03",)),
        Defect("id-token-exp-before-iat", "the ID token's exp is a second before its iat", ("ID-03",)),
        Defect("id-token-nonce-dropped", "the ID token leaves out the nonce", ("ID-04",)),
        Defect("id-token-at-hash-wrong", "the ID token's at_hash is computed over another value", ("ID-05",)),
        Defect("refreshed-id-token-other-sub", "the ID token of a refresh names another subject", ("ID-06",)),
        Defect("userinfo-post-500", "a userinfo POST is answered HTTP 500, a GET as usual", ("UINFO-06",)),
        Defect("userinfo-claims-dropped", "userinfo returns sub alone, whatever the scope", ("UINFO-07",)),
        Defect("userinfo-wrong-sub", "userinfo names another subject than the ID token", ("UINFO-01", "UINFO-06")),
        Defect(
            "userinfo-challenge-missing", "a userinfo request without a token gets no WWW-Authenticate", ("UINFO-02",)
        ),
        Defect(
            "userinfo-any-token",
            "userinfo answers any bearer string with the last signed-in user's claims",
            ("UINFO-04", "UINFO-05"),
        ),
        Defect(
            "userinfo-service-token-accepted",
            "userinfo answers the service client's client_credentials token with the last signed-in user's claims",
            ("UINFO-04",),
        ),
        Defect("userinfo-tampered-accepted", "userinfo reads a JWT access token without its signature", ("UINFO-04",)),
        Defect("userinfo-post-refused", "userinfo answers POST with 405", ("UINFO-06",)),
        Defect(
            "userinfo-error-code-missing",
            "userinfo refuses an invalid access token with a Bearer challenge without error=invalid_token",
            ("UINFO-05", "UINFO-09"),  # a made-up and an expired one alike
        ),
        Defect(
            "userinfo-accepts-expired",
            "userinfo answers an access token past its expires_in as one still valid",
            ("UINFO-08",),  # accepted: not refused (a MUST)
            ("UINFO-09",),  # no refusal whose 401 and invalid_token to judge: blocked by UINFO-08
        ),
        Defect(
            "userinfo-expired-error-code",
            'userinfo refuses an expired access token with HTTP 400 and Bearer error="invalid_request"',
            ("UINFO-09",),
        ),
        Defect(
            "revoked-access-token-accepted",
            "a revoked access token still works at userinfo (one revoked with its replayed code too)",
            ("CODE-07", "UINFO-03"),
        ),
        # Revocation
        Defect("revocation-unknown-token-error", "revoking an unknown token is answered 400", ("REV-01",)),
        Defect("refresh-revocation-ignored", "revoking a refresh token does nothing", ("REV-02",)),
        Defect("revocation-any-client", "a client may revoke another client's tokens", ("REV-03",)),
        # Consent
        Defect("consent-denial-ignored", "a user who denies consent is treated as one who allows", ("CONS-01",)),
    )
}


# Variants: behaviours the documents allow, switched on like defects. They break no rule; each proves
# that the suite accepts an answer a real server may give (tests/test_allowed_variants.py).
VARIANTS = {
    d.name: d
    for d in (
        Defect(
            "no-consent-page",
            "no consent page: a signed-in user's request is granted at once (Step 2: consent is optional)",
            (),
        ),
        Defect(
            "login-failure-error-page",
            "a wrong password is answered with an error page, HTTP 200 and no form, not the login form again",
            (),
        ),
        Defect(
            "missing-verifier-invalid-request",
            "a missing code_verifier gets invalid_request (RFC 6749 section 5.2)",
            (),
        ),
        Defect(
            "response-type-unauthorized-client",
            "a response_type the client may not use gets unauthorized_client (RFC 6749 section 4.1.2.1)",
            (),
        ),
        Defect(
            "offline-access-invalid-scope",
            "offline_access asked by an SPA or native app gets invalid_scope (RFC 6749 section 4.1.2.1)",
            (),
        ),
        Defect(
            "discovery-optional-members-elsewhere",
            "OpenID discovery omits its optional members; the RFC 8414 metadata lists them",
            (),
        ),
        Defect(
            "scope-omitted",
            "token responses leave out scope, the scope requested (RFC 6749 section 5.1: OPTIONAL if identical)",
            (),
        ),
        Defect(
            "expires-in-counted-down",
            "expires_in is the lifetime left a second later, 3599 (within access_token_lifetime_tolerance)",
            (),
        ),
        Defect(
            "error-pages-200",
            "error pages of refused authorization requests come with HTTP 200 (RFC 6749 section 4.1.2.1: no status)",
            (),
        ),
        Defect(
            "userinfo-challenges-several",
            "userinfo's 401 offers a Basic challenge before the Bearer one (RFC 9110 section 11.6.1)",
            (),
        ),
        Defect("refresh-token-judged-first", "a refresh grant is judged by its token before its grant type", ()),
        Defect("refresh-returns-same-access-token", "a refresh returns the access token still valid from the code", ()),
        Defect(
            "consent-hidden-field",
            "the consent page carries the decision in a hidden field, its buttons unnamed, a script setting the "
            "refusal (as LemonLDAP::NG's confirm.tpl, with fixed values)",
            (),
        ),
        Defect(
            "form-action-csp",
            "pages carry Content-Security-Policy: form-action * and the issuer, as LemonLDAP::NG's portal does: "
            "Chromium blocks a form's redirect to a private-use scheme, which the redirect itself still is",
            (),
        ),
        Defect(
            "older-codes-cancelled",
            "issuing a code cancels the client's codes not yet redeemed (one code at a time; no document forbids it)",
            (),
        ),
    )
}


# Behaviours no sentence binds that keep the suite from checking under the environment's settings: a run with
# one ends in a configuration problem (exit code 4) that names what to fix, no rule failed
# (tests/test_precise_verdicts.py). Not in the detection matrix: nothing there is the server's failure.
UNCHECKABLE = {
    d.name: d
    for d in (
        Defect(
            "login-posts-elsewhere",
            "the login form posts the password to the same server under another origin (localhost for 127.0.0.1), "
            "which the environment does not list in http.trusted_origins",
            (),
        ),
        Defect(
            "consent-remembered",
            "consent is asked once per user and client and remembered (LemonLDAP::NG): a refusal is offered only on "
            "the first sign-in",
            (),
        ),
    )
}


def _with_closest(name: str) -> str:
    """An unknown switch name and the known one it is closest to: a typo names the switch it meant first, not
    last among some 140 names."""
    close = difflib.get_close_matches(name, [*DEFECTS, *VARIANTS, *UNCHECKABLE], n=1, cutoff=0.6)
    return f"{name} (did you mean {close[0]}?)" if close else name


class Defects:
    """The switches (defects and variants) that are on for one sandbox."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        known = {**DEFECTS, **VARIANTS, **UNCHECKABLE}
        unknown = sorted(set(names) - set(known))
        if unknown:
            named = ", ".join(map(_with_closest, unknown))
            raise ValueError(f"unknown sandbox defect(s): {named}; known: {', '.join(sorted(known))}")
        self.names = frozenset(names)

    def __contains__(self, name: str) -> bool:
        assert name in DEFECTS or name in VARIANTS or name in UNCHECKABLE, f"no defect called {name}"
        return name in self.names
