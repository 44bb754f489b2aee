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


@given(parsers.re(r"the environment accepts the (?P<method>S256|plain) PKCE method"))
def pkce_method_accepted(environment, method):
    """S256 is Mandatory To Implement on the server (RFC 7636 section 4.2); plain only where the
    environment declares it accepted."""
    if method == "plain":
        plain_pkce_expectation(environment, "accepted")


@when(parsers.re(r"the user authorizes the client with (?P<method>S256|plain) PKCE"))
def authorize_with_pkce_method(state, environment, discovery, method):
    authorize(state, environment, discovery, pkce=method)


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
