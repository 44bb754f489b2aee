@doc:interactive-integrations
Feature: The authorization code
  "Use the received authorization code and the code_verifier (for PKCE) to request access
  tokens." A code is redeemed once, by the client it was issued to, with the redirect_uri it
  was issued for.

  @rule:CODE-01 @severity:blocker @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-4.1.2
  Scenario: CODE-01 An authorization code can be redeemed only once
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier
    Then the token request succeeds
    When the client redeems the same code again
    Then the token request is refused with "invalid_grant"

  @rule:CODE-02 @severity:critical @doc:interactive-integrations#step-4-exchange-authorization-code-for-tokens @rfc:RFC6749-4.1.3
  Scenario: CODE-02 A code redeemed with another redirect_uri is refused
    Given the "spa" client of the environment
    When the user authorizes the client with PKCE
    And the client redeems the code with the verifier and another redirect_uri
    Then the token request is refused with "invalid_grant"

  @rule:CODE-03 @severity:critical @rfc:RFC6749-4.1.3
  Scenario: CODE-03 A code redeemed by another client is refused
    Given the "web" client of the environment
    And the "other_web" client of the environment as the other client
    When the user authorizes the client with PKCE
    And the other client redeems the code with the verifier
    Then the token request is refused with "invalid_grant"
