"""APPC-33: the application validates the authorization server's TLS certificate (RFC 6749 section 10.9).
The stand-in presents, for one more use of the application made on its own, a certificate of its own key
signed by an authority nobody trusts (appside.tls.StandInTls.untrusted); what the application sent over
such a connection, and the handshakes it broke off, are the evidence (SandboxServer.serve_alternative_tls)."""

import time
from urllib.parse import parse_qsl, urlsplit

import allure
import pytest
from pytest_bdd import given, then, when

from appside.application import Application
from appside.steps.leaks import use_as_a_user_would
from appside.steps.sign_ins import AppRun, observe_session, skip_unless_type
from appside.tls import UNTRUSTED_CA_NAME, StandInTls
from sandbox import SandboxServer
from suite.verdict.checks import check, require

TITLE = "use while the stand-in presents a certificate nobody trusts"
SENTENCE = (
    "RFC 6749 section 10.9: \"The client MUST validate the authorization server's TLS certificate as defined by "
    '[RFC6125] and in accordance with its requirements for server identity authentication."'
)


@given("the application has been used as a user would, over HTTPS")
def used_over_https(request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun):
    skip_unless_type(application, "web", "service")
    if application.drive.mode == "manual":
        pytest.skip("not applicable: in manual mode the suite does not make the application's uses itself")
    if not application.issuer_tls:
        pytest.skip(
            "not applicable: the stand-in serves plain HTTP (issuer.tls: false), so there is no certificate for the "
            "application to validate; set issuer.tls: true to check it"
        )
    use_as_a_user_would(request.config, application, stand_in, app_run)


@when("the stand-in presents a certificate no trusted authority signed while the application is used")
def used_under_untrusted_certificate(request: pytest.FixtureRequest, application: Application, stand_in, app_run):
    """One sign-in (web) or one run (service), alone: every new connection meets the untrusted certificate,
    the browser's too, which accepts it by the key's hash. Connections kept open from before end first."""
    tls: StandInTls = request.config.stand_in_tls  # type: ignore[attr-defined]  # appside.conftest made it
    started = time.time()
    stand_in.serve_alternative_tls(tls.untrusted)
    try:
        if application.is_interactive:
            observe_session(request.config, stand_in, app_run, lambda session: [session.sign_in()], TITLE)
        else:
            observe_session(request.config, stand_in, app_run, _run_refusing_is_expected, TITLE)
    finally:
        stand_in.serve_alternative_tls(None)
    app_run.refused_handshakes = [(at, alert) for at, alert in stand_in.handshake_failures if at >= started]
    if app_run.refused_handshakes:
        allure.attach(
            "\n".join(f"{at - started:.2f} s: {alert}" for at, alert in app_run.refused_handshakes),
            name="TLS handshakes broken off",
            attachment_type=allure.attachment_type.TEXT,
        )


@then("the application sent the stand-in nothing over a connection with that certificate")
def nothing_sent_under_untrusted_certificate(app_run: AppRun) -> None:
    browser = _browser_requests(app_run.sign_ins[-1] if app_run.sign_ins else None)
    accepted = [
        e
        for e in app_run.last.entries
        if e.notes.get("tls") == "alternative" and not e.notes.get("browser") and (e.path, e.query) not in browser
    ]
    check(
        not accepted,
        lambda: (
            f"the application sent {accepted[0].method} {accepted[0].path}"
            + (f" and {len(accepted) - 1} more request(s)" if len(accepted) > 1 else "")
            + f" over a TLS connection whose certificate an authority it does not trust signed ({UNTRUSTED_CA_NAME}, "
            f"made for this run): it does not validate the authorization server's certificate; {SENTENCE}"
        ),
    )
    require(
        app_run.refused_handshakes,
        "the application opened no new TLS connection to the stand-in while it presented the untrusted certificate "
        "(it made no request, or kept none of its own): no evidence that it would refuse one",
    )


def _run_refusing_is_expected(session) -> list:
    """The service's run under the untrusted certificate: a service that validates it fails that run, as it
    should, so the run is attached, not kept among the runs a failed one makes unchecked (appside.conftest)."""
    run = session.run()
    allure.attach(
        run.detail, name="the service's own outcome, untrusted certificate", attachment_type=allure.attachment_type.TEXT
    )
    return []


def _browser_requests(sign_in) -> set[tuple[str, tuple]]:
    """(path, query) of the requests the browser itself made: it accepts the certificate by its key, as the
    suite told it to; the application's own connections are what the rule judges."""
    return {
        (parts.path, tuple(parse_qsl(parts.query, keep_blank_values=True)))
        for parts in map(urlsplit, getattr(sign_in, "urls", None) or ())
    }
