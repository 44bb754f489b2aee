"""Faults injected at run time: the sandbox answers one request wrongly on purpose, so that a
client can be seen refusing it. Unlike defect switches (fixed for a server's life), a fault is
armed for the next `times` occasions and then disarms itself. A fault armed for one user (a
username) applies only to what is done for that user (its sign-in's callback, the tokens issued for
it), so that several sign-ins, each with its own fault, can go on at once; one armed for no user
applies to whatever comes next.

    callback-state-wrong      the authorization callback carries a different state
    callback-state-missing    the authorization callback carries no state
    callback-iss-wrong        the callback's RFC 9207 iss is the issuer with /evil after it (another issuer
                              that begins with this one: instrumentation.extended_issuer)
    callback-iss-missing      the callback carries no RFC 9207 iss, though the metadata says it does
    access-denied             the callback is error=access_denied, as if the user declined
    token-request-refused     the code redemption of the sign-in is refused with invalid_grant (HTTP 400), its code
                              spent, as a token endpoint answers a code it will not redeem (RFC 6749 section 5.2)
    short-lived-access-token  the access token lives Faults.short_lifetime seconds (SHORT_LIFETIME, 3, unless set)
    id-token-iss-wrong        the ID token's iss is the issuer with /evil after it (another issuer that
                              begins with this one)
    id-token-aud-wrong        the ID token's aud names another client
    id-token-aud-suffixed     the ID token's aud is one string, the client's id with "-evil" after it
    id-token-aud-prefixed     the ID token's aud is one string, "x" and the client's id
    id-token-aud-other-azp    the ID token's aud names another client, its azp this one
    id-token-expired          the ID token expired an hour ago
    id-token-expired-recently the ID token expired RECENT_EXPIRY (15 minutes) ago: beyond any small leeway
    id-token-nonce-wrong      the ID token's nonce is not the one the client sent
    id-token-nonce-missing    the ID token carries no nonce, though the client sent one
    code-verifier-compared    the code issued next is redeemed only with its own PKCE verifier, even where
                              the defect pkce-not-compared lets every other code go with any verifier
"""

import threading

# Seconds a short-lived access token lives: short, yet long enough for a client on a loaded
# machine to use a token it has just been given before it expires (with 1 second, an application
# that refreshed correctly was sometimes answered 401 and had to sign in again).
SHORT_LIFETIME = 3
# Seconds past that lifetime by which every client knows the token has expired: exp is a whole second
# (RFC 7519 NumericDate, cut down from the issue time) and expires_in whole seconds a client counts from
# when it got the answer, often rounded (oauthlib keeps expires_at = round(now) + expires_in), so a client
# that honours expires_in may use a token up to a second past its exp without any fault of its own.
PAST_EXPIRY = 1.5

# How long ago the fault id-token-expired-recently's ID token expired: beyond "some small leeway, usually no more than
# a few minutes" (OpenID Connect Core 1.0 section 2, exp), and beyond the widest default of the client libraries
# known to the suite (angular-oauth2-oidc's clockSkewInSec, 600 s; oidc-client-ts 300 s; Authlib's client 120 s)
RECENT_EXPIRY = 15 * 60

FAULTS = {
    "callback-state-wrong": "the authorization callback carries a different state",
    "callback-state-missing": "the authorization callback carries no state",
    "callback-iss-wrong": "the callback's iss (RFC 9207) is the issuer with /evil after it",
    "callback-iss-missing": "the callback carries no iss, though the metadata advertises RFC 9207",
    "access-denied": "the authorization callback says error=access_denied",
    "token-request-refused": "the token endpoint refuses the sign-in's code redemption with invalid_grant (HTTP 400)",
    "short-lived-access-token": "the access token expires after a few seconds (expires_in 3 unless set)",
    "id-token-iss-wrong": "the ID token's iss is the issuer with /evil after it",
    "id-token-aud-wrong": "the ID token's aud names another client",
    "id-token-aud-suffixed": "the ID token's aud is the client's id with -evil after it (one string)",
    "id-token-aud-prefixed": "the ID token's aud is x and the client's id (one string)",
    "id-token-aud-other-azp": "the ID token's aud names another client, its azp this client",
    "id-token-expired": "the ID token's exp is an hour in the past",
    "id-token-expired-recently": "the ID token's exp is 15 minutes in the past",
    "id-token-nonce-wrong": "the ID token's nonce is not the one the client sent",
    "id-token-nonce-missing": "the ID token carries no nonce claim",
    "code-verifier-compared": "the code issued next is redeemed only with its own PKCE verifier",
}
ID_TOKEN_FAULTS = tuple(name for name in FAULTS if name.startswith("id-token-"))


class Faults:
    def __init__(self, short_lifetime: int = SHORT_LIFETIME) -> None:
        # a client whose library treats a token as expired some seconds before its expires_in needs a longer one
        self.short_lifetime = short_lifetime
        self._armed: dict[tuple[str, str | None], int] = {}
        self._lock = threading.Lock()

    def inject(self, name: str, times: int = 1, user: str | None = None) -> None:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name}; known: {', '.join(sorted(FAULTS))}")
        with self._lock:
            self._armed[name, user] = times

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def take(self, name: str, user: str | None = None) -> bool:
        """True (and one occasion used) when `name` is armed for `user` or for no user."""
        with self._lock:
            key = self._key(name, user)
            if key is None:
                return False
            self._armed[key] -= 1
            return True

    def armed(self, name: str, user: str | None = None) -> bool:
        with self._lock:
            return self._key(name, user) is not None

    def _key(self, name: str, user: str | None) -> tuple[str, str | None] | None:
        for key in ((name, user), (name, None)) if user is not None else ((name, None),):
            if self._armed.get(key):
                return key
        return None
