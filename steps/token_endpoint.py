"""What every token response must look like, success (RFC 6749 section 5.1) or error (section 5.2).

Shared by the service and the interactive features: the rule is about the token endpoint,
whichever grant asked.
"""

from pytest_bdd import parsers, then

from suite.secrets.redaction import REDACTOR, excerpt
from suite.verdict.checks import check

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


@then("the token request succeeds")
def token_request_succeeds(state):
    response = state.response
    body = _json_body(response)
    check(
        response.status_code == 200,
        f"the token request was refused: HTTP {response.status_code}, {REDACTOR.fields(body)} "
        "(RFC 6749 section 5.1: a granted request is answered 200)",
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
        f'token_type is {actual!r}, not {token_type!r} (Visma\'s token response: "token_type": "Bearer"; '
        "RFC 6749 section 5.1)",
        expected=token_type,
        received=actual,
    )


@then(parsers.parse('the token response has "Cache-Control: {value}"'))
def token_response_cache_control(state, value):
    directives = [d.strip().lower() for d in state.response.headers.get("Cache-Control", "").split(",")]
    check(
        value.lower() in directives,
        f"Cache-Control is {state.response.headers.get('Cache-Control')!r}; a token response must say {value} "
        "(RFC 6749 section 5.1: MUST include Cache-Control: no-store)",
        expected=f"Cache-Control: {value}",
        received=f"Cache-Control: {state.response.headers.get('Cache-Control')}",
    )


def error_words(error: str | None, response) -> str:
    """error='...' or, when the answer names none, what it held instead (an empty body, HTML, ...)."""
    return (
        f"error={error!r}" if error else f"no error code (body: {excerpt(response.text) if response.text else 'empty'})"
    )


@then(parsers.re(r'the token request is refused with (?P<errors>"\w+"(?: or "\w+")*)'))
def token_request_refused(state, errors):
    allowed = errors.replace('"', "").split(" or ")
    response = state.response
    check(
        response.status_code != 200,
        f"the token request was granted (HTTP 200); expected a refusal with {' or '.join(allowed)} "
        "(RFC 6749 section 5.2)",
    )
    body = _json_body(response)
    error = body.get("error")
    check(
        error in allowed,
        f"the refusal says {error_words(error, response)} (HTTP {response.status_code}); "
        f"expected {' or '.join(allowed)} (RFC 6749 section 5.2)",
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
        f"error {error} came with HTTP {response.status_code}; RFC 6749 section 5.2 says "
        f"{' or '.join(map(str, sorted(expected_status)))}",
    )


@then('"expires_in" is the lifetime the environment expects')
def expires_in_as_expected(state, environment):
    expected = environment.expectations.access_token_lifetime
    actual = state.tokens.get("expires_in")
    check(
        actual == expected,
        f"expires_in is {actual!r}; the environment expects {expected} "
        '(expectations.access_token_lifetime; Visma\'s token response: "expires_in": 3600)',
        expected=expected,
        received=actual,
    )


@then("the granted scope is exactly the requested scope")
def scope_as_requested(state):
    granted = state.tokens.get("scope")
    check(
        isinstance(granted, str),
        f"the token response has no scope (found {granted!r}); Visma's token response "
        'names it ("scope": "visma_api:read")',
    )
    check(
        set(granted.split()) == set(state.client.scope.split()),
        f"the granted scope is {granted!r}; the request asked for {state.client.scope!r} (Visma's token response "
        "names the scope requested; RFC 6749 section 5.1)",
        expected=state.client.scope,
        received=granted,
    )


@then("the granted scope is at most the requested scope")
def scope_within_request(state):
    """RFC 6749 section 5.1: scope is OPTIONAL when it is the one requested; a narrower grant names it
    (section 3.3); nothing beyond the request may be granted."""
    granted = state.tokens.get("scope")
    if granted is None:
        return
    requested = set(state.authorization.params.get("scope", "").split()) if state.authorization else set()
    check(isinstance(granted, str), f"the token response's scope is {granted!r}, not a string (RFC 6749 section 3.3)")
    beyond = set(granted.split()) - requested
    check(
        not beyond,
        f"the token response grants {' '.join(sorted(beyond))}, which was never requested "
        f"(asked for {' '.join(sorted(requested))}; RFC 6749 section 3.3)",
    )
