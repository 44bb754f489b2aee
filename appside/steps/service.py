"""What a service application sends: client_credentials, form-encoded, with its secret, and the
tenant for tenant-based APIs."""

from datetime import UTC, datetime

import allure
import pytest
from pytest_bdd import given, then

from appside.application import Application
from appside.observed import (
    bearer_defect,
    bearer_of,
    client_authentication,
    expired_uses,
    form_value,
    secret_in_query,
    token_request_shape,
)
from appside.service_driver import ServiceRun
from appside.stand_in import ISSUED_TOKENS
from appside.steps.sign_ins import (
    AppRun,
    _baseline,
    driver,
    note_client_authentication,
    observe,
    skip_unless_a_sign_in_started,
    skip_unless_type,
)
from sandbox import SandboxServer
from sandbox.registry import Registry
from suite.verdict.checks import check, require

BODY_PARAMETERS = ("grant_type", "scope", "tenant_id", "client_id", "client_secret")


def service_run(config, stand_in: SandboxServer):
    """One run of the service, done once per run of the suite and read by every request rule."""
    if "service" not in _baseline:
        _baseline["service first"] = not ISSUED_TOKENS.last_expiry  # the stand-in had issued no token before it
        _baseline["service"] = run, observed = observe(stand_in, driver(config).session().run)
        note_failed_run(config, run, observed, config.application.access_token_lifetime)
    return _baseline["service"]


def bearer_hint(observed_runs, lifetime: int) -> str:
    """Why the API refused a service whose calls carried an empty or malformed bearer token, pointing at the likely
    cause: a library that drops a token it takes for expired (Net::OAuth2 treats one as expired 15 s early, and
    sends `Bearer ` with nothing once it has) and the key that gives the stand-in's tokens longer; "" otherwise."""
    defects = [
        bearer_defect(call) for observed in observed_runs for call in observed.api_calls + observed.userinfo_calls
    ]
    expired = next(filter(None, (expired_on_arrival(observed) for observed in observed_runs)), "")
    if expired:
        return (
            f" ({expired}: the stand-in's {lifetime}-second access token expired before the call came, which says "
            "nothing against the application (a slow machine, or a library that waits before its call); give the "
            "stand-in's tokens longer with issuer.access_token_lifetime in the application file, see "
            "docs/reference-application-keys.md)"
        )
    if "empty" in defects:
        what = "the application sent an empty bearer token (the API received `Bearer ` with no token)"
    elif "malformed" in defects:
        what = "the application sent a malformed bearer token (not RFC 6750 section 2.1's b64token)"
    else:
        return ""
    return (
        f" ({what}: its library may treat the stand-in's {lifetime}-second access tokens as expired; see "
        "issuer.access_token_lifetime in docs/reference-application-keys.md)"
    )


def expired_on_arrival(observed) -> str:
    """A run's first call to the API or userinfo refused because the access token it carried, issued in that same run,
    had expired when it arrived (its issue and arrival times and the token's expires_in); "" where none was."""
    issued = {
        answer["access_token"]: (response.at, answer.get("expires_in"))
        for response in observed.token_requests
        if response.status == 200
        for answer in [response.response_json or {}]
        if isinstance(answer.get("access_token"), str)
    }
    for call in expired_uses(observed):
        if call.status in (400, 401) and (token := bearer_of(call)) in issued:
            at, expires_in = issued[token]
            return (
                f"the access token had expired when the call arrived: {call.method} {call.path} arrived at "
                f"{_clock(call.at)}, {call.at - at:.2f} s after the token was issued at {_clock(at)} with "
                f"expires_in {expires_in} (seconds), and was refused (HTTP {call.status})"
            )
    return ""


def _clock(at: float) -> str:
    """A moment as the record's times are read: UTC, to the hundredth of a second."""
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S.%f")[:11] + " UTC"


def failed_runs(app_run: AppRun, lifetime: int) -> str:
    """What the service's runs in `app_run` that failed ended with (its exit status and last error lines, or
    that it did not finish in time), as a rule that judged them says it found nothing to check; "" where
    every run succeeded."""
    failed = list(
        dict.fromkeys(run.detail for run in app_run.sign_ins if isinstance(run, ServiceRun) and not run.succeeded)
    )
    if not failed:
        return ""
    return (
        f"the service's run(s) failed, so they show nothing of what it does once it works: {'; '.join(failed)}"
        + bearer_hint(app_run.observed, lifetime)
    )


def refused_for_a_token_in_its_url(app_run: AppRun) -> bool:
    """Whether every failed run of the service ended, after all it does, on the Visma API's refusal of calls that
    carried the access token in their URL (RFC 6750 section 2.3's access_token query parameter, which the API does
    not read): APPC-26's failure is why it failed, and its output is whole, for APPC-28 to read as a web
    application's is (LWP::Authen::OAuth2 service calling `GET /invoices?access_token=...`, exit 1 on the 401)."""
    failed = [
        (run, observed)
        for run, observed in zip(app_run.sign_ins, app_run.observed, strict=False)
        if isinstance(run, ServiceRun) and not run.succeeded
    ]
    return bool(failed) and all(
        run.ended
        and [call for call in observed.api_calls if call.status >= 400]
        and all(
            "access_token" in dict(call.query) and "Authorization" not in call.headers
            for call in observed.api_calls
            if call.status >= 400
        )
        for run, observed in failed
    )


# What a failed run still shows: the requests it did send, which the rules on them judge as sent (a pass there is a
# pass for the right reason); nothing of what the service does once it works. APPC-33 judges a run of its own, in
# which a refusal is the evidence.
TOKEN_REQUEST_RULES = ("APPC-11", "APPC-12", "APPC-13", "APPC-24")
FAILED_RUN_JUDGED = (
    f"a rule judged on a failed run passes only on the requests it did send (its token request: "
    f"{', '.join(TOKEN_REQUEST_RULES)}; its API calls, where it made any: APPC-26; its output, where the API refused "
    "only calls with the access token in their URL: APPC-28); every other rule judged on it could not be checked, or "
    "was blocked by the failed rule that explains it"
)


def note_failed_run(config, run: ServiceRun, observed, lifetime: int) -> None:
    """A failed run of the service said once in the record's notices and the terminal's summary: every rule
    judged on it could not be checked, and why belongs beside the verdict, not in an attachment only."""
    recorder = config.pluginmanager.get_plugin("application-results")
    if run.succeeded or recorder is None:
        return
    notice = f"a run of the service failed: {run.detail}{bearer_hint([observed], lifetime)}; {FAILED_RUN_JUDGED}"
    if notice not in recorder.notices:
        recorder.notices.append(notice)


def first_service_run() -> bool:
    """Whether the service's normal run (service_run) was made before the stand-in issued any token."""
    return "service" in _baseline and bool(_baseline.get("service first"))


@given("the service application has fetched a token and called the API")
def service_ran(
    request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun
) -> None:
    skip_unless_type(application, "service")
    run, observed = service_run(request.config, stand_in)
    observed.attach("service run")
    allure.attach(run.detail, name="the service's own outcome", attachment_type=allure.attachment_type.TEXT)
    app_run.sign_ins.append(run)
    app_run.observed.append(observed)
    # no request at all is no evidence against the service, nor for it (could not be checked, as a sign-in that
    # never reached the stand-in); an API call without a token request is the service's own
    skip_unless_a_sign_in_started(application, [run], [observed])
    check(observed.token_requests, f"the service sent no token request ({run.detail})")


def stand_in_answer(entry) -> str:
    """The stand-in's answer to a request, as a message quotes it: its status, error and error_description."""
    body = entry.response_json or {}
    error, description = body.get("error"), body.get("error_description")
    return f"HTTP {entry.status}" + (f" {error}" if error else "") + (f' "{description}"' if description else "")


def differs_from_file(token_request, application: Application) -> list[str]:
    """What a token request names that the application file, the application's registration at the
    stand-in, does not: another tenant, a scope it does not register."""
    differences = []
    tenant = form_value(token_request, "tenant_id") or token_request.param("tenant_id")
    if tenant and tenant != application.tenant_id:
        differences.append(
            f"tenant_id {tenant!r}, not the application file's {application.tenant_id!r}"
            if application.tenant_id
            else f"tenant_id {tenant!r}, while the application file names no tenant (application.tenant_id)"
        )
    unregistered = sorted(set(_scope(token_request).split()) - set(application.scope.split()))
    if unregistered:
        differences.append(
            f"scope {' '.join(unregistered)}, which the application file does not register "
            f"(application.scope: {application.scope!r})"
        )
    return differences


def refused_token_requests(observed, application: Application) -> str:
    """The token requests the stand-in refused, each with its answer and what it named that the
    application file does not; "" where it refused none."""
    refused = [r for r in observed.token_requests if r.status >= 400]
    described = []
    for token_request in refused:
        differences = differs_from_file(token_request, application)
        line = stand_in_answer(token_request) + (f" (it named {'; '.join(differences)})" if differences else "")
        if line not in described:
            described.append(line)
    if not described:
        return ""
    return f"the stand-in refused {len(refused)} token request(s): {'; '.join(described)}"


def why_no_token(observed, application: Application, runs) -> str:
    """Why a service was seen holding no token of the stand-in's: its refused token requests quoted,
    or what its runs ended with."""
    refused = refused_token_requests(observed, application)
    if refused:
        return refused
    outcomes = "; ".join(dict.fromkeys(run.detail for run in runs))
    if not observed.token_requests and not observed.api_calls:
        return f"it sent neither a token request nor an API call ({outcomes})"
    return f"it called the API only with tokens the stand-in did not issue, or none ({outcomes})"


@then("every token request is a form-encoded client_credentials request with the application's credentials")
def client_credentials_form(request: pytest.FixtureRequest, application: Application, app_run: AppRun) -> None:
    assert application.client_secret is not None  # a service's application file names one (load_application)
    for token_request in app_run.last.token_requests:
        # the secret in the URL is APPC-11's failure: the credentials there, and the request that then
        # authenticates nothing, are its consequence here (blocked by APPC-11), not a second failure; a GET
        # with the secret in its query likewise (one choice, the secret's place APPC-11's to name)
        secret_in_url = secret_in_query(token_request, application.client_secret)
        shape = token_request_shape(token_request, "4.4.2")
        if shape and token_request.method != "POST" and secret_in_url:
            require(False, f"{shape}, which put the client secret in its URL (see APPC-11)")
        check(not shape, shape)
        in_query = [name for name in BODY_PARAMETERS if any(k == name for k, _ in token_request.query)]
        not_credentials = [name for name in in_query if name not in ("client_id", "client_secret")]
        own = not_credentials if secret_in_url else in_query
        check(not own, _parameters_in_query(own, empty_form=not token_request.form))
        credentials = [name for name in in_query if name not in not_credentials] or ["client_secret"]
        require(not secret_in_url, _parameters_in_query(credentials, empty_form=False))
        grant_type = form_value(token_request, "grant_type")
        check(
            grant_type == "client_credentials", f"a token request has grant_type {grant_type!r}, not client_credentials"
        )
        authentication = client_authentication(token_request, application.client_id, application.client_secret)
        note_client_authentication(request, token_request, authentication)
        check(
            not authentication.problem, f"the token request does not authenticate the service: {authentication.problem}"
        )
        refused_scope = (token_request.response_json or {}).get("error") == "invalid_scope"
        unregistered = [d for d in differs_from_file(token_request, application) if d.startswith("scope ")]
        check(
            not (refused_scope and unregistered),
            f"the token request asks for {''.join(unregistered)}; Visma Connect refuses a scope the "
            f"application is not registered for, and the stand-in did ({stand_in_answer(token_request)}): ask "
            "for the registered scopes, or write the scope in application.scope if it is registered",
        )


def _parameters_in_query(names: list[str], empty_form: bool) -> str:
    """Why parameters in the URL query break APPC-12: the sentence that puts every parameter in the
    form body, and section 2.3.1's on credentials only where credentials are among them (tenant_id or
    scope in the URL is no credential there)."""
    credentials = [name for name in names if name in ("client_id", "client_secret")]
    return (
        f"the token request sent {', '.join(names)} in the URL query{' with an empty form body' if empty_form else ''}"
        ': RFC 6749 section 4.4.2 has the client add its parameters using the "application/x-www-form-urlencoded" '
        'format "in the HTTP request entity-body", as Visma Connect\'s token request does '
        "(content-type: application/x-www-form-urlencoded)"
        + (
            f", and section 2.3.1 says the client credentials ({', '.join(credentials)}) "
            '"MUST NOT be included in the request URI"'
            if credentials
            else ""
        )
    )


def _scope(token_request) -> str:
    """The scope it asked for, wherever it sent it (a JSON body too: where is APPC-12's to judge)."""
    return token_request.param("scope") or str((token_request.json_body or {}).get("scope") or "")


@then("every token request for a tenant-based scope names the tenant")
def tenant_named(stand_in: SandboxServer, application: Application, app_run: AppRun) -> None:
    for token_request in app_run.last.token_requests:
        tenant = form_value(token_request, "tenant_id")
        if tenant and tenant != application.tenant_id:
            check(
                False,
                f"the token request names {differs_from_file(token_request, application)[0]}: the application "
                "needs the tenant administrator's permission before it uses a tenant_id, and the stand-in, as "
                f"Visma Connect, refused it ({stand_in_answer(token_request)}); make the service and "
                "application.tenant_id name the tenant that approved the application",
            )
    tenant_scopes = set(Registry().tenant_scopes)  # the stand-in's, as the sandbox registers them
    requests = app_run.last.token_requests
    asked = [r for r in requests if set(_scope_for(r, application).split()) & tenant_scopes]
    if not asked:
        pytest.skip(
            f"not applicable: the service asked for no tenant-based scope ({', '.join(sorted(tenant_scopes))}): it "
            f"asked for {' and '.join(dict.fromkeys(_asked_for(r, application) for r in requests))}, and Visma's "
            'sentence makes tenant_id "Required for tenant-based APIs, such as visma_api:read" only'
        )
    for request in asked:
        if form_value(request, "tenant_id"):
            continue
        # a tenant sent outside a form body (the URL, JSON) is APPC-12's failure, which this rule waits for
        require(
            not request.param("tenant_id") and not (request.json_body or {}).get("tenant_id"),
            f"the token request for {_asked_for(request, application)} names its tenant outside a form body "
            "(see APPC-12)",
        )
        check(False, f"a token request for {_asked_for(request, application)} carries no tenant_id")


def _scope_for(token_request, application: Application) -> str:
    """The scope a token request is for: the one it asks for, or where it asks for none, the application's
    registered scopes, which Visma Connect, as the stand-in, grants then (sandbox.grants.ClientCredentialsGrant)."""
    return _scope(token_request) or application.scope


def _asked_for(token_request, application: Application) -> str:
    """The scope a token request is for, in words: where it asks for none, the default it gets, and why."""
    return _scope(token_request) or (
        f"no scope, which Visma Connect answers with the application's registered scopes ({application.scope}): "
        'RFC 6749 section 3.3, "If the client omits the scope parameter when requesting authorization, the '
        "authorization server MUST either process the request using a pre-defined default value or fail the "
        'request indicating an invalid scope"'
    )
