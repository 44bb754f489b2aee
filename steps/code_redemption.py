"""Redeeming a code without its redirect_uri (CODE-05). A code redeemed too late (CODE-04): steps/code_expiry.py."""

from pytest_bdd import when

from steps.authorization import redeem


@when("the client redeems the code with the verifier and no redirect_uri")
def redeem_without_redirect_uri(state, discovery):
    redeem(state, discovery, code_verifier=state.authorization.verifier, redirect_uri=None)
