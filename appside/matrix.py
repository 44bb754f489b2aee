"""The application detection matrix: certify each reference application (examples/) clean and
with each of its defect switches, and check that exactly the rules a switch breaks fail and
that the clean applications pass everything."""

import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from appside import forked_runs
from appside.launcher import end_process_tree
from appside.record import UNCHECKED
from appside.stand_in import free_port
from suite.matrix.detection import Row
from suite.verdict.checks import MISSING_KEY
from suite.verdict.exit_codes import EXIT_INCOMPLETE, EXIT_NOT_CONFORMANT

ROOT = Path(__file__).resolve().parent.parent
CLEAN = "(clean)"


@dataclass
class AppRow(Row):
    reasons: dict = field(default_factory=dict)  # rule id -> why its scenarios did not pass, for the table
    # rule ids that were left unjudged, of any severity (skipped for missing data, or could not be checked)
    unchecked: tuple[str, ...] = ()
    # the record the row was read from (empty where the run wrote none): the project's tests judge more of one
    # certification than the matrix does (tests/reference_certifications.py), rather than make it again
    record: dict = field(default_factory=dict, repr=False)

    @property
    def missed(self) -> list[str]:
        """As a server-side row's, and the rules that had to be left unjudged and were judged."""
        return sorted(set(super().missed) | (set(self.expected_unchecked) - set(self.unchecked)))

    @property
    def caught(self) -> bool:
        """Caught, and exited as its verdict must: 1 where a rule failed or was blocked, 5 (incomplete) where
        none did and rules had to be left unjudged (a run that gave them no evidence), 0 where every rule that
        failed is warning-level (conformant with a warning: a warned rule blocks nothing)."""
        not_conformant = bool(set(self.failed) - set(self.warned) or self.blocked)
        verdict = EXIT_NOT_CONFORMANT if not_conformant else EXIT_INCOMPLETE if self.expected_unchecked else 0
        judged = not self.missed and not self.unexpected and not self.missing_scenarios and bool(self.scenarios)
        return judged and self.exit_code == verdict


# The characters a client secret can hold beyond letters and digits: the unreserved ones, every one
# that form-urlencoding (RFC 6749 section 2.3.1, Appendix B) changes, a space, a quote, one of Latin-1
# and one beyond it.
EVERY_CLASS = "-._~+/=%41:;&?# \"\\'æ€😀"


@dataclass(frozen=True)
class ReferenceApp:
    name: str
    application_file: str
    switches: dict  # switch name -> rule ids it breaks
    variables: tuple = ()  # environment variables for its secret and port, given fresh values per run
    blocks: dict = field(default_factory=dict)  # switch name -> rule ids its failures block (one cause, one failure)
    # switch name -> rule ids it leaves without evidence: skipped for missing data or could not be checked, the
    # run incomplete (exit 5), never passed (a switch that removes what a rule is judged on, not a defect)
    unchecked: dict = field(default_factory=dict)
    stack: str = ""  # the client library the application is built on, for the table
    # a switch's word -> the environment it sets for the application and its application file (what is no defect
    # of the application's code, as an OAuth 2.0 client's scope without openid)
    environment: dict = field(default_factory=dict)
    # what its runs' secrets hold beyond letters and digits: every class, unless its client library
    # cannot carry some of them intact (then the comment at the application says why)
    secret_characters: str = EVERY_CLASS


# The rules a broken sign-in blocks: each needs a finished sign-in (`needs` in appside/features/rules.yaml)
# (APPC-32 judges where every sign-in's credentials went, so a broken one leaves it partial evidence)
SIGN_IN_NEEDED = (
    "APPC-15",
    "APPC-16",
    "APPC-17",
    "APPC-18",
    "APPC-19",
    "APPC-20",
    "APPC-21",
    "APPC-25",
    "APPC-31",
    "APPC-32",
    "APPC-36",
)
# ... and those a refused code redemption blocks: an attempted redemption is the evidence the
# callback faults' rules (APPC-16 to APPC-18) weigh, so they still judge the application (APPC-36's
# refusal never comes where the stand-in refused the redemption for another cause first)
TOKEN_NEEDED = ("APPC-15", "APPC-19", "APPC-20", "APPC-21", "APPC-31", "APPC-32", "APPC-36")
# ... and those a sign-in broken before its code blocks: no redemption to count, no token to look for
NO_CODE = ("APPC-23", "APPC-26")
# ... and those no token issued leaves nothing to look for: a web app's pages and output (a SPA's or a
# service's output only: LEAKS_NEEDED[1:]), and no token request sent, the secret never used (APPC-11, APPC-24)
LEAKS_NEEDED = ("APPC-27", "APPC-28")
SECRET_NEEDED = ("APPC-11", "APPC-24")
# ... and those an application without PKCE that declares it blocks: no challenge to check the method,
# a verifier or a repeat
NO_CHALLENGE = ("APPC-07", "APPC-08", "APPC-22")


def run_secret(characters: str) -> str:
    """A fresh secret of letters and digits, with `characters` in its middle: every run's, clean or
    with a switch, so that each rule is proven with what RFC 6749 section 2.3.1's encoding changes
    (a switch such as basic-not-encoded shows only with such a secret)."""
    return secrets.token_hex(8) + characters + secrets.token_hex(8)


def special_secret() -> str:
    """A fresh secret with every character class in it."""
    return run_secret(EVERY_CLASS)


REFERENCE_APPS = {
    app.name: app
    for app in (
        ReferenceApp(
            "web",
            "examples/web_app/application.yaml",
            {
                "no-response-type": ("APPC-01",),
                "redirect-uri-changed": ("APPC-02",),
                # PKCE and a nonce protect its callback (RFC 9700 section 2.1), so a weak state is warned
                # no state: a callback's is nothing it compares (APPC-16 and APPC-17 do not apply)
                "no-state": ("APPC-29",),
                "short-state": ("APPC-29",),
                "fixed-state": ("APPC-29",),
                # only the state protects the callback: APPC-03 to APPC-05 judge it (and no-pkce fails APPC-06)
                "no-pkce,no-nonce,no-state": ("APPC-03", "APPC-06"),
                # 64 bits: non-guessable as RFC 6749 section 10.12 binds the client (NIST SP 800-63B section 7.1's
                # 64 bits), so APPC-04 passes; APPC-29 warns it below RFC 6749 section 10.10's 128
                "no-pkce,no-nonce,short-state": ("APPC-06", "APPC-29"),
                "no-pkce,no-nonce,guessable-state": ("APPC-04", "APPC-06"),
                "no-pkce,no-nonce,fixed-state": ("APPC-05", "APPC-06"),
                # a new nonce each time, but a guessable one ("acme-<time>"): it protects nothing, so the
                # fixed state must, and fails (RFC 9700 section 2.1, RFC 6749 section 10.10)
                "no-pkce,fixed-state,timestamp-nonce": ("APPC-05", "APPC-06"),
                # the same nonce in every sign-in (go-oidc's old example), a new random state: the nonce rule
                # alone fails; without PKCE the state protects the callback, and passes APPC-03 to APPC-05
                # states checked against a server-wide list, not bound to the browser: the verifier and nonce, bound
                # to it, still refuse another browser's code (RFC 9700 section 2.1.1); without either, another
                # browser's code and state sign this one in, and APPC-31 fails
                "global-state-store": (),
                # the verifier and nonce taken from a server-wide table by the callback's state: another browser's
                # code and state are redeemed with that browser's verifier and nonce, and sign this one in
                # (RFC 9700 section 2.1.1: PKCE and the nonce bound to the user agent); only APPC-31 sees it
                "verifier-by-state": ("APPC-31",),
                "no-pkce,no-nonce,global-state-store": ("APPC-06", "APPC-31"),
                # PKCE alone protects the callback (oauth4webapi's README way; RFC 9700 section 2.1: a client
                # "MAY rely on the CSRF protection provided by PKCE"): another browser's code, redeemed with this
                # browser's verifier, is refused as Visma Connect refuses it; only APPC-29 warns of the missing state
                "no-nonce,no-state": ("APPC-29",),
                "fixed-nonce": ("APPC-30",),
                "no-pkce,fixed-nonce": ("APPC-06", "APPC-30"),
                "state-not-checked": ("APPC-16", "APPC-17"),
                # its callback takes the response by POST only: every other rule passes on form_post too
                "form-post,state-not-checked": ("APPC-16", "APPC-17"),
                # a refused callback sends the browser to its login, a new sign-in (passport-openidconnect's
                # README): the refusal is the new authorization request, and what the new sign-in leads to
                # (its code, its tokens, its signed-in page) is not held against the faulty response
                "restart-on-failure": (),
                "restart-on-failure,state-not-checked": ("APPC-16", "APPC-17"),
                # an OAuth 2.0 client (no openid): OpenID Connect Core does not bind it to compare its state, and its
                # new PKCE challenge protects the callback (RFC 9700 section 2.1): APPC-16 and APPC-17 do not apply;
                # APPC-34 warns that it asks no openid (exit 0)
                "oauth-only,state-not-checked": ("APPC-34",),
                # without PKCE its state alone protects the callback, and RFC 6749 section 10.12 binds it: another
                # browser's code and state sign this one in too (APPC-31)
                "oauth-only,no-pkce,state-not-checked": ("APPC-06", "APPC-16", "APPC-17", "APPC-31", "APPC-34"),
                "no-pkce": ("APPC-06",),
                "plain-pkce": ("APPC-07",),
                "wrong-verifier": ("APPC-08",),
                "no-secret": ("APPC-10",),
                "secret-in-url": ("APPC-11",),
                "iss-not-checked": ("APPC-18", "APPC-25"),  # nor is a missing iss noticed
                # iss.startswith(issuer): the stand-in's other issuer begins with this one (RFC 9207 section 2.4's
                # "simple string comparison" refuses it; warning-level, the verdict stands)
                "callback-iss-prefix": ("APPC-18",),
                "error-crashes": ("APPC-19",),
                "old-refresh-token": ("APPC-15",),
                # warning-level: warned, the verdict stands; it never refreshes, so APPC-15 (rotation) is not
                # applicable, neither blocked nor failed (suite/verdict/blocking.py)
                "expired-token-used": ("APPC-20",),
                # the expired token sent, refused with 401, refreshed and the call retried (RFC 6750 section 3.1)
                "refresh-on-401": (),
                # refreshed ahead of the expiry, but the API called with the token first seen: APPC-20's own scenario
                # passes (that token was the refreshed, long-lived one); in APPC-15's two expiries the kept token
                # expires and is sent, refused, never renewed: the evidence APPC-20 reads in every scenario
                "token-kept-after-refresh": ("APPC-20",),
                "id-token-not-validated": ("APPC-21",),
                "nonce-presence-not-checked": ("APPC-21",),  # an ID token without nonce is accepted
                # Authlib's default: aud checked only through azp (another client's aud passes with this one's azp)
                "aud-through-azp": ("APPC-21",),
                "aud-substring": ("APPC-21",),  # "<client_id>-evil" and "x<client_id>" pass
                "id-token-leeway": ("APPC-21",),  # 30 minutes: an ID token expired 15 minutes ago passes
                # a code redemption the token endpoint refused taken for a sign-in: no ID token validated (APPC-36)
                "ignore-token-errors": ("APPC-36",),
                "iss-prefix": ("APPC-21",),  # "<issuer>/evil" passes iss.startswith(issuer), not "exactly match"
                "basic-not-encoded": ("APPC-10",),
                # x/oauth2's AuthStyleAutoDetect: a code redemption refused with 401 is sent again, the same code,
                # with the secret in the form body; the refused one redeemed nothing, so APPC-23 passes: clean,
                # the unencoded Basic is APPC-10's alone (the retry signs in), a wrong secret too (refused twice)
                "auth-retry": (),
                "basic-not-encoded,auth-retry": ("APPC-10",),
                "wrong-secret,auth-retry": ("APPC-10",),
                "response-type-token": ("APPC-01",),
                # scope=openid,profile,... (npm grant's default): refused with invalid_scope before any code
                "comma-scope": ("APPC-01",),
                # an OAuth-only sign-in (no openid asked, though registered): warned, no ID token, so APPC-21
                # is not applicable (exit 0)
                "no-openid": ("APPC-34",),
                "redirect-uri-unregistered": ("APPC-02",),
                "short-verifier": ("APPC-08",),
                # an application that calls nothing at sign-in: its signed-in page is the evidence
                "greeting-only,id-token-not-validated": ("APPC-21",),
                # userinfo asked before the ID token is checked (django-allauth's order) is no acceptance;
                # the signed-in page after a faulty ID token is
                "userinfo-first": (),
                "userinfo-first,id-token-not-validated": ("APPC-21",),
                "fixed-pkce": ("APPC-22",),
                "code-redeemed-twice": ("APPC-23",),
                "two-auth-methods": ("APPC-24",),
                "iss-missing-accepted": ("APPC-25",),  # warning-level: warned, the verdict stands
                "token-in-api-url": ("APPC-26",),
                # the API used only on /profile, the token in its URL only: seen where the suite uses the API
                # (drive.use_api_url); the API refuses it, yet the refresh before is APPC-20's evidence
                "greeting-only,token-in-api-query": ("APPC-26",),
                "token-in-page-url": ("APPC-26",),  # its access log has the URL too: that is APPC-26's failure
                "token-in-page": ("APPC-27",),
                # the ID token as the API's bearer token: no rule's sentence forbids sending it, but the API refuses
                # it (RFC 6750 section 3.1), so no call ever gets through: APPC-15's refreshes could not be checked
                "id-token-as-bearer": (),
                "tokens-in-session-cookie": ("APPC-27",),  # Flask's session cookie is signed, not encrypted
                "token-logged": ("APPC-28",),
                # the tokens of a sign-in it refused for its ID token, printed: real tokens, read in every sign-in
                "log-refused-tokens": ("APPC-28",),
                # the token response of the refresh after an expiry, printed
                "log-refresh": ("APPC-28",),
                # the refresh's parameters, its client secret and refresh token too, in the token URL's query
                # (APPC-10 blocked by APPC-11: a secret only in the URL authenticates nothing)
                "refresh-in-query": ("APPC-11", "APPC-26"),
                # its refresh token posted to the Visma API: a resource server (RFC 6749 section 10.4)
                "refresh-token-to-api": ("APPC-32",),
                # the same in a header of its own (X-Refresh-Token): every header the API received is read
                "refresh-token-in-header": ("APPC-32",),
            },
            ("WEB_APP_CLIENT_SECRET", "WEB_APP_PORT"),
            {
                # its refreshes carry no secret and are refused, so no rotation to observe (it signs in again)
                "no-secret": ("APPC-15",),
                # the token reached the browser only in the URL it was put in: APPC-26's one cause
                "token-in-page-url": ("APPC-27",),
                "no-pkce": NO_CHALLENGE,
                "oauth-only,no-pkce,state-not-checked": NO_CHALLENGE,
                "no-pkce,fixed-nonce": NO_CHALLENGE,
                "no-pkce,no-nonce,global-state-store": NO_CHALLENGE,
                # no state, challenge or nonce: nothing tells one browser's callback from another's (APPC-31)
                # (APPC-29 needs the critical state rules where only the state protects the callback: blocked too)
                "no-pkce,no-nonce,no-state": ("APPC-29", "APPC-31", *NO_CHALLENGE),
                "no-pkce,no-nonce,short-state": NO_CHALLENGE,
                "no-pkce,no-nonce,guessable-state": ("APPC-29", *NO_CHALLENGE),
                # two equal states: nothing varies to judge (APPC-04); with no challenge or nonce either, nothing tells
                # one browser's callback from another's (APPC-31); a new nonce, checked, still refuses another's
                "no-pkce,no-nonce,fixed-state": ("APPC-04", "APPC-29", "APPC-31", *NO_CHALLENGE),
                "no-pkce,fixed-state,timestamp-nonce": ("APPC-04", "APPC-29", *NO_CHALLENGE),
                # the sign-in breaks (the stand-in refuses the request, or the secret it reads from a raw
                # Basic header with "%41" in it): every rule that needs a finished sign-in is blocked, but
                # the callback faults' rules: an attempted redemption is the evidence they weigh
                # (and with no token issued, APPC-26 has none to look for; with no code, APPC-23 none to count)
                "basic-not-encoded": (*TOKEN_NEEDED, "APPC-23", "APPC-26", *LEAKS_NEEDED),
                # the retry signs in, but its refreshes (Basic, unencoded) are refused: no rotation to watch
                "basic-not-encoded,auth-retry": ("APPC-15",),
                # refused both ways: no code was redeemed, so APPC-23 has none to count (blocked, not failed)
                "wrong-secret,auth-retry": (*TOKEN_NEEDED, "APPC-23", "APPC-26", *LEAKS_NEEDED),
                "response-type-token": ("APPC-08", "APPC-10", *SIGN_IN_NEEDED, *NO_CODE, *SECRET_NEEDED, *LEAKS_NEEDED),
                "comma-scope": ("APPC-08", "APPC-10", *SIGN_IN_NEEDED, *NO_CODE, *SECRET_NEEDED, *LEAKS_NEEDED),
                "redirect-uri-unregistered": (
                    "APPC-08",
                    "APPC-10",
                    *SIGN_IN_NEEDED,
                    *NO_CODE,
                    *SECRET_NEEDED,
                    *LEAKS_NEEDED,
                ),
                "short-verifier": (*TOKEN_NEEDED, "APPC-26", *LEAKS_NEEDED),
                # its refresh carries the secret only in its URL, which authenticates nothing: APPC-10 is blocked by
                # APPC-11, and the refused refresh leaves no rotation to watch (APPC-15)
                "refresh-in-query": ("APPC-10", "APPC-15"),
                # its second redemption makes the stand-in revoke the code's tokens (RFC 6749 section 4.1.2's
                # SHOULD, as the sandbox does), refresh token included: no rotation is left for APPC-15 to watch
                "code-redeemed-twice": ("APPC-15",),
            },
            stack="Python: Flask, Authlib's Flask client (HTTP Basic, form-urlencoded by the app)",
            unchecked={"id-token-as-bearer": ("APPC-15",)},
            environment={"oauth-only": {"WEB_APP_SCOPE": "profile email offline_access"}},
        ),
        ReferenceApp(
            "spa",
            "examples/spa_app/application.yaml",
            {
                "secret-in-spa": ("APPC-09",),
                # the secret in HTTP Basic (an installed app's Google-style client_secret through requests-oauthlib)
                "secret-in-basic": ("APPC-09",),
                # no defect: Basic "client_id:", an empty password, is no secret (IdentityServer's reading)
                "empty-basic-password": (),
                "offline-access": ("APPC-14",),
                "id-token-not-validated": ("APPC-21",),
                "no-pkce": ("APPC-06",),
                "token-in-page-url": ("APPC-26",),
                # history.replaceState to /profile#access_token=...: no request has it, the page's address does
                "token-in-page-fragment": ("APPC-26",),
                # a typo in its client id: the stand-in refuses the sign-in, and APPC-01 names both ids
                "wrong-client-id": ("APPC-01",),
                # console.log(user): the browser console is the SPA's log (RFC 6749 section 10.3's storage)
                "token-in-console": ("APPC-28",),
                # its access token in a partner API's Authorization header: the browser holds the request, and only
                # the rule on where credentials may go sees it (RFC 6749 section 10.3), no URL nor output rule
                "token-to-third-party": ("APPC-32",),
                # no defect: an analytics beacon to another origin, carrying no credential, aborted quietly
                "analytics-beacon": (),
                # no defect: a service worker makes the token request and the API calls (@axa-fr/oidc-client's
                # way), and every rule passes on what it sent
                "service-worker": (),
                # @axa-fr/oidc-client's demo's callback, http://127.0.0.1:<port>/#/callback, registered and sent:
                # RFC 6749 section 3.1.2 forbids a fragment, and the stand-in refuses the sign-in (an error page)
                "fragment-redirect": ("APPC-02",),
            },
            ("SPA_APP_PORT",),
            {
                # refused before any code, so before its token request: APPC-09 has none to judge (it was "could not
                # be checked", which the exit code 1 of APPC-06's failure hid)
                "no-pkce": ("APPC-09", *NO_CHALLENGE, *SIGN_IN_NEEDED[1:], *NO_CODE, *LEAKS_NEEDED[1:]),
                # refused before any code: every rule that needs a sign-in or a code (it has no refresh token), and
                # APPC-09, no token request to judge (as no-pkce)
                "wrong-client-id": ("APPC-08", "APPC-09", *SIGN_IN_NEEDED[1:], *NO_CODE, *LEAKS_NEEDED[1:]),
                "fragment-redirect": ("APPC-08", "APPC-09", *SIGN_IN_NEEDED[1:], *NO_CODE, *LEAKS_NEEDED[1:]),
            },
            stack="JavaScript in the browser: oidc-client-ts",
            # the application file registers what the application sends (SPA_APP_REDIRECT_PATH): a fragment in both
            environment={"fragment-redirect": {"SPA_APP_REDIRECT_PATH": "/#/callback"}},
        ),
        ReferenceApp(
            "service",
            "examples/service_app/application.yaml",
            {
                "no-tenant-id": ("APPC-13",),
                # no scope: the stand-in, as Visma Connect, grants the registered visma_api:read (RFC 6749 section
                # 3.3's default), which needs the tenant all the same (the pyrp outsider's oauthlib service)
                "no-scope": (),
                "no-scope,no-tenant-id": ("APPC-13",),
                "json-body": ("APPC-12",),
                "secret-in-url": ("APPC-11",),  # and APPC-12 blocked by it: one cause, one failure
                "basic-not-encoded": ("APPC-12",),
                "get-request": ("APPC-12",),
                "params-in-query": ("APPC-12",),
                "two-auth-methods": ("APPC-24",),
                "secret-logged": ("APPC-28",),
                # the API refuses the token in the URL and the service exits 1 after all it does: APPC-26's one
                # failure, and APPC-28 still reads the output, whole (LWP::Authen::OAuth2 service's outsider report)
                "token-in-url": ("APPC-26",),
                # a service that keeps its token until it expires is clean (RFC 6749 section 1.5); one
                # that keeps using it after is caught by APPC-20 alone
                "cache-token": (),
                "cache-token,ignore-expiry": ("APPC-20",),
                # a service that fetches its token and never calls the API: no rule fails, and none judged on its
                # API calls passes (see `unchecked` below)
                "no-api-call": (),
            },
            ("SERVICE_APP_CLIENT_SECRET",),
            {
                # refused without its tenant, or by the stand-in (a JSON body; a secret in the URL
                # authenticates nothing, RFC 6749 section 2.3.1): no token to let expire, nor to put in a URL (APPC-26)
                "no-tenant-id": ("APPC-20", "APPC-26", *LEAKS_NEEDED[1:]),
                "no-scope,no-tenant-id": ("APPC-20", "APPC-26", *LEAKS_NEEDED[1:]),
                "json-body": (
                    "APPC-13",
                    "APPC-20",
                    "APPC-26",
                    *LEAKS_NEEDED[1:],
                ),  # and no form body to name the tenant in
                "secret-in-url": ("APPC-12", "APPC-20", "APPC-26", *LEAKS_NEEDED[1:]),
                "basic-not-encoded": ("APPC-20", "APPC-26", *LEAKS_NEEDED[1:]),
                "get-request": ("APPC-13", "APPC-20", "APPC-26", *LEAKS_NEEDED[1:]),
                "params-in-query": ("APPC-13", "APPC-20", "APPC-26", *LEAKS_NEEDED[1:]),
            },
            stack="Python: requests (HTTP Basic, form-urlencoded by the app)",
            # the token in an API call's URL (APPC-26, critical) and the expired token's use (APPC-20) were never
            # there to see: skipped for missing data (drive.command), the run incomplete, not conformant
            unchecked={"no-api-call": ("APPC-20", "APPC-26")},
        ),
        ReferenceApp(
            "node-web",
            "examples/node_web_app/application.yaml",
            {
                "tls-unverified": ("APPC-33",),  # NODE_TLS_REJECT_UNAUTHORIZED=0
                "no-response-type": ("APPC-01",),
                "redirect-uri-changed": ("APPC-02",),
                "no-state": ("APPC-29",),  # as the web app's: PKCE and a nonce protect it
                "short-state": ("APPC-29",),
                "fixed-state": ("APPC-29",),
                "state-not-checked": ("APPC-16", "APPC-17"),
                # its callback takes the response by POST only: every other rule passes on form_post too
                "form-post,state-not-checked": ("APPC-16", "APPC-17"),
                "no-pkce": ("APPC-06",),
                "plain-pkce": ("APPC-07",),
                "wrong-verifier": ("APPC-08",),
                "no-secret": ("APPC-10",),
                "old-refresh-token": ("APPC-15",),
                "expired-token-used": ("APPC-20",),
                "error-crashes": ("APPC-19",),
                # no defect: every body sent chunked, no Content-Length (RFC 9112 section 7.1, a customFetch on
                # node:https): the stand-in reads the redemption as the server does, and every rule passes
                "chunked-requests": (),
            },
            ("NODE_WEB_APP_CLIENT_SECRET", "NODE_WEB_APP_PORT"),
            {
                "no-secret": ("APPC-15",),  # as the web app's: its refreshes are refused
                "no-pkce": NO_CHALLENGE,
            },
            stack="Node.js: Express, openid-client 6 (HTTP Basic, form-urlencoded)",
        ),
        ReferenceApp(
            "oauthlib-web",
            "examples/oauthlib_web_app/application.yaml",
            {
                # requests' verify=False: the token request reaches the stand-in under a certificate nobody trusts
                "tls-unverified": ("APPC-33",),
                # requests' Session.verify = False, which REQUESTS_CA_BUNDLE overrides: APPC-33's run is made without it
                "tls-session-unverified": ("APPC-33",),
                # its callback loaded again (the suite reloads one normal sign-in's) redeems the code again
                "callback-replayable": ("APPC-23",),
                "redirect-uri-changed": ("APPC-02",),
                "short-state": ("APPC-29",),  # as the web app's: PKCE and a nonce protect it
                "fixed-state": ("APPC-29",),
                "state-not-checked": ("APPC-16", "APPC-17"),
                # its callback takes the response by POST only: every other rule passes on form_post too
                "form-post,state-not-checked": ("APPC-16", "APPC-17"),
                "no-pkce": ("APPC-06",),
                "plain-pkce": ("APPC-07",),
                "challenge-dropped": ("APPC-06",),  # the rest is blocked by it: the stand-in refuses the code
                "wrong-verifier": ("APPC-08",),
                "no-secret": ("APPC-10",),
                "secret-in-url": ("APPC-11",),
                # every parameter of its code redemption in the token URL's query, the secret too: that authenticates
                # nothing (APPC-10 blocked by APPC-11), and no code is redeemed (aiohttp-oauthlib's outsider report)
                "force-querystring": ("APPC-11",),
                # its code redeemed as http:// on the https issuer's port: the stand-in refuses it unread (APPC-32
                # blocked by it), so whether it put its secret in a URL could not be seen (APPC-11)
                "token-plain-http": ("APPC-10",),
                "iss-not-checked": ("APPC-18", "APPC-25"),  # nor is a missing iss noticed
                "id-token-not-validated": ("APPC-21",),
                "old-refresh-token": ("APPC-15",),
                "expired-token-used": ("APPC-20",),
                "error-crashes": ("APPC-19",),
                "ignore-token-errors": ("APPC-36",),  # as the web app's: a refused code redemption signs in
            },
            ("OAUTHLIB_WEB_APP_CLIENT_SECRET", "OAUTHLIB_WEB_APP_PORT"),
            {
                "no-secret": ("APPC-15",),  # as the web app's: its refreshes are refused
                "no-pkce": NO_CHALLENGE,
                "challenge-dropped": (*NO_CHALLENGE, *TOKEN_NEEDED, "APPC-26", *LEAKS_NEEDED),
                # refused for its client authentication: no code redeemed (APPC-23), no token issued
                "force-querystring": ("APPC-10", *TOKEN_NEEDED, "APPC-23", "APPC-26", *LEAKS_NEEDED),
                "token-plain-http": (*SIGN_IN_NEEDED, "APPC-08", "APPC-23", "APPC-24", "APPC-26", *LEAKS_NEEDED),
            },
            unchecked={"token-plain-http": ("APPC-11",)},
            stack="Python: Flask, requests-oauthlib (client_secret in the form), joserfc for the ID token",
        ),
        ReferenceApp(
            "httpx-service",
            "examples/httpx_service_app/application.yaml",
            {
                "no-tenant-id": ("APPC-13",),
                "secret-in-url": ("APPC-11",),  # as the requests service app's: APPC-12 blocked by it
            },
            ("HTTPX_SERVICE_APP_CLIENT_SECRET",),
            # refused: no token to let expire, nor to look for in its output
            {
                "no-tenant-id": ("APPC-20", "APPC-26", "APPC-28"),
                "secret-in-url": ("APPC-12", "APPC-20", "APPC-26", "APPC-28"),
            },
            stack="Python: httpx, Authlib's httpx OAuth2Client (client_secret in the form)",
        ),
        # The one native application: each sign-in listens on a port of its own (RFC 8252 section 7.3), which only a
        # native app's sign-ins do. Its clean run proves the browser's fence and the stand-in take any port of its
        # loopback host, and that another browser's held callback, delivered to this sign-in's own listener
        # (HeldCallback.to_own_listener), is refused by its state. Its switches are only those no other stack's prove
        # (each costs a certification, 7 to 9 CPU-seconds): the rules its other defects would break (no-pkce,
        # plain-pkce, wrong-verifier, a secret in Basic or in the form: APPC-09, offline_access: APPC-14, the ID
        # token, a token in a URL) are judged alike for every interactive type (only APPC-06's failure names the
        # type's Visma sentence), and the spa and web switches prove them; a localhost redirect URI for 127.0.0.1 is
        # refused as any unregistered one (web:redirect-uri-unregistered), its native wording proven by
        # tests/test_loopback_redirect_uris.py.
        ReferenceApp(
            "native",
            "examples/native_app/application.yaml",
            {
                # one verifier for every flow, no nonce, the state not compared: another browser's code and state,
                # delivered to this sign-in's listener, are redeemed with the verifier they were issued for and sign
                # it in as the other browser's user (APPC-31), which only its delivery to this sign-in's own port
                # shows (left on the other browser's port it completes that browser's sign-in); the state faults on
                # its own callback are accepted (APPC-16, APPC-17), the repeated challenge is APPC-22's; the state
                # now protects the callback and is new and random in each sign-in (APPC-03 to APPC-05 pass)
                "no-nonce,fixed-pkce,state-not-checked": ("APPC-16", "APPC-17", "APPC-22", "APPC-31"),
                # the same by response_mode=form_post: the response posted to the loopback listener, held on any port
                # of its host and posted to this sign-in's own port (a POST's delivery is a form a blank page submits)
                "form-post,no-nonce,fixed-pkce,state-not-checked": ("APPC-16", "APPC-17", "APPC-22", "APPC-31"),
            },
            ("NATIVE_APP_PORT",),
            stack="Python: Authlib's OAuth2Session (public client, PKCE S256), one loopback listener a sign-in",
        ),
    )
}


def certify(app: ReferenceApp, switch: str | None, workdir: Path, timeout: float = 300) -> AppRow:
    """One run of the application-side suite against one reference application."""
    label = f"{app.name}:{switch or 'clean'}"
    folder = workdir / label.replace(":", "-").replace(",", "+")  # a run's own: each takes its folder's lock
    folder.mkdir(parents=True, exist_ok=True)
    record_path = folder / "compliance.json"
    environ = {
        **os.environ,
        "PYTHONDONTWRITEBYTECODE": "1",
        "REFERENCE_APP_DEFECTS": switch or "",
        "APP_SETTLE": "1",
        # the reference service's cache-token keeps its token in the run's folder, not the user's cache
        # (where every run left a file); the suite's own cache (its CA, the sandbox's key) stays shared
        "SERVICE_APP_TOKEN_CACHE": str(folder / "token-cache"),
    }
    for variable in app.variables:
        environ[variable] = str(free_port()) if variable.endswith("_PORT") else run_secret(app.secret_characters)
    for word in (switch or "").split(","):
        environ.update(app.environment.get(word, {}))
    arguments = [f"--app={app.application_file}", f"--compliance={record_path}", "-q", "-p", "no:cacheprovider"]
    expected = app.switches[switch] if switch else ()
    blocks = app.blocks.get(switch, ()) if switch else ()
    unchecked = app.unchecked.get(switch, ()) if switch else ()
    # `python -m appside ARGUMENTS` in a session of its own, forked from a process that imported its libraries once
    process = forked_runs.start_module("appside", arguments, environ, folder)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # the suite, and the application, service command and browser it launched (sessions of their own)
        end_process_tree(process)
        stdout, stderr = _output_left(process)
        why = f"(timed out after {timeout:g} s; it and what it launched were ended: {_tail(stdout, stderr)})"
        return AppRow(
            label, expected, (why,), process.returncode, expected_blocked=blocks, expected_unchecked=unchecked
        )
    if not record_path.exists():
        # where it broke too, not only the exception's last line (a traceback ends in its message)
        return AppRow(
            label,
            expected,
            (f"(no record: {_tail(stdout, stderr)})",),
            process.returncode,
            expected_blocked=blocks,
            expected_unchecked=unchecked,
        )
    return row_from_record(label, expected, json.loads(record_path.read_text()), process.returncode, blocks, unchecked)


def _output_left(process: forked_runs.ForkedRun) -> tuple[str, str]:
    """What a run ended at its timeout printed; nothing if a process that could not be ended still holds its output."""
    try:
        return process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        return "", ""


def _tail(stdout: str, stderr: str) -> str:
    """A run's last lines of output: where it broke too, not only the exception's last line."""
    return " | ".join(((stderr or stdout).strip().splitlines() or ["no output"])[-4:])


def row_from_record(
    label: str, expected: tuple, record: dict, exit_code: int, blocks: tuple = (), unchecked: tuple = ()
) -> AppRow:
    scenarios, failed_scenarios, reasons = set(), set(), {}
    for rule in record["rules"]:
        if rule.get("status") == "skipped" and _unjudged(rule):
            reasons[rule["rule_id"]] = next(s["reason"] for s in rule["scenarios"] if _unjudged_reason(s["reason"]))
        for scenario in rule["scenarios"]:
            scenarios.add(scenario["name"])
            if scenario["status"] not in ("passed", "skipped", "blocked"):
                failed_scenarios.add(scenario["name"])
                reasons[rule["rule_id"]] = scenario.get("reason") or scenario["status"]
    # by name: Row's fields grow (suite.matrix.detection), and a positional call would silently shift them;
    # a warned rule (@level:warning) failed its check: it counts as failed here, the verdict stands (exit 0)
    warned = tuple(record.get("warned_rules", ()))
    return AppRow(
        label,
        expected,
        tuple(record["failed_rules"]) + tuple(record["error_rules"]) + warned,
        exit_code,
        warned=warned,
        blocked=tuple(record.get("blocked_rules", ())),
        failed_scenarios=frozenset(failed_scenarios),
        scenarios=frozenset(scenarios),
        expected_blocked=tuple(blocks),
        reasons=reasons,
        expected_unchecked=tuple(unchecked),
        # the blocker or critical ones: those that make a run incomplete (Row.unexpected holds them to `unchecked`)
        unjudged=tuple(sorted({*(record.get("unchecked_rules") or ()), *(record.get("missing_data") or ())})),
        record=record,
        # skipped for missing data or could not be checked, and the record's blocker or critical rules not checked
        unchecked=tuple(
            sorted(
                {r["rule_id"] for r in record["rules"] if r.get("status") == "skipped" and _unjudged(r)}
                | set(record.get("unchecked_rules") or ())
            )
        ),
    )


def _unjudged_reason(reason: str) -> bool:
    """A skip for want of evidence: missing application file data, or could not be checked (appside.record)."""
    return bool(MISSING_KEY.match(reason)) or reason.startswith(UNCHECKED)


def _unjudged(rule: dict) -> bool:
    return any(_unjudged_reason(s["reason"]) for s in rule["scenarios"])


def run_matrix(jobs: int = 3, names: Collection[str] | None = None) -> list[AppRow]:
    """Every reference application, or those `names` names."""
    apps = [app for app in REFERENCE_APPS.values() if not names or app.name in names]
    runs = [(app, switch) for app in apps for switch in (None, *app.switches)]
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(lambda run: certify(run[0], run[1], Path(tmp)), runs))
    clean = {row.defect.split(":")[0]: row for row in rows if row.defect.endswith(":clean")}
    for row in rows:  # a switch is judged on every scenario its clean application ran, no fewer
        row.missing_scenarios = frozenset(clean[row.defect.split(":")[0]].scenarios - row.scenarios)
    return rows


def all_rule_ids() -> set[str]:
    return {
        token.removeprefix("@rule:")
        for feature in (ROOT / "appside" / "features").glob("*.feature")
        for token in feature.read_text().split()
        if token.startswith("@rule:")
    }


def _unchecked(rules: tuple[str, ...]) -> str:
    return f" (could not be checked: {', '.join(rules)})" if rules else ""


def render(rows: list[AppRow]) -> str:
    lines = [
        "| application:switch | rules it breaks | rules that failed | missed | unexpected | caught |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        missed = row.missed + [f"did not run: {name}" for name in sorted(row.missing_scenarios)]
        if not row.scenarios:
            missed.append(f"no scenario ran (exit {row.exit_code})")
        lines.append(
            f"| {row.defect} | {', '.join(row.expected) or '-'}{_unchecked(row.expected_unchecked)} | "
            f"{', '.join(row.failed) or '-'}{_unchecked(row.unchecked)} | "
            f"{', '.join(missed) or '-'} | {', '.join(row.unexpected) or '-'} | "
            f"{'yes' if row.caught else 'NO'} |"
        )
    switches = [r for r in rows if not r.defect.endswith(":clean")]
    caught = sum(r.caught for r in switches)
    clean = [r for r in rows if r.defect.endswith(":clean")]
    proven = {rule for row in switches if row.caught for rule in row.expected}
    lines += [
        "",
        f"Clean applications: {'all pass' if all(r.caught for r in clean) else 'FAIL'}",
        f"Switches caught by exactly their rules: {caught}/{len(switches)}",
        f"Rules no switch proves yet: {', '.join(sorted(all_rule_ids() - proven)) or 'none'}",
    ]
    for app in REFERENCE_APPS.values():
        own = [r for r in rows if r.defect.split(":")[0] == app.name]
        if own:
            passes = all(r.caught for r in own if r.defect.endswith(":clean"))
            lines.append(
                f"{app.name} ({app.stack}): clean {'passes' if passes else 'FAILS'}, switches caught "
                f"{sum(r.caught for r in own if not r.defect.endswith(':clean'))}/{len(own) - 1}"
            )
    for row in rows:  # why a rule failed where no switch should have broken it
        lines += [f"{row.defect}: {rule} did not pass: {row.reasons.get(rule, '?')}" for rule in row.unexpected]
    return "\n".join(lines)


if __name__ == "__main__":
    import time

    started = time.monotonic()
    matrix = run_matrix(names=sys.argv[1:])  # python -m appside.matrix [application name ...]
    print(render(matrix) + f"\nWall time: {time.monotonic() - started:.0f} s")
    sys.exit(0 if all(r.caught for r in matrix) else 1)
