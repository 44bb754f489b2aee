@doc:interactive-integrations
Feature: The authorization code
  "Use the received authorization code and the code_verifier (for PKCE) to request access
  tokens." A code is redeemed once, by the client it was issued to, with the redirect_uri it
  was issued for.

  @rule:CODE-01 @severity:blocker @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-4.1.2 @rfc:RFC6749-5.2
  Scenario: CODE-01 An authorization code can be redeemed only once
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier
    Then the token request succeeds
    When the client redeems the same code again
    Then the token request is refused with "invalid_grant"

  # RFC 6749 section 4.1.2: the server SHOULD revoke (when possible) the tokens of a code used twice.
  @rule:CODE-07 @severity:normal @level:warning @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-4.1.2
  Scenario: CODE-07 The access token of a code presented a second time stops working
    Given the "spa" client of the environment
    And the environment expects revoked access tokens to stop working
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier
    And the client calls userinfo with its access token
    Then userinfo accepts the access token
    When the client redeems the same code again
    And the client calls userinfo with the access token of the code's first redemption
    Then userinfo no longer accepts the access token

  @rule:CODE-02 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-4.1.3 @rfc:RFC6749-5.2
  Scenario: CODE-02 A code redeemed with another redirect_uri is refused
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier and another redirect_uri
    Then the token request is refused with "invalid_grant"

  @rule:CODE-03 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-4.1.3 @rfc:RFC6749-5.2
  Scenario: CODE-03 A code redeemed by another client is refused
    Given the "web" client of the environment
    And the "other_web" client of the environment as the other client
    When the user authorizes the client with PKCE
    And the other client redeems the code with the verifier
    Then the token request is refused with "invalid_grant"

  # The token response of an interactive app is held to what the service one is (RFC 6749 section 5.1).
  @rule:CODE-06 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-5.1 @rfc:RFC6749-3.3
  Scenario: CODE-06 The token response for a code is JSON, not cached, Bearer, with its lifetime and scope
    Given the "web" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier
    Then the token request succeeds
    And the token response is JSON
    And the token response has "Cache-Control: no-store"
    And the token type is "Bearer"
    And "expires_in" is the lifetime the environment expects
    And the granted scope, if named, is a list of space-delimited scopes

  # The code must age the environment's declared lifetime (expectations.authorization_code_lifetime):
  # seconds on the sandbox, minutes on a real server. So it is got before the first scenario runs and
  # this scenario runs last: the lifetime passes while the others run (steps/code_expiry.py).
  # `-m "not slow"` leaves it out of a quick run, and then no code is got early. The other scenarios
  # sign in and redeem with the same client meanwhile: the control step shows that this alone does
  # not cancel a code, or the refusal would not show expiry (the rule is then inconclusive).
  @rule:CODE-04 @severity:critical @slow @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-4.1.2 @rfc:RFC6749-5.2
  Scenario: CODE-04 An authorization code redeemed after its lifetime is refused
    Given a code the user authorized with PKCE for the "spa" client at the start of the run
    And a code of the client is still redeemed after the client got and redeemed a newer one
    When the environment's declared authorization code lifetime has passed since the code was issued
    And the client redeems the code with the verifier
    Then the token request is refused with "invalid_grant"

  @rule:CODE-05 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-4.1.3 @rfc:RFC6749-5.2
  Scenario: CODE-05 A code redeemed without the redirect_uri its authorization request named is refused
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier and no redirect_uri
    Then the token request is refused with "invalid_request" or "invalid_grant"
