"""APPC-19 reads the status the application's own access log gives its faulty callback, where a server sent its
page before it failed (the browser saw HTTP 200). A query-mode callback's line is found by the sign-in's state; a
form_post callback is a POST whose state is in its body, which no access log writes. The outsider's Apache
mod_auth_openidc with OIDCResponseMode form_post logged "POST /protected/redirect_uri HTTP/1.1" 501 for the
declined sign-in, the browser got 200, and APPC-19 passed: the log's line went unmatched."""

import time

import pytest

from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.steps.refusals import error_page, logged_answer
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import FORM_POST_NOTE, RecordedRequest
from suite.verdict.checks import NothingToCheck

CALLBACK = "http://127.0.0.1:13661/protected/redirect_uri"
DELIVERED = f"{CALLBACK}?error=access_denied&state=79eiUH6KZc8EyQ3eZy9WRm7ZPIc"
# the outsider's application.log, form-post variant: two normal sign-ins, then the declined one
LOG = """127.0.0.1 - - [07/Dec/2026:06:14:19 +0000] "GET /protected/ HTTP/1.1" 302 651
127.0.0.1 - test.user.1@localhost:13460 [07/Dec/2026:06:14:21 +0000] "POST /protected/redirect_uri HTTP/1.1" 302 257
127.0.0.1 - test.user.2@localhost:13460 [07/Dec/2026:06:14:22 +0000] "POST /protected/redirect_uri HTTP/1.1" 302 257
backend: "POST /redirect_uri HTTP/1.1" 501 -
127.0.0.1 - "" [07/Dec/2026:06:14:23 +0000] "POST /protected/redirect_uri HTTP/1.1" 501 765
"""


def _form_post_callback() -> RecordedRequest:
    """The stand-in's answer that posted the declined sign-in's response to the application (form_post)."""
    return RecordedRequest(
        time.time(), "POST", PATHS["authorization_endpoint"], (), (), {}, status=200, notes={FORM_POST_NOTE: DELIVERED}
    )


def test_a_form_post_callbacks_server_error_in_the_log_is_found_without_a_state():
    assert logged_answer(LOG, _form_post_callback()) == ("501", LOG.splitlines()[-1])


def test_a_log_whose_form_post_callbacks_were_all_answered_has_no_server_error_for_this_one():
    answered = "\n".join(LOG.splitlines()[:3])
    assert logged_answer(answered, _form_post_callback()) == ("302", LOG.splitlines()[1])


class _Launched:
    def output(self) -> str:
        return LOG


class _Request:
    class config:  # the run's configuration, as the step reads it: the launched application's output
        launched = _Launched()


class _Application:
    class drive:  # the application file's drive section, as the step reads it
        mode, output_file = "browser", None


def test_appc_19_is_not_passed_on_a_form_post_callback_the_log_cannot_tell_apart():
    sign_in = SignIn(finished=False, callback_status=200, final_url=CALLBACK)
    run = AppRun(sign_ins=[sign_in], observed=[Observed([_form_post_callback()])])
    with pytest.raises(NothingToCheck) as said:
        error_page(_Request(), _Application(), run)
    assert (
        "form_post" in str(said.value) and "HTTP 501" in str(said.value) and "browser got HTTP 200" in str(said.value)
    )
