"""The consent step (CONS-01): a user who refuses."""

from dataclasses import replace

import pytest
from pytest_bdd import when

from suite.verdict.checks import skip_for_missing_data
from suite.wire.authorization import authorize


@when("the user signs in and denies consent")
def deny_consent(state, environment, discovery):
    login = environment.login
    if login.method != "form":
        pytest.skip(f"consent denial is driven by the form login method; {environment.name} signs in by {login.method}")
    if not login.consent_deny_value:
        skip_for_missing_data("login.form.consent_deny_value", f"{environment.name} names no refusing consent button")
    refusing = replace(environment, login=replace(login, consent_value=login.consent_deny_value))
    authorize(state, refusing, discovery)
    # The refusing button was pressed: the behaviour under test really happened.
    if state.outcome.consent != login.consent_deny_value:
        pytest.skip(
            "the server asked for no consent, so there was nothing to deny (Step 2: User Consent is "
            "optional and depends on the application's settings)"
        )
