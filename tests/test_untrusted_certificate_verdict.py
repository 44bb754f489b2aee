"""APPC-33's verdict where the suite's own browser could not go on with the sign-in made for it: the rule could
not be checked, and says it was the browser (its error page), not that the application opened no connection. And
where a request reached the stand-in under the untrusted certificate, its failure names what the request reached:
the Visma API's stand-in, on the authorization server's host, is not the authorization server."""

import pytest

from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.steps.server_certificate import nothing_sent_under_untrusted_certificate
from appside.steps.sign_ins import AppRun
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NonConformance, NothingToCheck


class _Application:
    class drive:  # the application file's drive section, as the step reads it
        launch = "/opt/app/run.sh"


def _run(final_url: str, watch: str = "", refused: list | None = None) -> AppRun:
    sign_in = SignIn(finished=False, final_url=final_url, watch=watch)
    return AppRun(sign_ins=[sign_in], observed=[Observed([])], untrusted_since=1.0, refused_handshakes=refused or [])


def test_a_sign_in_the_browser_ended_at_its_error_page_is_said_to_be_the_browsers():
    watch = "the browser could not load https://localhost:13660/account/login: the connection was reset"
    with pytest.raises(NothingToCheck) as said:
        nothing_sent_under_untrusted_certificate(_Application(), _run("chrome-error://chromewebdata/", watch))
    assert "the suite's browser ended the sign-in at its error page (chrome-error://chromewebdata/)" in str(said.value)
    assert watch in str(said.value) and "opened no new TLS connection" not in str(said.value)


def test_a_sign_in_that_reached_the_application_and_no_refusal_is_no_evidence_of_a_refusal():
    with pytest.raises(NothingToCheck) as said:
        nothing_sent_under_untrusted_certificate(_Application(), _run("http://127.0.0.1:13661/protected/"))
    assert "opened no new TLS connection" in str(said.value)


def test_a_refused_handshake_passes_whatever_page_the_browser_ended_at():
    refused = [(2.0, "TLSV1_ALERT_UNKNOWN_CA")]
    nothing_sent_under_untrusted_certificate(_Application(), _run("chrome-error://chromewebdata/", refused=refused))


def _accepted(*paths: str) -> AppRun:
    """A service's run whose requests to `paths` came over the connection with the untrusted certificate."""
    entries = [
        RecordedRequest(2.0, "GET", path, (), (), {}, "", 200, "", None, {"tls": "alternative"}) for path in paths
    ]
    return AppRun(observed=[Observed(entries)], untrusted_since=1.0)


def test_an_api_call_under_the_untrusted_certificate_is_named_as_the_apis_not_the_authorization_servers():
    """The outsider's oauthlib service with TLS verification off and its token kept from an earlier run: its one
    request was GET /api/invoices, which went to the Visma API, not to the authorization server."""
    with pytest.raises(NonConformance) as said:
        nothing_sent_under_untrusted_certificate(_Application(), _accepted("/api/invoices"))
    assert "the certificate of the Visma API it calls (GET /api/invoices); RFC 6750 section 5.3" in str(said.value)
    assert "authorization server's certificate" not in str(said.value)
    with pytest.raises(NonConformance) as said:
        nothing_sent_under_untrusted_certificate(_Application(), _accepted("/connect/token", "/api/invoices"))
    assert "the authorization server's certificate; RFC 6749 section 10.9" in str(said.value)
    assert "nor the certificate of the Visma API it calls (GET /api/invoices)" in str(said.value)
