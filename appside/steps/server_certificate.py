"""APPC-33: the application validates the authorization server's TLS certificate (RFC 6749 section 10.9), and the Visma
API's that the stand-in serves on the same host (RFC 6750 section 5.3).
The stand-in presents, for one more use of the application made on its own, a certificate of its own key
signed by an authority nobody trusts (appside.tls.StandInTls.untrusted); what the application sent over
such a connection, and the handshakes it broke off, are the evidence (SandboxServer.serve_alternative_tls)."""

import contextlib
import threading
import time
from collections.abc import Callable

import allure
import pytest
from pytest_bdd import given, then, when

from appside.application import Application
from appside.launcher import LaunchedApplication, LaunchFailed
from appside.steps.leaks import use_as_a_user_would
from appside.steps.sign_ins import AppRun, driver, observe_session, skip_unless_type
from appside.tls import UNTRUSTED_CA_NAME, StandInTls
from sandbox import SandboxServer
from sandbox.app import PATHS
from sandbox.mock_api import API_PREFIX
from suite.secrets.redaction import said
from suite.verdict.checks import check, require

API_SENTENCE = (
    'RFC 6750 section 5.3: "Validate TLS certificate chains: The client MUST validate the TLS certificate chain when '
    'making requests to protected resources."'
)
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
    """One sign-in (web) or one run (service), alone, that meets the untrusted certificate: a sign-in from the
    moment its authorization request reaches the stand-in (the application has fetched what it needed to start
    it), so that its code redemption, its userinfo and API calls do; a service's run from its start. Every new
    connection then meets it but the browser's: the browser is the user's agent, not the application, and its
    connections (all through its fence, suite.wire.browser.OriginFence) keep the stand-in's own certificate and
    stay open, so that its part of the sign-in cannot fail for it (one that met the untrusted certificate, or
    whose kept connection ended under a request, ended the sign-in at its error page and left the rule without
    evidence); the application's connections kept open from before end first. The application meets it as in
    production: an application the suite launched (drive.launch) is launched again for the use, and a service's
    command runs, without the variables that turn a validation it switched off back on and with the stand-in's
    authority in its default trust store (appside.launcher.as_in_production: REQUESTS_CA_BUNDLE overrode requests'
    Session.verify = False); launched again as it was after it."""
    tls: StandInTls = request.config.stand_in_tls  # type: ignore[attr-defined]  # appside.conftest made it
    launched = request.config.launched  # type: ignore[attr-defined]  # appside.conftest launched it, or None
    browser = driver(request.config) if application.drive.mode == "browser" else None
    untrusted = UntrustedCertificate(stand_in, tls.untrusted, browser.opened if browser else None)
    action = _sign_in_refusing_is_expected if application.is_interactive else _run_refusing_is_expected
    try:
        observe_session(request.config, stand_in, app_run, lambda session: action(session, launched, untrusted), TITLE)
    finally:
        untrusted.end()
        if launched is not None:
            _launched_again(request.config, launched)
    since = untrusted.since
    app_run.refused_handshakes = [(at, alert) for at, alert in stand_in.handshake_failures if since and at >= since]
    app_run.untrusted_since = since
    if app_run.refused_handshakes:
        allure.attach(
            "\n".join(f"{at - (since or at):.2f} s: {alert}" for at, alert in app_run.refused_handshakes),
            name="TLS handshakes broken off",
            attachment_type=allure.attachment_type.TEXT,
        )


class UntrustedCertificate:
    """The untrusted certificate, presented from now (now()) or from the first authorization request that reaches
    the stand-in (at_authorization()) to every client but the suite's browser (`browser`: whether a client address
    is its); `since`: when it was first presented (time.time()), None until then."""

    def __init__(self, stand_in: SandboxServer, context, browser: Callable[[tuple], bool] | None = None) -> None:
        self.stand_in, self.context, self.browser = stand_in, context, browser
        self.since: float | None = None
        self._lock, self._ended = threading.Lock(), False

    def now(self) -> None:
        self.since = time.time()
        self.stand_in.serve_alternative_tls(self.context, spared=self.browser)

    def at_authorization(self) -> None:
        self.stand_in.recording.listeners.append(self._authorization_seen)

    def _authorization_seen(self, entry) -> None:
        """A listener of the stand-in's log, in the thread that answers the request: the connections kept open end
        in a thread of their own (this one's own connection ends only once it has answered)."""
        with self._lock:
            if self._ended or self.since is not None or entry.path != PATHS["authorization_endpoint"]:
                return
            self.since = time.time()
            self.stand_in.serve_alternative_tls(self.context, end_kept=False, spared=self.browser)
        threading.Thread(target=self._end_kept, daemon=True).start()

    def _end_kept(self) -> None:
        with self._lock:
            if not self._ended:
                self.stand_in.serve_alternative_tls(self.context, spared=self.browser)

    def end(self) -> None:
        with contextlib.suppress(ValueError):
            self.stand_in.recording.listeners.remove(self._authorization_seen)
        with self._lock:
            self._ended = True
            self.stand_in.serve_alternative_tls(None)


@then("the application sent the stand-in nothing over a connection with that certificate")
def nothing_sent_under_untrusted_certificate(application: Application, app_run: AppRun) -> None:
    accepted = [e for e in app_run.last.entries if e.notes.get("tls") == "alternative"]
    check(
        not accepted,
        lambda: (
            f"the application sent {accepted[0].method} {accepted[0].path}"
            + (f" and {len(accepted) - 1} more request(s)" if len(accepted) > 1 else "")
            + f" over a TLS connection whose certificate an authority it does not trust signed ({UNTRUSTED_CA_NAME}, "
            f"made for this run): {_not_validated(accepted)}"
        ),
    )
    if app_run.untrusted_since is None:  # a sign-in whose authorization request never reached the stand-in
        require(
            False,
            "the sign-in made for this rule sent the stand-in no authorization request, so the untrusted certificate "
            "was never presented"
            + (
                f" (the application was launched again for it {PRODUCTION_TRUST_SAID}: if it trusts the stand-in's "
                "authority only through REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, make it read VISMA_CONNECT_CA_BUNDLE; "
                "its output and the requests are attached)"
                if application.drive.launch
                else ""
            ),
        )
    if not app_run.refused_handshakes:
        require(not (failed := _browser_failed(app_run)), failed)
    require(
        app_run.refused_handshakes,
        "the application opened no new TLS connection to the stand-in while it presented the untrusted certificate "
        "(it made no request, or kept none of its own): no evidence that it would refuse one",
    )


def _not_validated(accepted) -> str:
    """Whose certificate the application did not validate, by what its requests reached, and the sentence that binds
    it: the stand-in serves the Visma API on the authorization server's host and certificate, and a service that
    kept its token from an earlier run calls only the API (GET /api/invoices is no request to the authorization
    server)."""
    api = [entry for entry in accepted if entry.path.startswith(API_PREFIX + "/")]
    reached = []
    if len(api) < len(accepted):
        reached.append(f"the authorization server's certificate; {SENTENCE}")
    if api:
        reached.append(f"the certificate of the Visma API it calls ({api[0].method} {api[0].path}); {API_SENTENCE}")
    return f"it does not validate {', nor '.join(reached)}"


def _browser_failed(app_run: AppRun) -> str:
    """Where the suite's own browser could not go on with the sign-in (Chromium's error page): the sign-in ended
    before the application's part in it, which is then no evidence either way; "" where it did not."""
    sign_in = app_run.sign_ins[-1] if app_run.sign_ins else None
    final_url = getattr(sign_in, "final_url", "")  # a service's run has no browser
    if not final_url.startswith("chrome-error:"):
        return ""
    watch = getattr(sign_in, "watch", "")
    return (
        f"the suite's browser ended the sign-in at its error page ({final_url})"
        + (f": {watch}" if watch else "")
        + "; the sign-in stopped there, before the application had its part, so it is not the application's doing "
        "(run the rule again; if it keeps happening, report it with the attached requests)"
    )


# how the application is launched for APPC-33's use (appside.launcher.as_in_production)
PRODUCTION_TRUST_SAID = (
    "as in production: without REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE, which turn a requests Session's verify = False "
    "back on, and with the stand-in's authority in its default trust store (VISMA_CONNECT_CA_BUNDLE, SSL_CERT_FILE, "
    "NODE_EXTRA_CA_CERTS, and certifi's bundle for Python)"
)


def _started_as_in_production(launched: LaunchedApplication | None) -> bool:
    """The launched application, launched again as in production (appside.launcher.as_in_production), under the
    stand-in's own certificate. False where it did not start: the untrusted certificate was not presented, and
    the rule has no evidence (what it refused as it started was the stand-in's own certificate)."""
    if launched is None:
        return True
    launched.relaunch(production_trust=True)
    try:
        launched.wait_until_ready()
    except LaunchFailed as error:
        allure.attach(
            f"the application, launched again {PRODUCTION_TRUST_SAID}, did not start: {said(str(error))}",
            name="the application launched as in production",
            attachment_type=allure.attachment_type.TEXT,
        )
        return False
    return True


def _launched_again(config, launched: LaunchedApplication) -> None:
    """The application launched again as the run launched it, for the scenarios after this one; where it does not
    start, the run's notice says so (their sign-ins fail for it)."""
    launched.relaunch()
    try:
        launched.wait_until_ready()
    except LaunchFailed as error:
        recorder = config.pluginmanager.get_plugin("application-results")
        if recorder is not None:
            recorder.notices.append(
                f"the application did not start again after APPC-33's use under an untrusted certificate: "
                f"{said(str(error))}; the scenarios after it could not use it"
            )


def _sign_in_refusing_is_expected(session, launched: LaunchedApplication | None, untrusted) -> list:
    if not _started_as_in_production(launched):
        return []
    untrusted.at_authorization()
    return [session.sign_in()]


def _run_refusing_is_expected(session, launched: LaunchedApplication | None, untrusted) -> list:
    """The service's run under the untrusted certificate: a service that validates it fails that run, as it
    should, so the run is attached, not kept among the runs a failed one makes unchecked (appside.conftest)."""
    if not _started_as_in_production(launched):
        return []
    untrusted.now()
    run = session.run(production_trust=True)
    allure.attach(
        run.detail, name="the service's own outcome, untrusted certificate", attachment_type=allure.attachment_type.TEXT
    )
    return []
