"""Refresh tokens: who gets one, using it, rotation, and binding to the client (RT-*)."""

import time

import allure
from pytest_bdd import parsers, then, when

from steps.access_tokens import follows_rfc9068
from steps.authorization import redeem
from suite.verdict.checks import check, require, shown_or
from suite.wire.http import parse_json
from suite.wire.jwt import verified_claims
from suite.wire.token_requests import default_authentication, error_of, post_token


def refresh(state, discovery, refresh_token, client=None):
    client = client or state.client
    return post_token(
        state,
        discovery,
        {"grant_type": "refresh_token", "refresh_token": refresh_token},
        client=client,
        authentication=default_authentication(client),
    )


def first_refresh_token(state, wanted_for: str = "to refresh with") -> str:
    """The refresh token of the scenario's first token response; none issued is nothing to check."""
    token = state.token_responses[0].get("refresh_token") if state.token_responses else None
    require(
        bool(token),
        f"no refresh token was issued, so there is none {wanted_for} (Visma Important Notes: "
        "server-side web applications configured with offline_access can request refresh tokens)",
    )
    return str(token)


def _offline_access_refused(state) -> bool:
    """The authorization was refused with invalid_scope (RFC 6749 section 4.1.2.1): the server will
    not give this client offline access, which is what RT-04 and RT-05 ask of an ineligible client."""
    return state.outcome is not None and state.outcome.callback_params.get("error") == "invalid_scope"


@when("the client redeems the code with the verifier unless offline_access was refused")
def redeem_unless_refused(state, discovery):
    if _offline_access_refused(state):
        allure.attach(
            "the authorization with offline_access was refused with invalid_scope; no code to redeem",
            name="offline_access refused",
            attachment_type=allure.attachment_type.TEXT,
        )
        return
    outcome = state.outcome
    require(
        outcome is not None and bool(outcome.callback_params.get("code")),
        lambda: (
            "the authorization request with offline_access was refused otherwise than with invalid_scope: "
            f"{outcome.describe() if outcome else 'no authorization'}; so whether this client would get a refresh "
            "token cannot be seen (a refusal of offline_access is invalid_scope, RFC 6749 section 4.1.2.1)"
        ),
    )
    redeem(state, discovery, code_verifier=state.authorization.verifier)


def _issued_refresh_token(state) -> bool:
    """Whether the code's redemption gave a refresh token; the redemption itself must have succeeded."""
    require(
        state.response is not None and state.response.status_code == 200 and state.token_responses,
        f"the code was not redeemed (HTTP {state.response.status_code if state.response is not None else None}); "
        "the documented request must succeed before its refresh token can be judged (RFC 6749 section 5.1)",
    )
    return "refresh_token" in state.tokens


@then("a refresh token is issued")
def refresh_token_issued(state):
    check(
        bool(state.tokens.get("refresh_token")),
        'the token response has no refresh_token (Visma: "Only server-side web applications configured with '
        'offline_access can request refresh tokens")',
    )


@then("no refresh token is issued")
def no_refresh_token(state):
    # a server that widens the scope to offline_access (RFC 6749 section 3.3 lets it widen) is told so: the request
    # did not ask for it, and Visma's sentence ties the refresh token to asking
    granted = str(state.tokens.get("scope", "")).split()
    carried = (
        "the server granted offline_access, which the authorization request did not ask for, and a refresh_token "
        "with it"
        if "offline_access" in granted
        else "the token response carries a refresh_token"
    )
    check(
        "refresh_token" not in state.tokens,
        f"{carried}; without offline_access this client may not get one "
        '(Visma: "Only server-side web applications configured with offline_access can request refresh tokens")',
    )


@then('no refresh token is issued, or offline_access was refused with "invalid_scope"')
def no_refresh_token_for_spa(state):
    if _offline_access_refused(state):
        return
    check(
        not _issued_refresh_token(state),
        'the token response carries a refresh_token for an SPA (Visma: "SPAs do not receive refresh tokens")',
    )


@then(parsers.parse('a refresh token is issued only if the environment declares "{app_type}" apps eligible'))
def refresh_token_if_eligible(state, environment, app_type):
    eligible = app_type in environment.expectations.refresh_token_app_types
    issued = False if _offline_access_refused(state) else _issued_refresh_token(state)
    how = (
        "offline_access was refused with invalid_scope"
        if _offline_access_refused(state)
        else (f"a refresh token was {'issued' if issued else 'not issued'}")
    )
    check(
        issued == eligible,
        f"{how} for a {app_type} app; the environment declares {app_type} apps "
        f"{'eligible' if eligible else 'not eligible'} (expectations.refresh_token_app_types; "
        'Visma: native apps, "like SPAs, [do] not typically utilize refresh tokens")',
    )


@when("the client refreshes its access token")
def refresh_access_token(state, discovery):
    refresh(state, discovery, first_refresh_token(state))


@then("the refresh returns a usable access token")
def refreshed_token_usable(state, discovery, environment):
    """A second successful token response whose access token the issuer vouches for. Its bytes may
    equal the first one's: a deterministic JWT issued within the same second is legal."""
    check(len(state.token_responses) >= 2, "the refresh gave no second token response (RFC 6749 section 6)")
    refreshed = state.token_responses[-1]
    check(
        str(refreshed.get("token_type", "")).lower() == "bearer",
        f"the refreshed token_type is {shown_or(refreshed.get('token_type'))}, not Bearer (RFC 6749 section 5.1)",
    )
    if environment.expectations.access_token_format == "jwt":
        claims = verified_claims(refreshed["access_token"], discovery)
        exp = claims.get("exp")
        # The claims of a JWT access token are AT-01's rule (RFC 9068 section 2.2): a refreshed token
        # that breaks them breaks it the way the first one did, so RT-01 is blocked by AT-01 when that
        # failed too (rules.yaml needs), and fails on its own only when AT-01's tokens were right.
        # RFC 9068's client_id binds the tokens of its profile; those of another declared profile name their
        # client where they carry the claim (steps.access_tokens.follows_rfc9068)
        client_named = (not follows_rfc9068(environment) and "client_id" not in claims) or claims.get(
            "client_id"
        ) == state.client.client_id
        require(
            client_named and isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp > time.time(),
            f"the refreshed access token names client {shown_or(claims.get('client_id'), 'none')} and expires at "
            f"{shown_or(exp, 'no time')}: not a live token for {state.client.client_id!r} (RFC 9068 section 2.2: "
            "client_id and exp, a NumericDate, REQUIRED)",
        )


@then("the refresh token is rotated or reused as the environment declares")
def rotation_as_declared(state, discovery, environment):
    old = first_refresh_token(state)
    new = state.tokens.get("refresh_token")
    expectations = environment.expectations
    if expectations.refresh_token_rotation == "one_time":
        check(
            bool(new) and new != old,
            "the refresh did not return a new refresh token; the environment declares "
            "one_time rotation (expectations.refresh_token_rotation; RFC 6749 section 6: "
            "the server MAY issue a new refresh token)",
        )
        if expectations.refresh_token_reuse_grace:
            time.sleep(expectations.refresh_token_reuse_grace + 1)
        refresh(state, discovery, old)
        response = state.response
        error = error_of(response)
        after = f"{expectations.refresh_token_reuse_grace + 1} s after its use"
        declared = "one_time rotation invalidates it after the declared grace (expectations.refresh_token_reuse_grace)"
        # a 200 is no refusal short of an error code: the old token still refreshes, which is what rotation forbids
        check(
            response.status_code != 200,
            lambda: (
                f"the used refresh token was accepted again {after}: HTTP 200, {_issued(response)}; {declared}, "
                "so a refresh token once used must be refused (RFC 6749 section 5.2: invalid_grant for a revoked "
                "refresh token)"
            ),
        )
        check(
            response.status_code == 400 and error == "invalid_grant",
            f"the used refresh token was refused with HTTP {response.status_code}, error "
            f"{shown_or(error, 'code missing')}, {after}; {declared}, and RFC 6749 section 5.2 names invalid_grant "
            "for a revoked refresh token",
        )
    else:
        check(
            new in (None, old),
            "the refresh returned a different refresh token; the environment declares reuse "
            "(expectations.refresh_token_rotation; RFC 6749 section 6)",
        )
        refresh(state, discovery, old)
        check(
            state.response.status_code == 200,
            "the refresh token stopped working after one use; the environment "
            "declares reuse (expectations.refresh_token_rotation; RFC 6749 "
            "section 6)",
        )


def _issued(response) -> str:
    """What a granted refresh issued, by name (never the tokens themselves)."""
    try:
        body = parse_json(response.text)
    except ValueError:
        body = None
    issued = [
        name for name in ("access_token", "refresh_token", "id_token") if isinstance(body, dict) and body.get(name)
    ]
    return f"tokens issued ({', '.join(issued)})" if issued else "a response without tokens"


@when("the other client refreshes with the client's refresh token")
def other_client_refreshes(state, discovery):
    refresh(state, discovery, first_refresh_token(state), client=state.other_client)


def _originally_granted(state) -> set[str]:
    """The scope the code's redemption granted: its `scope` if it names one, else the scope the
    authorization asked for (RFC 6749 section 5.1: scope is OPTIONAL if identical to the request)."""
    first = state.token_responses[0] if state.token_responses else {}
    named = first.get("scope")
    if isinstance(named, list):
        return {str(s) for s in named}
    if isinstance(named, str) and named.strip():
        return set(named.split())
    return set(f"{state.client.scope} offline_access".split())


def _scope_widening(state, discovery, environment, response: dict, requested: str | None = None) -> str | None:
    """What the refresh response grants beyond the original scope: in its `scope` or, where it names none, in
    the scope the refresh `requested` (RFC 6749 section 5.1), and in the `scope` claim of its access token
    where that is a JWT (as Visma's are); None when nothing."""
    granted = _originally_granted(state)
    named = response.get("scope")
    if isinstance(named, str):
        named = named.split()
    extra = set(named or ()) - granted
    if extra:
        return f"the refresh response's scope names {' '.join(sorted(extra))!r}"
    unnamed_extra = set((requested or "").split()) - granted if named is None else set()
    if unnamed_extra:  # no scope named: the one requested was granted, a refresh without scope keeps the original
        return (
            f"the refresh response names no scope, so it grants the scope requested, with "
            f"{' '.join(sorted(unnamed_extra))!r} (RFC 6749 section 5.1: scope is {SCOPE_OMITTED_SENTENCE})"
        )
    if environment.expectations.access_token_format == "jwt" and response.get("access_token"):
        token = response["access_token"]
        # a token of another form is RT-01's and AT-01's failure: RT-08 then has no scope claim to read (nothing
        # to check, blocked by the rule that failed), not a scope widened
        require(
            isinstance(token, str) and token.count(".") == 2,
            "the refreshed access token is not a JWT (three dot-separated parts, RFC 7515 section 7.1), so it has "
            "no scope claim to read",
        )
        claim = verified_claims(token, discovery).get("scope")
        claimed = claim.split() if isinstance(claim, str) else claim if isinstance(claim, list) else []
        extra = {str(s) for s in claimed} - granted
        if extra:
            return f"the refreshed access token's scope claim names {' '.join(sorted(extra))!r}"
    return None


SCOPE_OMITTED_SENTENCE = '"OPTIONAL, if identical to the scope requested by the client; otherwise, REQUIRED"'
RT08_SENTENCE = (  # cited as "RFC 6749 section 6:" where it is used, so that the message names it
    '"The requested scope MUST NOT include any scope not originally granted by the resource '
    'owner, and if omitted is treated as equal to the scope originally granted by the resource owner"'
)


@then("the refresh grants no scope beyond the one originally granted")
def refresh_scope_not_widened(state, discovery, environment):
    widening = _scope_widening(state, discovery, environment, state.token_responses[-1])
    check(
        widening is None,
        lambda: (
            f"{widening}, beyond the scope originally granted ({' '.join(sorted(_originally_granted(state)))!r}), "
            f"although the refresh asked for no scope; RFC 6749 section 6: {RT08_SENTENCE}"
        ),
    )


def _ungranted_scope(state, environment) -> str:
    """A scope the user did not grant this client: the service client's API scopes where the
    environment names them, else a made-up one."""
    granted = _originally_granted(state)
    service = environment.clients.get("service")
    candidates = f"{service.scope} {service.ungranted_scope or ''}".split() if service else []
    return next((s for s in candidates if s not in granted), "conformance-suite-not-granted")


def _wider_scope(state) -> str:
    """The scope the widening refresh asks for: the one originally granted and one more."""
    return " ".join([*sorted(_originally_granted(state)), state.widening_scope])


@when("the client refreshes asking for a scope not originally granted")
def refresh_with_wider_scope(state, discovery, environment):
    token = state.tokens.get("refresh_token") or first_refresh_token(state)
    state.widening_scope = _ungranted_scope(state, environment)
    client = state.client
    post_token(
        state,
        discovery,
        {"grant_type": "refresh_token", "refresh_token": token, "scope": _wider_scope(state)},
        client=client,
        authentication=default_authentication(client),
    )


@then('the refresh is refused with "invalid_scope" or grants no scope beyond the one originally granted')
def wider_refresh_refused_or_narrowed(state, discovery, environment):
    response = state.response
    if response.status_code != 200:
        error = error_of(response)
        check(
            error == "invalid_scope",
            f"the refresh asking for {state.widening_scope!r}, not originally granted, was refused with HTTP "
            f"{response.status_code}, error {shown_or(error, 'code missing')}; a requested scope beyond the one "
            "granted is invalid_scope (RFC 6749 section 5.2), the refresh token itself being good",
        )
        return
    widening = _scope_widening(state, discovery, environment, state.token_responses[-1], _wider_scope(state))
    check(
        widening is None,
        lambda: (
            f"the refresh asking for {state.widening_scope!r}, not originally granted, was granted: {widening}; "
            f"RFC 6749 section 6: {RT08_SENTENCE}"
        ),
    )
