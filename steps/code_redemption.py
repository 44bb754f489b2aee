"""Redeeming a code too late or without its redirect_uri (CODE-04, CODE-05)."""

import time

from pytest_bdd import when

from steps.authorization import code_of, redeem

MARGIN = 1  # second past the declared lifetime, for clocks and the time the callback took


@when("the environment's declared authorization code lifetime passes")
def wait_code_lifetime(state, environment):
    code_of(state)  # a code must have been issued, or there is nothing to let expire
    time.sleep(environment.expectations.authorization_code_lifetime + MARGIN)


@when("the client redeems the code with the verifier and no redirect_uri")
def redeem_without_redirect_uri(state, discovery):
    redeem(state, discovery, code_verifier=state.authorization.verifier, redirect_uri=None)
