"""The consent step (CONS-01): a user who refuses."""

from dataclasses import replace

import pytest
from pytest_bdd import when

from suite.verdict.checks import ConfigurationProblem, require, skip_for_missing_data
from suite.wire.authorization import CONSENT_PAGES_MET, authorize, consent_request
from suite.wire.login import CONSENT_DENIED
from suite.wire.login.form import CONSENT_FIELD_LEFT_OUT


@when("the user signs in and denies consent")
def deny_consent(state, environment, discovery):
    login = environment.login
    if login.method == "manual":
        pytest.skip(
            f"consent denial is driven by the form or browser login method; {environment.name} signs in by hand"
        )
    if login.method == "browser":
        if not login.browser_deny_pages:
            skip_for_missing_data(
                "login.browser.deny_consent",
                f"{environment.name} signs in by browser and names no page entries that refuse consent (the consent "
                "page's url, when and the actions of a refusal, as login.browser.pages has them)",
            )
        refusing, sent = replace(login, denying_consent=True), CONSENT_DENIED
    elif login.consent_deny_omits_field:  # the consent form found by its granting button, sent without that field
        refusing, sent = replace(login, denying_consent=True), CONSENT_FIELD_LEFT_OUT
    elif login.consent_deny_value:
        refusing, sent = replace(login, consent_value=login.consent_deny_value), login.consent_deny_value
    else:
        # No refusing button named: a sign-in as every other shows whether the server asks for consent at
        # all; only one that does needs the key (a server without a consent page has nothing to deny)
        authorize(state, environment, discovery)
        if not state.outcome.consent:
            _no_consent_asked(state)
        skip_for_missing_data(
            "login.form.consent_deny_value",
            f"{environment.name} names no refusing consent button (or login.form.consent_deny_omits_field: true), "
            "and the server asks for consent",
        )
    authorize(state, replace(environment, login=refusing), discovery)
    # The refusing button was pressed: the behaviour under test really happened.
    if state.outcome.consent != sent:
        _no_consent_asked(state)


def _no_consent_asked(state) -> None:
    """No consent button was pressed: where the flow went on to the callback, the server asked for none."""
    # A flow that stopped before any callback shows nothing of consent: the sign-in is AUTH-01's check
    require(
        state.outcome.callback_url is not None,
        lambda: (
            f"the sign-in did not come back to the redirect_uri: {state.outcome.describe()}; only after it does "
            "(Interactive Integrations, Step 3) does the consent step show whether the server asked for consent"
        ),
    )
    client_id = state.authorization.params.get("client_id")
    if consent_request(state.authorization.params) in CONSENT_PAGES_MET:
        raise ConfigurationProblem(
            f"CONS-01 met no consent page, but a consent page came on an earlier sign-in of {client_id!r} in this "
            "run with the same request (scope and prompt): the server remembers the test user's consent, so there "
            "was nothing to refuse. Run CONS-01 first (python -m suite.run --rule CONS-01, before a full run) with a "
            "user who never consented to this client, or with the server's remembered consents cleared"
        )
    pytest.skip(
        "the server asked for no consent, so there was nothing to deny (Step 2: User Consent is "
        "optional and depends on the application's settings)"
    )
