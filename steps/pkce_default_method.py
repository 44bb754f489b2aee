"""PKCE-08: a code_challenge sent without code_challenge_method means plain (RFC 7636 section 4.3)."""

from pytest_bdd import when

from suite.wire.authorization import authorize


@when("the user authorizes the client with a code_challenge and no code_challenge_method")
def authorize_without_method(state, environment, discovery):
    # pkce="plain" makes the challenge the verifier itself, which is what a server must compare.
    authorize(state, environment, discovery, pkce="plain", overrides={"code_challenge_method": None})
