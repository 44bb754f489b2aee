"""Where the client secret goes, whatever the application's type."""

import pytest
from pytest_bdd import given, then

from appside.application import Application
from appside.steps.service import service_run
from appside.steps.sign_ins import AppRun, normal_sign_ins
from sandbox import SandboxServer
from suite.verdict.checks import check


@given("the application has been used as a user would")
def used_normally(
    request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun
) -> None:
    if not application.client_secret:
        pytest.skip(f"{application.client_id} is a {application.app_type} application: it has no client secret")
    if application.is_interactive:
        runs = normal_sign_ins(request.config, stand_in)
    else:
        runs = [service_run(request.config, stand_in)]
    for number, (result, observed) in enumerate(runs, 1):
        app_run.sign_ins.append(result)
        app_run.observed.append(observed)
        observed.attach(f"normal use {number}")


@then("the client secret appears in no URL")
def secret_not_in_url(application: Application, app_run: AppRun) -> None:
    for observed in app_run.observed:
        for request in observed.entries:
            in_query = any(k == "client_secret" or application.client_secret in v for k, v in request.query)
            check(
                not in_query,
                f"the client secret was sent in the URL of {request.method} {request.path}: URLs "
                "end up in logs, histories and Referer headers",
            )
