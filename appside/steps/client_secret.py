"""Where the client secret goes, whatever the application's type."""

import pytest
from pytest_bdd import given, then, when

from appside.application import Application
from appside.observed import Observed, form_value, secret_in_query
from appside.steps.leaks import flows_of_the_run, in_flow, leaked, use_as_a_user_would
from appside.steps.plain_http import no_token_request_said
from appside.steps.refusals import expired_access_token
from appside.steps.sign_ins import AppRun, no_evidence
from sandbox import SandboxServer
from sandbox.recording import RecordedRequest
from suite.secrets.redaction import excerpt
from suite.verdict.checks import check


@given("the application has been used as a user would")
def used_normally(
    request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun
) -> None:
    if not application.client_secret:
        pytest.skip(f"{application.client_id} is a {application.app_type} application: it has no client secret")
    use_as_a_user_would(request.config, application, stand_in, app_run)


@then("the client secret appears in no URL")
def secret_not_in_url(application: Application, app_run: AppRun) -> None:
    """Every request the stand-in saw in every sign-in (or run) the run made: the refused ones, and a refresh
    after the access token expired (hapi's refresh with every parameter in the token URL's query)."""
    assert application.client_secret is not None  # "used as a user would" skipped an application without one
    for title, _, every_observed in flows_of_the_run(app_run):
        for observed in every_observed:
            for request in observed.entries:
                if secret_in_query(request, application.client_secret):
                    check(
                        False,
                        f"the client secret was sent in the URL of {request.method} {request.path}"
                        + _grant(request, observed)
                        + f", {in_flow(application, title)}"
                        + _GET_TOKEN_REQUEST * (request.method == "GET" and request in observed.token_requests)
                        + ": URLs end up in logs, histories and Referer headers",
                    )


@then("the client secret appears in no URL the browser opened")
def secret_not_in_browser_urls(application: Application, app_run: AppRun) -> None:
    """The application's own pages too: a secret in a redirect or a link reaches the browser's history."""
    assert application.client_secret is not None  # "used as a user would" skipped an application without one
    secret = {application.client_secret: "client secret"}
    flows = flows_of_the_run(app_run)
    for title, sign_ins, _ in flows:
        for sign_in in sign_ins:
            for url in getattr(sign_in, "urls", None) or ():
                if leaked(url, secret):
                    check(
                        False,
                        f"the client secret was in the URL of a request the browser made, "
                        f"{in_flow(application, title)}: {excerpt(url)}",
                    )
    if not any(observed.token_requests for _, _, every_observed in flows for observed in every_observed):
        no_evidence(application, app_run, _no_token_request([o for _, _, every in flows for o in every]))


def _grant(request: RecordedRequest, observed: Observed) -> str:
    """ " (a refresh_token request)": which token request it was, where it was one."""
    if request not in observed.token_requests:
        return ""
    grant = request.param("grant_type") or "token"
    return f" ({'an' if grant[:1].lower() in 'aeiou' else 'a'} {grant} request)"


# a token request sent with GET carries every parameter, the secret too, in its query
_GET_TOKEN_REQUEST = (
    ', a token request sent with GET, which puts every parameter in the URL (RFC 6749 section 3.2: "The client MUST '
    'use the HTTP POST method when making access token requests"; send them form-encoded in a POST body)'
)


def _no_token_request(every_observed: list[Observed]) -> str:
    """The secret is used at the token endpoint: an application that sent none never used it, and a URL without
    it shows nothing (APPC-11, APPC-24 would pass an application whose sign-in broke before its token request).
    Where plaintext HTTP requests reached the HTTPS port, it may have sent one there, with its secret."""
    if any(observed.plain_http_requests for observed in every_observed):
        return no_token_request_said(every_observed)
    return "the application sent the stand-in no token request in these runs, so it never used its client secret"


def _token_requests(app_run: AppRun) -> list:
    return [request for observed in app_run.observed for request in observed.token_requests]


@when("the application renews an expired access token, where the suite can make it")
def renewal_where_possible(
    request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun
) -> None:
    """A refresh (or a service's next token request) is a token request too. Where the application file
    names no page that makes it use its token, the normal use is all there is to read."""
    if application.is_interactive and not application.drive.use_api_url:
        return
    expired_access_token(request, application, stand_in, app_run)


@then("no request carries the client secret in two ways")
def one_authentication_method(application: Application, app_run: AppRun) -> None:
    """HTTP Basic, client_secret in the form body, a client assertion: one of them per request. A client_id
    in the body beside HTTP Basic authenticates nothing and is no second method; a secret in the URL
    authenticates nothing either (APPC-11)."""
    for observed in app_run.observed:
        for request in observed.entries:
            methods = [
                name
                for name, used in (
                    ("HTTP Basic", request.headers.get("Authorization", "").lower().startswith("basic ")),
                    ("client_secret in the body", form_value(request, "client_secret") is not None),
                    ("client_assertion in the body", form_value(request, "client_assertion") is not None),
                )
                if used
            ]
            check(
                len(methods) < 2,
                f"{request.method} {request.path} ({request.param('grant_type') or 'no grant_type'}) authenticates "
                f"the application {len(methods)} ways at once: {', '.join(methods)}",
            )
    if not _token_requests(app_run):
        no_evidence(application, app_run, _no_token_request(app_run.observed))
