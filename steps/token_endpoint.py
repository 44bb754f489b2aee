"""What every token response must look like, success (RFC 6749 section 5.1) or error (section 5.2).

Shared by the service and the interactive features: the rule is about the token endpoint,
whichever grant asked.
"""

import re
import secrets
from urllib.parse import quote_plus

from pytest_bdd import parsers, then

from suite.configuration.rule_catalogue import entry
from suite.secrets.redaction import REDACTOR, excerpt
from suite.verdict.checks import ConfigurationProblem, check, check_granted, require, require_not_met, shown_or
from suite.verdict.token_response import expires_in, granted_scope
from suite.wire.http import header_shown
from suite.wire.token_requests import error_of, outside_vschar, post_token

RFC6749_ERRORS = {
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
}
VISMA_ERRORS = {"invalid_tenant"}


def _json_body(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    check(
        isinstance(body, dict),
        lambda: (
            f"the token endpoint answered HTTP {response.status_code} with a body "
            f"that is not a JSON object: {excerpt(response.text)} (RFC 6749 sections "
            "5.1 and 5.2: a JSON object, application/json)"
        ),
    )
    return body


def refuse_if_secret_refused_everywhere(state, discovery, client=None) -> dict[str, str | None]:
    """A refusal `invalid_client` is the right answer when client authentication fails (RFC 6749
    section 5.2): where the client's secret is refused sent either way the documentation allows
    (in the form body and by HTTP Basic), for a request the server answers otherwise once the client
    is authenticated, nothing shows the server can authenticate that client at all, and a wrong
    secret in the environment is far likelier than a server refusing its own client. A
    configuration problem naming the key (exit code 4, no verdict), as for a refused test user.
    Either way accepted is evidence the server authenticates the client: what was refused is then
    the server's fault (a Basic decoding defect, say) and fails as before. Returns, for each way
    tried (post, basic), the error it got (None: granted); nothing where none was tried. `client`: the
    one that sent the refused request (the scenario's client where None)."""
    client = client or state.client
    if client is None or client.is_public or not client.client_secret or error_of(state.response) != "invalid_client":
        return {}
    if client.redirect_uri:  # a code nobody issued: invalid_grant once the client is authenticated
        form = {"grant_type": "authorization_code", "code": "never-issued-" + secrets.token_urlsafe(16)}
        form["redirect_uri"] = client.redirect_uri
    else:
        form = {"grant_type": "client_credentials", "scope": client.scope}
        if client.tenant_id:
            form["tenant_id"] = client.tenant_id
    response, token_responses = state.response, list(state.token_responses)
    try:
        errors = {
            way: _outcome(post_token(state, discovery, form, client=client, authentication=way))
            for way in ("post", "basic")
        }
    finally:
        state.response, state.token_responses[:] = response, token_responses
    if all(error == "invalid_client" for error in errors.values()):
        raise ConfigurationProblem(
            f"clients.{client.role}.client_secret: the token endpoint refuses the {client.role} client's secret "
            "(invalid_client) sent in the form body and by HTTP Basic alike, so the environment's client secret is "
            f"most likely wrong. Check clients.{client.role}.client_secret (and the variable it names) against the "
            "server's registration" + outside_vschar(client.client_secret)
        )
    return errors


def _outcome(response) -> str | None:
    """A probe's answer: None where it was granted (HTTP 200), else its error (or its status)."""
    if response.status_code == 200:
        return None
    return error_of(response) or f"HTTP {response.status_code}"


# The answers to a probe that show the client authenticated: a token, or a never-issued code refused.
AUTHENTICATED = (None, "invalid_grant")


def _basic_decoding_hint(state, errors: dict[str, str | None], client=None) -> str:
    """Why a request sent with HTTP Basic was refused where the body method was not: RFC 6749 section
    2.3.1 form-urlencodes the client id and secret before Basic encodes them, and a server that
    compares them as sent refuses every secret that encoding changes. The characters are not named:
    they are the secret's."""
    client, request = client or state.client, state.response.request
    sent_by_basic = str(request.headers.get("Authorization", "")).startswith("Basic ")
    if not (sent_by_basic and errors.get("basic") == "invalid_client" and "post" in errors):
        return ""
    changed = [value for value in (client.client_id, client.client_secret or "") if quote_plus(value) != value]
    if not changed:
        return ""
    which = (
        "client id and secret" if len(changed) == 2 else ("secret" if client.client_secret in changed else "client id")
    )
    return (
        f"; the server refused the form-urlencoded Basic credentials (RFC 6749 section 2.3.1): the {client.role} "
        f"client's {which} has characters form-urlencoding changes (such as a space, '+', '%', '/', ':', quotes "
        "or non-ASCII letters), which the server must decode before comparing; "
        + (
            "the same secret sent in the form body (client_secret_post) was accepted"
            if errors["post"] in AUTHENTICATED
            else f"sent in the form body (client_secret_post) it was refused too, error={errors['post']!r}"
        )
    )


def refuse_if_authentication_refused(state, discovery) -> None:
    """A refusal rule's request refused `invalid_client` tells nothing of what the rule checks (whose code,
    whose refresh token) when the client that sent it cannot authenticate the way it did at all: the control
    is the same client's same authentication for a code nobody issued, which an authenticated client has
    refused invalid_grant. Refused invalid_client there too, the server never judged the grant; the scenario
    is kept from its own check by the client authentication (SVC-02 checks HTTP Basic's) and says so. Where no
    rule it needs failed (SVC-02 passed with the service client's secret), nothing in the run shows the server
    at fault: it could not be checked, an environment problem naming the client's keys. Accepted there, the
    invalid_client was the server's answer to the grant, and the rule judges it."""
    client = state.sender or state.client
    errors = refuse_if_secret_refused_everywhere(state, discovery, client)
    way = "basic" if "Authorization" in state.response.request.headers else "post"
    words = {"basic": "HTTP Basic", "post": "its secret in the form body"}
    other = next(w for w in words if w != way)
    require_not_met(
        errors.get(way) != "invalid_client",
        lambda: (
            f"the {client.role} client's authentication by {words[way]} was refused (invalid_client, HTTP "
            f"{state.response.status_code}), for a code nobody issued too: the server never authenticated the client, "
            f"so it never judged the grant this rule is about; by {words[other]} it was "
            f"{'accepted' if errors.get(other) in AUTHENTICATED else f'answered {errors.get(other)!r}'}"
            + _basic_decoding_hint(state, errors, client)
            + f"; check clients.{client.role}.token_endpoint_auth_method and clients.{client.role}.client_secret "
            "against the server's registration"
        ),
        environment_unless_blocked=True,
    )


@then("the token request succeeds")
def token_request_succeeds(state, discovery):
    response = state.response
    body = _json_body(response)
    errors = {}
    if response.status_code != 200:
        errors = refuse_if_secret_refused_everywhere(state, discovery)
    check_granted(
        response.status_code == 200,
        f"the token request was refused: HTTP {response.status_code}, {REDACTOR.fields(body)} "
        "(RFC 6749 section 5.1: a granted request is answered 200)" + _basic_decoding_hint(state, errors),
    )
    check(
        isinstance(body.get("access_token"), str) and body["access_token"],
        f"the token response has no access_token: {REDACTOR.fields(body)} (RFC 6749 section 5.1: REQUIRED)",
    )


@then("the token response is JSON")
def token_response_is_json(state):
    content_type = state.response.headers.get("Content-Type", "")
    check(
        content_type.split(";")[0].strip().lower() == "application/json",
        f"the token response's Content-Type is {content_type!r}, not application/json (RFC 6749 section 5.1)",
    )


@then(parsers.parse('the token type is "{token_type}"'))
def token_type_is(state, token_type):
    actual = state.tokens.get("token_type")
    # RFC 6749 section 5.1: the value is case insensitive.
    check(
        isinstance(actual, str) and actual.lower() == token_type.lower(),
        f'token_type is {shown_or(actual)}, not {token_type!r} (Visma\'s token response: "token_type": "Bearer"; '
        "RFC 6749 section 5.1)",
        expected=token_type,
        received=actual,
    )


@then(parsers.parse('the token response has "Cache-Control: {value}"'))
def token_response_cache_control(state, value):
    directives = [d.strip().lower() for d in state.response.headers.get("Cache-Control", "").split(",")]
    check(
        value.lower() in directives,
        f"{header_shown(state.response, 'Cache-Control')}; a token response must say {value} "
        "(RFC 6749 section 5.1: MUST include Cache-Control: no-store)",
        expected=f"Cache-Control: {value}",
        received=header_shown(state.response, "Cache-Control"),
    )


def error_words(error: str | None, response) -> str:
    """error='...' or, when the answer names none, what it held instead (an empty body, HTML, ...)."""
    return (
        f"error={error!r}" if error else f"no error code (body: {excerpt(response.text) if response.text else 'empty'})"
    )


def _naming(sources, allowed: list[str]) -> list:
    """The rule's sources whose sentence names one of the error codes it expects (RFC 6749 section 5.2's)."""
    return [s for s in sources if any(re.search(rf"\b{code}\b", s.quote) for code in allowed)]


GRANTED = "the token request was granted (HTTP 200)"


def error_sent_with_200(response) -> str | None:
    """The error code of an HTTP 200 that holds an error and no access token (a server that answers its
    refusals with 200), else None: such an answer granted nothing."""
    try:
        body = response.json()
    except ValueError:
        return None
    if response.status_code != 200 or not isinstance(body, dict) or body.get("access_token"):
        return None
    return None if body.get("error") is None else str(body["error"])


def answered_200(request, allowed: list[str], response) -> str:
    """What an HTTP 200 to a request the rule has refused was: an error sent with 200 (D9's
    {"error":"invalid_client"}) is said as such, not as a grant; a grant as _granted_words says."""
    error = error_sent_with_200(response)
    if error is None:
        return _granted_words(request, allowed)
    answer = f"the token endpoint answered with an error, {error_words(error, response)}, sent with HTTP 200"
    return _granted_words(request, allowed, answer) + (
        '; an error is answered "with an HTTP 400 (Bad Request) status code (unless specified otherwise)", 401 for '
        "an invalid_client whose client authenticated by HTTP Basic (RFC 6749 section 5.2): HTTP 200 is a granted "
        "request's answer (section 5.1)"
    )


def _granted_words(request, allowed: list[str], answer: str = GRANTED) -> str:
    """What was granted (or `answer`: what the server did instead) that the scenario's rule has refused, and
    the sentences that say so: the scenario's title ("A code redeemed with another redirect_uri is refused")
    names the cause, its sources the sections."""
    marker = request.node.get_closest_marker("rule")
    title = dict(request.node.user_properties).get("scenario", "")
    if marker is None or not title:
        return answer
    rule_id = marker.args[0]
    sources = entry(rule_id).sources
    naming = _naming(sources, allowed)
    cited = "; ".join(dict.fromkeys(s.source for s in sources if s not in naming) or (s.source for s in sources))
    title = title.removeprefix(rule_id).strip()
    cause = re.fullmatch(r"(.+?) (?:is|are) refused\b(.*)", title)
    if cause is None:
        return f"{answer}, yet {rule_id} says: {title[:1].lower()}{title[1:]} ({cited})"
    what = cause[1] + cause[2]
    to = " to" if answer == GRANTED else ", to"  # "granted (HTTP 200) to ...", "an error, sent with HTTP 200, to ..."
    return f"{answer}{to} {what[:1].lower()}{what[1:]}, which {rule_id} says is refused ({cited})"


def _expected_words(request, allowed: list[str]) -> str:
    """The error codes expected, with the sentence of the rule's sources that names them where it has one."""
    marker = request.node.get_closest_marker("rule")
    naming = _naming(entry(marker.args[0]).sources, allowed) if marker else []
    quoted = "; ".join(f'"{s.quote}" ({s.source})' for s in naming)
    return f"expected {' or '.join(allowed)}" + (f": {quoted}" if quoted else " (RFC 6749 section 5.2)")


def _wrong_error_words(request, allowed: list[str], error, response) -> str:
    """A refusal with another error code: what it said, and the sentence naming the expected code
    (_expected_words cites it: the rule's own source, else RFC 6749 section 5.2)."""
    return (
        f"the refusal says {error_words(error, response)} (HTTP {response.status_code}); "
        f"{_expected_words(request, allowed)}"
    )


@then("the token request is refused")
def token_request_refused_any_code(request, state, discovery):
    """A refusal whatever its error code, where no sentence names the code (PKCE-03's missing verifier:
    RFC 7636 section 4.6 names invalid_grant for a verifier that does not match, not for none). The
    code is judged, warning-level, by a rule of its own. A 5xx is a failure to answer, not a refusal."""
    response = state.response
    refuse_if_secret_refused_everywhere(state, discovery)  # a secret refused everywhere is the file's, not a refusal
    check(
        response.status_code != 200,
        lambda: f"{answered_200(request, [], response)}; expected a refusal (RFC 6749 section 5.2)",
    )
    check(
        400 <= response.status_code < 500,
        lambda: (
            f"the token request got HTTP {response.status_code} ({error_words(error_of(response), response)}), not a "
            'refusal: "The authorization server responds with an HTTP 400 (Bad Request) status code (unless '
            'specified otherwise)" (RFC 6749 section 5.2)'
        ),
    )


@then(parsers.re(r'the token request is refused with (?P<errors>"\w+"(?: or "\w+")*)'))
def token_request_refused(request, state, errors, discovery):
    allowed = errors.replace('"', "").split(" or ")
    response = state.response
    if "invalid_client" not in allowed:  # the refusal may be for the secret, not for what the rule checks
        refuse_if_authentication_refused(state, discovery)
    check(
        response.status_code != 200,
        lambda: (
            f"{answered_200(request, allowed, response)}; expected a refusal with {' or '.join(allowed)} "
            "(RFC 6749 section 5.2)"
        ),
    )
    body = _json_body(response)
    error = body.get("error")
    check(
        error in allowed,
        lambda: _wrong_error_words(request, allowed, error, response),
        expected=f"error: {' or '.join(allowed)}",
        received=f"{error_words(error, response)}, HTTP {response.status_code}",
    )
    check(error in RFC6749_ERRORS | VISMA_ERRORS, f"error {error!r} is not an RFC 6749 section 5.2 code")
    used_basic = "Authorization" in response.request.headers
    expected_status = (
        {401} if error == "invalid_client" and used_basic else ({400, 401} if error == "invalid_client" else {400})
    )
    check(
        response.status_code in expected_status,
        lambda: (
            f"error invalid_client came with HTTP {response.status_code}, and the client authenticated with HTTP Basic "
            'in the Authorization header: "If the client attempted to authenticate via the "Authorization" request '
            'header field, the authorization server MUST respond with an HTTP 401 (Unauthorized) status code" '
            "(RFC 6749 section 5.2)"
            if error == "invalid_client" and used_basic
            else f"error {error} came with HTTP {response.status_code}; RFC 6749 section 5.2 says "
            f"{' or '.join(map(str, sorted(expected_status)))}"
        ),
    )


@then('"expires_in" is the lifetime the environment expects')
def expires_in_as_expected(state, environment):
    """The lifetime left when the response was made: a server may count from the token's issue
    (3599 a second later), so up to the declared tolerance below the declared lifetime is that lifetime."""
    expectations = environment.expectations
    expected, tolerance = expectations.access_token_lifetime, expectations.access_token_lifetime_tolerance
    actual = expires_in(state.tokens)
    check(
        actual is not None and expected - tolerance <= actual <= expected,
        f"expires_in is {shown_or(actual)}; the environment expects {expected}"
        + (f" (down to {expected - tolerance}: expectations.access_token_lifetime_tolerance)" if tolerance else "")
        + ' (expectations.access_token_lifetime; Visma\'s token response: "expires_in": 3600)',
        expected=expected,
        received=actual,
    )


@then("the granted scope is exactly the requested scope")
def scope_as_requested(state):
    """RFC 6749 section 5.1: scope is OPTIONAL when it is the one requested, so a response without it
    grants exactly that; one that names a scope names the one requested."""
    granted = granted_scope(state.tokens)
    check(
        granted is None or granted == set(state.client.scope.split()),
        lambda: (
            f"the granted scope is {state.tokens.get('scope')!r}; the request asked for {state.client.scope!r} "
            "(Visma's token response names the scope requested; RFC 6749 section 5.1)"
        ),
        expected=state.client.scope,
        received=state.tokens.get("scope"),
    )


@then("the granted scope, if named, is a list of space-delimited scopes")
def scope_well_formed(state):
    """RFC 6749 section 3.3: the server "MAY fully or partially ignore the scope requested by the client"
    and "MUST include the scope response parameter to inform the client of the actual scope granted"
    when it differs. So any scope it names is its answer, and a response without one granted the scope
    requested (section 5.1); what binds it is the form: a space-delimited string."""
    granted_scope(state.tokens)


@then(parsers.re(r'the refusal says (?P<errors>"\w+"(?: or "\w+")*)'))
def refusal_error_code(request, state, errors, discovery):
    """The error code of a refusal another rule requires (PKCE-09's, of PKCE-03's refusal): a request
    granted leaves no code to judge, and is that rule's failure (features/rules.yaml `needs`)."""
    require(
        state.response.status_code != 200,
        "the token request was granted: there is no refusal whose error code to judge (the refusal itself, "
        "RFC 7636 section 4.6, is the rule this one needs)",
    )
    token_request_refused(request, state, errors, discovery)
