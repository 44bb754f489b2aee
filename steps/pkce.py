"""PKCE with S256 (PKCE-*): verifiers right, wrong, missing, malformed or unasked for."""

import pytest
from pytest_bdd import given, parsers, when

from steps.authorization import redeem
from suite.wire.authorization import authorize
from suite.wire.pkce import new_verifier

MALFORMED_VERIFIERS = {
    "42 characters": lambda: new_verifier(42),
    "129 characters": lambda: new_verifier(129),
    "43 characters with one outside the set": lambda: new_verifier(42) + "!",
}


@given(parsers.parse("the environment expects plain PKCE to be {expectation}"))
def plain_pkce_expectation(environment, expectation):
    declared = environment.expectations.plain_pkce
    if declared != expectation:
        pytest.skip(f"{environment.name} expects plain PKCE to be {declared} (expectations.plain_pkce)")


@when("the user authorizes the client with plain PKCE")
def authorize_with_plain_pkce(state, environment, discovery):
    authorize(state, environment, discovery, pkce="plain")


@when(parsers.parse("the user authorizes the client with PKCE using a verifier of {defect}"))
def authorize_with_malformed_verifier(state, environment, discovery, defect):
    authorize(state, environment, discovery, verifier=MALFORMED_VERIFIERS[defect]())


@when("the client redeems the code with another valid verifier")
def redeem_with_wrong_verifier(state, discovery):
    redeem(state, discovery, code_verifier=new_verifier())


@when("the client redeems the code without a verifier")
def redeem_without_verifier(state, discovery):
    redeem(state, discovery, code_verifier=None)


@when("the client redeems the code with a verifier nobody asked for")
def redeem_with_unasked_verifier(state, discovery):
    redeem(state, discovery, code_verifier=new_verifier())
