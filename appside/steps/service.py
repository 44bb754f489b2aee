"""What a service application sends: client_credentials, form-encoded, with its secret, and the
tenant for tenant-based APIs."""

import allure
import pytest
from pytest_bdd import given, then

from appside.application import Application
from appside.observed import basic_password, form_value
from appside.steps.sign_ins import AppRun, _baseline, driver, observe, skip_unless_type
from sandbox import SandboxServer
from sandbox.registry import Registry
from suite.verdict.checks import check

FORM = "application/x-www-form-urlencoded"


def service_run(config, stand_in: SandboxServer):
    """One run of the service, done once per run of the suite and read by every request rule."""
    if "service" not in _baseline:
        _baseline["service"] = observe(stand_in, driver(config).session().run)
    return _baseline["service"]


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
    check(observed.token_requests, f"the service sent no token request ({run.detail})")


@then("every token request is a form-encoded client_credentials request with the application's credentials")
def client_credentials_form(application: Application, app_run: AppRun) -> None:
    for request in app_run.last.token_requests:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        check(content_type == FORM, f"a token request has Content-Type {content_type!r}, not {FORM}")
        check(
            request.param("grant_type") == "client_credentials",
            f"a token request has grant_type {request.param('grant_type')!r}, not client_credentials",
        )
        secret = basic_password(request) or form_value(request, "client_secret")
        check(secret == application.client_secret, "a token request does not carry the application's secret")


@then("every token request for a tenant-based scope names the tenant")
def tenant_named(stand_in: SandboxServer, application: Application, app_run: AppRun) -> None:
    tenant_scopes = set(Registry().tenant_scopes)  # the stand-in's, as the sandbox registers them
    asked = [r for r in app_run.last.token_requests if set((r.param("scope") or "").split()) & tenant_scopes]
    check(asked, f"the service asked for no tenant-based scope ({', '.join(sorted(tenant_scopes))})")
    for request in asked:
        check(request.param("tenant_id"), f"a token request for {request.param('scope')} carries no tenant_id")
