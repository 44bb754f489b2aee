"""Building authorization requests and running them through the environment's login method."""

import secrets
import time
from urllib.parse import urlencode, urlsplit, urlunsplit

import allure

from suite.secrets.redaction import REDACTOR, excerpt, learn_plain_code_challenge
from suite.wire.http import HttpClient, allure_results_written, redact_url
from suite.wire.login import LoginConfigurationProblem, Outcome, login_method
from suite.wire.login.html_forms import page_text
from suite.wire.pkce import new_verifier, s256_challenge
from suite.wire.scenario import AuthorizationRequest, ScenarioState
from suite.wire.server import Discovery

# A server that counts whole seconds may expire a code up to a second before its declared lifetime.
WHOLE_SECOND = 1

STATES = {
    "simple": lambda: "st" + secrets.token_hex(8),
    "200-character": lambda: secrets.token_urlsafe(150)[:200],
    # Only VSCHAR (%x20-7E), as RFC 6749 Appendix A.5 defines state: a server may refuse anything else.
    # Every character a URL encoding changes is there: a space, the reserved ones, `%` before hex digits.
    "URL-encoding-needing": lambda: "a b&c=d/e?f#g+h%41i;j:k@l,m$n!o'p(q)r*s[t]u\"v<w>x{y}z|~`^" + secrets.token_hex(4),
}


def with_offline_access(environment, scope: str) -> dict:
    """The overrides of a request for `scope` and offline_access: with prompt=consent where the environment
    says its server needs it (expectations.offline_access_prompt; OpenID Connect Core section 11)."""
    prompt = {"prompt": "consent"} if environment.expectations.offline_access_prompt == "consent" else {}
    return {"scope": f"{scope} offline_access", **prompt}


# The requests (consent_request) whose sign-ins in this process met a consent page: a server that remembers consent
# (LemonLDAP::NG asks once per user and client) shows the next sign-in of that request none, which then says nothing
# of whether it asks (CONS-01). Only the same request is evidence: prompt=consent (expectations.offline_access_prompt)
# asks for a consent page, and a server may ask consent only for some scopes (offline_access).
CONSENT_PAGES_MET: set[tuple] = set()


def consent_request(params: dict) -> tuple:
    """What of an authorization request decides whether a server asks for consent: the client, the scope (in
    any order) and the prompt."""
    return params.get("client_id"), frozenset(params.get("scope", "").split()), params.get("prompt")


def authorize(
    state: ScenarioState,
    environment,
    discovery: Discovery,
    pkce: str | None = "S256",
    verifier: str | None = None,
    overrides: dict | None = None,
    by_post: bool = False,
) -> None:
    """Send the user through an authorization request; keep what was sent and where it ended.

    pkce: "S256", "plain" or None (no code_challenge). overrides replace or, with None, drop
    parameters of the documented request. by_post: the parameters go form-encoded in the body of a
    POST to the endpoint, none in its query (OpenID Connect Core section 3.1.2.1)."""
    url = authorization_url(state, discovery, pkce, verifier, overrides)
    assert state.authorization is not None  # authorization_url() kept it
    sent_verifier = state.authorization.verifier or verifier
    # the suite's own sign-in again, for a code it redeemed too late; a person's (manual) is no lateness of the suite
    state.authorize_again = (
        None
        if environment.login is not None and environment.login.method == "manual"
        else lambda: authorize(state, environment, discovery, pkce, sent_verifier, overrides, by_post)
    )
    # The user's browser is not the application's back channel: the login runs in an HTTP session
    # of its own, so no token request ever carries the user's cookies. The password goes only
    # where the issuer vouches for, as every credential does.
    browser = HttpClient(environment.http, environment.issuer)
    # A code cannot have been issued before its authorization request was sent: its lifetime is
    # counted from then, not from when the suite had it in hand, which on a busy machine (or with
    # a person handing the callback over) can be seconds later.
    method = login_method(environment, browser)
    sent_at = time.monotonic()
    # without a redirect_uri, a redirect to the registered one is what is caught
    catch = state.authorization.params.get("redirect_uri") or getattr(state.client, "redirect_uri", None) or ""
    if by_post:
        url, state.authorization.method = state.authorization.endpoint, "POST"
        state.outcome = method.authorize(url, catch, form=state.authorization.params)
    else:
        state.outcome = method.authorize(url, catch)
    sent_at = getattr(method, "requested_at", None) or sent_at  # a browser that started Chromium first sent it later
    state.code_deadline = sent_at + environment.expectations.authorization_code_lifetime - WHOLE_SECOND
    _register_callback_secrets(state.outcome)
    if state.outcome.consent:
        CONSENT_PAGES_MET.add(consent_request(state.authorization.params))
    if state.outcome.kind == "login_failed":
        # The login page answered the environment's credentials with itself again ("wrong username or
        # password"): far more likely a mistyped password than a server refusing its own test user, and the
        # suite cannot tell them apart. Bad input is no non-conformance: a configuration problem, exit 4
        # (docs/certify-server.md "A test user the login page refuses").
        raise LoginConfigurationProblem(
            f"login.username / login.password: the login page {redact_url(state.outcome.url or '')} refused the "
            "environment's test user. Check login.username and login.password (and the variables they name) "
            "against a sign-in by hand"
        )
    if state.outcome.kind == "sign_in_stalled":
        raise LoginConfigurationProblem(sign_in_stalled(state.outcome))
    if not allure_results_written():
        return  # the attachment, and the scrubbing it takes, only for someone to read
    method_name = environment.login.method if environment.login else "no"  # a service-only file has no login
    allure.attach(
        f"{method_name} login\n\nrequest: {'POST ' if by_post else ''}{redact_url(url)}"
        f"{_form_shown(state.authorization.params) if by_post else ''}\n\noutcome: "
        f"{REDACTOR.scrub(state.outcome.describe())}",
        name=f"authorization -> {state.outcome.kind}",
        attachment_type=allure.attachment_type.TEXT,
    )


def sign_in_stalled(outcome: Outcome) -> str:
    """Why a sign-in whose answer went nowhere is the environment's to fix. No document binds how a login page
    shows a failed sign-in ("Error: ...", HTTP 200, no form): a mistyped password answered that way is far
    likelier than a server that takes its test user's password and then stops, with no session begun and no
    redirect onward; one that stops after a sign-in it took shows it (a session cookie, a redirect) and is judged."""
    text = page_text(outcome.body)
    says = f"; the page says {excerpt(text)}" if text else ""
    return (
        f"login.username / login.password: the login page {_page(outcome.login_page)} answered the environment's "
        f"test user with {_page(outcome.url)} (HTTP {outcome.status}){says}: a page with "
        "no form and no way on, no redirect onward and no session cookie set, so nothing shows the sign-in was "
        "accepted. Check login.username and login.password (and the variables they name) against a sign-in by hand"
    )


def _page(url: str | None) -> str:
    """A page named by its address without the query (the authorization request a login page carries along)."""
    return redact_url(urlunsplit(urlsplit(url or "")._replace(query="", fragment="")))


def authorization_url(
    state: ScenarioState,
    discovery: Discovery,
    pkce: str | None = "S256",
    verifier: str | None = None,
    overrides: dict | None = None,
) -> str:
    """The documented authorization request for the scenario's client, kept in `state.authorization`."""
    client = state.client
    assert client is not None, "a scenario names its client (a Given step) before it signs in"
    params = {
        "client_id": client.client_id,
        "response_type": "code",
        "scope": client.scope,
        "redirect_uri": client.redirect_uri,
        "state": STATES["simple"](),
    }
    if pkce:
        verifier = verifier or new_verifier()
        params["code_challenge"] = s256_challenge(verifier) if pkce == "S256" else verifier
        params["code_challenge_method"] = pkce
    params.update(overrides or {})
    params = {k: v for k, v in params.items() if v is not None}
    learn_plain_code_challenge(params.get("code_challenge"), params.get("code_challenge_method"))
    endpoint: str = discovery.endpoint("authorization_endpoint")
    state.authorization = AuthorizationRequest(client, params, verifier if pkce else None, endpoint)
    state.http.authorization = state.authorization  # for the reproduction of the code's redemption
    return endpoint + "?" + urlencode(params)


def _form_shown(params: dict) -> str:
    """The body of a POSTed request, as the attachment shows it (no secret is sent there; scrubbed all the same)."""
    return "\nform body (application/x-www-form-urlencoded): " + REDACTOR.scrub(urlencode(params))


def _register_callback_secrets(outcome: Outcome) -> None:
    """Whatever the login method (a browser or a person hands the callback over without the
    suite's HTTP client seeing it), the code and any token in the callback are masked from now on."""
    for name, value in outcome.callback_params.items():
        if name in ("code", "access_token", "id_token"):
            REDACTOR.register(value, "authorization code" if name == "code" else name)
